import Storage

/// Workloads (the one lifecycle of run-to-completion work), their transitions, GPU nodes, quotas and metered GPU
/// usage. Times are epoch milliseconds, as in tracking. Numbers continue the global sequence (App/AllMigrations).
package enum WorkloadMigrations {
    package static let all: [Migration] = [
        Migration(13, "create_gpu_nodes") { t in
            [
                """
                CREATE TABLE gpu_nodes (
                    id \(t.uuid) PRIMARY KEY,
                    name \(t.text) NOT NULL UNIQUE,
                    node_type \(t.text),
                    gpu_count \(t.integer) NOT NULL DEFAULT 0,
                    gpu_memory_gb \(t.integer),
                    cpu_cores \(t.double) NOT NULL,
                    memory_mib \(t.bigint) NOT NULL,
                    status \(t.text) NOT NULL DEFAULT 'available',
                    labels \(t.json) NOT NULL DEFAULT '{}',
                    source \(t.text) NOT NULL,
                    total_jobs \(t.bigint) NOT NULL DEFAULT 0,
                    total_gpu_seconds \(t.double) NOT NULL DEFAULT 0,
                    last_heartbeat_ms \(t.bigint),
                    created_ms \(t.bigint) NOT NULL
                )
                """
            ]
        },
        Migration(14, "create_resource_quotas") { t in
            [
                // scope is the project id, or 'org' for the organization-wide quota: one row per scope.
                """
                CREATE TABLE resource_quotas (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    project_id \(t.uuid) REFERENCES projects(id) ON DELETE CASCADE,
                    scope \(t.text) NOT NULL,
                    max_gpu_hours_month \(t.double),
                    max_storage_gb \(t.integer),
                    max_concurrent_jobs \(t.integer),
                    max_models \(t.integer),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (org_id, scope)
                )
                """
            ]
        },
        Migration(15, "create_workloads") { t in
            [
                """
                CREATE TABLE workloads (
                    id \(t.uuid) PRIMARY KEY,
                    kind \(t.text) NOT NULL,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    owner_id \(t.uuid) REFERENCES users(id) ON DELETE SET NULL,
                    name \(t.text) NOT NULL,
                    queue \(t.text) NOT NULL,
                    priority_class \(t.text) NOT NULL,
                    priority \(t.integer) NOT NULL,
                    state \(t.text) NOT NULL,
                    reason \(t.text) NOT NULL DEFAULT '',
                    spec \(t.json) NOT NULL,
                    gpu_type \(t.text),
                    gpu_count \(t.integer) NOT NULL,
                    node_count \(t.integer) NOT NULL,
                    cpu \(t.double) NOT NULL,
                    memory_mib \(t.bigint) NOT NULL,
                    max_runtime_seconds \(t.integer),
                    max_retries \(t.integer) NOT NULL,
                    attempt \(t.integer) NOT NULL DEFAULT 0,
                    sequence \(t.bigint) NOT NULL,
                    placement \(t.json),
                    executor \(t.text),
                    executor_ref \(t.text),
                    exit_code \(t.integer),
                    stop_requested_ms \(t.bigint),
                    stop_reason \(t.text),
                    created_ms \(t.bigint) NOT NULL,
                    started_ms \(t.bigint),
                    metered_ms \(t.bigint),
                    finished_ms \(t.bigint),
                    updated_ms \(t.bigint) NOT NULL
                )
                """,
                "CREATE INDEX workloads_state ON workloads (state)",
                "CREATE INDEX workloads_project_created ON workloads (project_id, created_ms DESC)",
                """
                CREATE TABLE workload_events (
                    id \(t.uuid) PRIMARY KEY,
                    workload_id \(t.uuid) NOT NULL REFERENCES workloads(id) ON DELETE CASCADE,
                    at_ms \(t.bigint) NOT NULL,
                    from_state \(t.text),
                    to_state \(t.text) NOT NULL,
                    reason \(t.text) NOT NULL
                )
                """,
                "CREATE INDEX workload_events_workload ON workload_events (workload_id, at_ms)",
            ]
        },
        Migration(16, "create_gpu_usage") { t in
            [
                // GPU-seconds per workload, GPU type and UTC day; the metering worker adds to the open row. No foreign
                // key: usage (and so costs) outlives a deleted workload.
                """
                CREATE TABLE gpu_usage (
                    workload_id \(t.uuid) NOT NULL,
                    day \(t.text) NOT NULL,
                    gpu_type \(t.text) NOT NULL,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL,
                    user_id \(t.uuid),
                    gpu_seconds \(t.double) NOT NULL,
                    PRIMARY KEY (workload_id, day, gpu_type)
                )
                """,
                "CREATE INDEX gpu_usage_org_day ON gpu_usage (org_id, day)",
            ]
        },
        // Which server runs the workload engine (EngineLease): one row, renewed by its holder, taken over when it expires.
        Migration(21, "create_engine_leases") { t in
            [
                """
                CREATE TABLE engine_leases (
                    name \(t.text) PRIMARY KEY,
                    holder \(t.text) NOT NULL,
                    expires_ms \(t.bigint) NOT NULL
                )
                """
            ]
        },
    ]
}
