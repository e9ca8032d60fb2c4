import Storage

/// Inference services (design §3 `inference_services`) and the replicas each one runs (workloads of the kind
/// `inference`). Times are epoch milliseconds, as in Workloads.
package enum InferenceMigrations {
    package static let all: [Migration] = [
        Migration(30, "create_inference_services") { t in
            [
                """
                CREATE TABLE inference_services (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    owner_id \(t.uuid),
                    model_id \(t.uuid),
                    model_name \(t.text) NOT NULL,
                    model_version \(t.text) NOT NULL,
                    name \(t.text) NOT NULL,
                    description \(t.text) NOT NULL DEFAULT '',
                    runtime \(t.text) NOT NULL,
                    runtime_config \(t.json) NOT NULL DEFAULT '{}',
                    gpu_type \(t.text),
                    gpu_count \(t.integer) NOT NULL DEFAULT 0,
                    cpu \(t.double) NOT NULL,
                    memory_mib \(t.integer) NOT NULL,
                    replicas \(t.integer) NOT NULL,
                    min_replicas \(t.integer) NOT NULL,
                    max_replicas \(t.integer) NOT NULL,
                    endpoint_url \(t.text) NOT NULL,
                    status \(t.text) NOT NULL,
                    status_reason \(t.text) NOT NULL DEFAULT '',
                    health_status \(t.text) NOT NULL DEFAULT 'unknown',
                    is_canary \(t.bool) NOT NULL DEFAULT FALSE,
                    traffic_percentage \(t.integer) NOT NULL DEFAULT 100,
                    parent_service_id \(t.uuid) REFERENCES inference_services(id),
                    route_header_name \(t.text),
                    route_header_value \(t.text),
                    sticky_sessions \(t.bool) NOT NULL DEFAULT FALSE,
                    autoscaling \(t.json),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                "CREATE INDEX inference_services_parent ON inference_services (parent_service_id)",
                "CREATE INDEX inference_services_status ON inference_services (status)",
                """
                CREATE TABLE inference_replicas (
                    workload_id \(t.uuid) PRIMARY KEY REFERENCES workloads(id) ON DELETE CASCADE,
                    service_id \(t.uuid) NOT NULL REFERENCES inference_services(id) ON DELETE CASCADE,
                    created_ms \(t.bigint) NOT NULL,
                    ready_ms \(t.bigint),
                    ended_ms \(t.bigint)
                )
                """,
                "CREATE INDEX inference_replicas_service ON inference_replicas (service_id)",
            ]
        },
        Migration(31, "add_inference_rate_limit") { t in
            ["ALTER TABLE inference_services ADD COLUMN rate_limit_rps \(t.double)"]
        },
        // A shadow canary: `traffic_percentage` of its parent's requests copied to it, its answers dropped.
        Migration(37, "add_inference_shadow") { t in
            ["ALTER TABLE inference_services ADD COLUMN shadow \(t.bool) NOT NULL DEFAULT \(t.literal(false))"]
        },
    ]
}
