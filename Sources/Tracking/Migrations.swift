import Storage

/// The tracking tables: experiments, runs with their params, tags and metric time series, MLflow 3 logged models,
/// and the model registry. Times here are epoch milliseconds (BIGINT), the unit of MLflow's wire format, so ingest
/// and search never convert. Numbers continue the global sequence (see App/AllMigrations).
package enum TrackingMigrations {
    package static let all: [Migration] = [
        Migration(9, "create_experiments") { t in
            [
                """
                CREATE TABLE experiments (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    owner_id \(t.uuid) REFERENCES users(id) ON DELETE SET NULL,
                    name \(t.text) NOT NULL,
                    description \(t.text),
                    hypothesis \(t.text),
                    config \(t.json) NOT NULL DEFAULT '{}',
                    lifecycle_stage \(t.text) NOT NULL DEFAULT 'active',
                    artifact_location \(t.text) NOT NULL,
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE experiment_tags (
                    experiment_id \(t.uuid) NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                    key \(t.text) NOT NULL,
                    value \(t.text) NOT NULL,
                    PRIMARY KEY (experiment_id, key)
                )
                """,
            ]
        },
        Migration(10, "create_runs") { t in
            [
                """
                CREATE TABLE runs (
                    id \(t.uuid) PRIMARY KEY,
                    experiment_id \(t.uuid) NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL,
                    owner_id \(t.uuid),
                    name \(t.text) NOT NULL,
                    user_id \(t.text) NOT NULL DEFAULT '',
                    status \(t.text) NOT NULL,
                    start_ms \(t.bigint) NOT NULL,
                    end_ms \(t.bigint),
                    lifecycle_stage \(t.text) NOT NULL DEFAULT 'active',
                    artifact_uri \(t.text) NOT NULL,
                    training_job_id \(t.uuid),
                    inputs \(t.json) NOT NULL DEFAULT '[]',
                    outputs \(t.json) NOT NULL DEFAULT '[]'
                )
                """,
                "CREATE INDEX runs_experiment_start ON runs (experiment_id, start_ms DESC)",
                // Params and tags are found through their primary key (run_id, key): a (key, value) index tempted
                // PostgreSQL, before it had statistics, into semi-joins that scanned it once per candidate run.
                """
                CREATE TABLE run_params (
                    run_id \(t.uuid) NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    key \(t.text) NOT NULL,
                    value \(t.text) NOT NULL,
                    PRIMARY KEY (run_id, key)
                )
                """,
                """
                CREATE TABLE run_tags (
                    run_id \(t.uuid) NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    key \(t.text) NOT NULL,
                    value \(t.text) NOT NULL,
                    PRIMARY KEY (run_id, key)
                )
                """,
                // Every logged point, packed: one row per (run, key, logged batch) holding the batch's points as
                // little-endian (step, timestamp, value) triples. Ingest writes one row per key and request instead of
                // one per point; history reads decode and sort (see MetricChunk).
                """
                CREATE TABLE metric_chunks (
                    run_id \(t.uuid) NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    key \(t.text) NOT NULL,
                    min_step \(t.bigint) NOT NULL,
                    max_step \(t.bigint) NOT NULL,
                    point_count \(t.integer) NOT NULL,
                    points \(t.blob) NOT NULL
                )
                """,
                "CREATE INDEX metric_chunks_history ON metric_chunks (run_id, key, min_step)",
                // The value search and run views use: the point with the largest (step, timestamp) per run and key.
                // experiment_id is copied from the run (runs never move) so searches can use one index.
                """
                CREATE TABLE latest_metrics (
                    run_id \(t.uuid) NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    experiment_id \(t.uuid) NOT NULL,
                    key \(t.text) NOT NULL,
                    step \(t.bigint) NOT NULL,
                    ts_ms \(t.bigint) NOT NULL,
                    value \(t.double) NOT NULL,
                    is_nan \(t.bool) NOT NULL,
                    PRIMARY KEY (run_id, key)
                )
                """,
                // Searches ordered by a metric they also filter on walk this index in value order and stop at the page.
                "CREATE INDEX latest_metrics_experiment_key_value ON latest_metrics (experiment_id, key, value)",
            ]
        },
        Migration(11, "create_logged_models") { t in
            [
                """
                CREATE TABLE logged_models (
                    id \(t.text) PRIMARY KEY,
                    experiment_id \(t.uuid) NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                    name \(t.text) NOT NULL,
                    source_run_id \(t.uuid),
                    status \(t.text) NOT NULL,
                    model_type \(t.text),
                    artifact_location \(t.text) NOT NULL,
                    params \(t.json) NOT NULL DEFAULT '{}',
                    tags \(t.json) NOT NULL DEFAULT '{}',
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL
                )
                """,
                "CREATE INDEX logged_models_experiment_name ON logged_models (experiment_id, name)",
            ]
        },
        // The registry (design §3 models / model_versions). Lineage: version → run → training job → dataset version.
        Migration(12, "create_model_registry") { t in
            [
                """
                CREATE TABLE models (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    owner_id \(t.uuid) REFERENCES users(id) ON DELETE SET NULL,
                    name \(t.text) NOT NULL,
                    description \(t.text) NOT NULL DEFAULT '',
                    framework \(t.text),
                    model_format \(t.text),
                    latest_version \(t.integer) NOT NULL DEFAULT 0,
                    metadata \(t.json) NOT NULL DEFAULT '{}',
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE model_tags (
                    model_id \(t.uuid) NOT NULL REFERENCES models(id) ON DELETE CASCADE,
                    key \(t.text) NOT NULL,
                    value \(t.text) NOT NULL,
                    PRIMARY KEY (model_id, key)
                )
                """,
                """
                CREATE TABLE model_versions (
                    id \(t.uuid) PRIMARY KEY,
                    model_id \(t.uuid) NOT NULL REFERENCES models(id) ON DELETE CASCADE,
                    version \(t.integer) NOT NULL,
                    description \(t.text) NOT NULL DEFAULT '',
                    source \(t.text) NOT NULL,
                    storage_path \(t.text) NOT NULL,
                    run_id \(t.uuid),
                    logged_model_id \(t.text),
                    training_job_id \(t.uuid),
                    dataset_version_id \(t.uuid),
                    status \(t.text) NOT NULL DEFAULT 'READY',
                    current_stage \(t.text) NOT NULL DEFAULT 'None',
                    user_id \(t.text) NOT NULL DEFAULT '',
                    tags \(t.json) NOT NULL DEFAULT '{}',
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (model_id, version)
                )
                """,
                "CREATE INDEX model_versions_run ON model_versions (run_id)",
                """
                CREATE TABLE model_aliases (
                    model_id \(t.uuid) NOT NULL REFERENCES models(id) ON DELETE CASCADE,
                    alias \(t.text) NOT NULL,
                    version \(t.integer) NOT NULL,
                    PRIMARY KEY (model_id, alias)
                )
                """,
            ]
        },
        // PostgreSQL compressed each chunk (pglz) on insert: that was nearly all of its CPU during bulk ingest (perf,
        // bench/ingest.py), for a modest saving on packed numbers.
        Migration(19, "store_metric_chunks_uncompressed") { t in t.storeUncompressed("metric_chunks", "points") },
        // No foreign key to experiments or organizations: an upload whose experiment goes must still be found by the
        // maintenance sweep, which discards its parts in the object store.
        Migration(27, "create_artifact_uploads") { t in
            [
                """
                CREATE TABLE artifact_uploads (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL,
                    experiment_id \(t.uuid) NOT NULL,
                    object_key \(t.text) NOT NULL,
                    store_upload_id \(t.text) NOT NULL,
                    token_hash \(t.text) NOT NULL,
                    num_parts \(t.integer) NOT NULL,
                    created_by \(t.uuid),
                    created_ms \(t.bigint) NOT NULL,
                    expires_ms \(t.bigint) NOT NULL
                )
                """,
                "CREATE INDEX artifact_uploads_expiry ON artifact_uploads (expires_ms)",
                """
                CREATE TABLE artifact_upload_parts (
                    upload_id \(t.uuid) NOT NULL REFERENCES artifact_uploads(id) ON DELETE CASCADE,
                    part_number \(t.integer) NOT NULL,
                    size_bytes \(t.bigint) NOT NULL,
                    etag \(t.text) NOT NULL,
                    PRIMARY KEY (upload_id, part_number)
                )
                """,
            ]
        },
        // Traces' spans are files in the artifact store; these tables hold what searches compare. Tags and metadata
        // share one table (`kind`), as both are string maps compared the same way.
        Migration(29, "create_traces") { t in
            [
                """
                CREATE TABLE traces (
                    id \(t.text) PRIMARY KEY,
                    experiment_id \(t.uuid) NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
                    client_request_id \(t.text),
                    request_time_ms \(t.bigint) NOT NULL,
                    execution_ms \(t.bigint) NOT NULL,
                    state \(t.text) NOT NULL,
                    request_preview \(t.text),
                    response_preview \(t.text)
                )
                """,
                "CREATE INDEX traces_experiment_time ON traces (experiment_id, request_time_ms)",
                """
                CREATE TABLE trace_tags (
                    trace_id \(t.text) NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
                    kind \(t.text) NOT NULL,
                    key \(t.text) NOT NULL,
                    value \(t.text) NOT NULL,
                    PRIMARY KEY (trace_id, kind, key)
                )
                """,
            ]
        },
    ]
}
