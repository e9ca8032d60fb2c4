import Storage

/// Releases (design §3 `releases`), their timeline and approvals. The design's `canary_percentage` is the first of
/// `canary_stages`; `approved_by`/`approved_at` name the approval that completed the quorum (every decision is in
/// `release_approvals`). Service ids are not foreign keys: a release's record outlives the services it moved. Times are
/// epoch milliseconds, as in Workloads.
package enum ReleaseMigrations {
    package static let all: [Migration] = [
        Migration(38, "create_releases") { t in
            [
                """
                CREATE TABLE releases (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name \(t.text) NOT NULL,
                    release_type \(t.text) NOT NULL,
                    version \(t.text) NOT NULL,
                    changelog \(t.text) NOT NULL,
                    strategy \(t.text) NOT NULL,
                    service_id \(t.uuid) NOT NULL,
                    canary_service_id \(t.uuid) NOT NULL,
                    model_id \(t.uuid),
                    model_name \(t.text) NOT NULL,
                    model_version \(t.text) NOT NULL,
                    canary_stages \(t.json) NOT NULL,
                    current_stage \(t.integer) NOT NULL,
                    status \(t.text) NOT NULL,
                    status_reason \(t.text) NOT NULL,
                    approval_policy \(t.json) NOT NULL,
                    gates \(t.json) NOT NULL,
                    analysis \(t.json) NOT NULL,
                    approval_status \(t.text) NOT NULL,
                    approved_by \(t.uuid),
                    approved_ms \(t.bigint),
                    baseline_shares \(t.json),
                    stage_started_ms \(t.bigint),
                    passed_intervals \(t.integer) NOT NULL,
                    inconclusive_intervals \(t.integer) NOT NULL,
                    rolled_back_ms \(t.bigint),
                    rolled_back_by \(t.uuid),
                    rollback_reason \(t.text),
                    created_by \(t.uuid),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (project_id, name, version)
                )
                """,
                "CREATE INDEX releases_status ON releases (status)",
                "CREATE INDEX releases_service ON releases (service_id)",
                """
                CREATE TABLE release_events (
                    id \(t.uuid) PRIMARY KEY,
                    release_id \(t.uuid) NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
                    at_ms \(t.bigint) NOT NULL,
                    actor_id \(t.uuid),
                    actor_name \(t.text) NOT NULL,
                    kind \(t.text) NOT NULL,
                    from_status \(t.text),
                    to_status \(t.text),
                    detail \(t.text) NOT NULL
                )
                """,
                "CREATE INDEX release_events_release ON release_events (release_id, at_ms)",
                """
                CREATE TABLE release_approvals (
                    release_id \(t.uuid) NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
                    user_id \(t.uuid) NOT NULL,
                    username \(t.text) NOT NULL,
                    approved \(t.bool) NOT NULL,
                    comment \(t.text) NOT NULL,
                    at_ms \(t.bigint) NOT NULL,
                    PRIMARY KEY (release_id, user_id)
                )
                """,
            ]
        },
        // The registry's id of the model version rolled out: the release's place in the lineage graph (releases created
        // before it have none, and no lineage edge).
        Migration(40, "release_model_version_id") { t in
            [
                "ALTER TABLE releases ADD COLUMN model_version_id \(t.uuid)",
                "CREATE INDEX releases_model_version ON releases (model_version_id)",
            ]
        },
        // Firmware, service and config releases: an artifact (a dataset file) and a deploy step run per stage.
        Migration(41, "release_deploy_steps") { t in
            [
                "ALTER TABLE releases ADD COLUMN artifact \(t.json)",
                "ALTER TABLE releases ADD COLUMN deploy_target \(t.json)",
                "ALTER TABLE releases ADD COLUMN applied_stage \(t.integer) NOT NULL DEFAULT -1",
                "ALTER TABLE releases ADD COLUMN step_workload_id \(t.uuid)",
                "ALTER TABLE releases ADD COLUMN step_attempts \(t.integer) NOT NULL DEFAULT 0",
                // The artifact's dataset version (lineage: dataset version → release).
                "ALTER TABLE releases ADD COLUMN artifact_version_id \(t.uuid)",
                "CREATE INDEX releases_artifact_version ON releases (artifact_version_id)",
            ]
        },
        // Rolling releases: the replicas of the stable service and the canary when the rollout began.
        Migration(42, "release_baseline_replicas") { t in ["ALTER TABLE releases ADD COLUMN baseline_replicas \(t.json)"] },
    ]
}
