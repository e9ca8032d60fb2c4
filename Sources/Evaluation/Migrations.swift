import Storage

/// Evaluation jobs: the evaluation columns of a workload of the kind `evaluation` (design §1 evaluation service;
/// the design has no table of its own for them). Times are epoch milliseconds, as in Workloads.
package enum EvaluationMigrations {
    package static let all: [Migration] = [
        Migration(32, "create_evaluation_jobs") { t in
            [
                """
                CREATE TABLE evaluation_jobs (
                    id \(t.uuid) PRIMARY KEY REFERENCES workloads(id) ON DELETE CASCADE,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    benchmark \(t.text) NOT NULL,
                    benchmark_version \(t.integer) NOT NULL,
                    model_name \(t.text) NOT NULL,
                    model_version \(t.integer) NOT NULL,
                    model_version_id \(t.uuid) NOT NULL,
                    baseline_name \(t.text),
                    baseline_version \(t.integer),
                    baseline_version_id \(t.uuid),
                    baseline_reason \(t.text) NOT NULL,
                    dataset_id \(t.uuid) NOT NULL,
                    dataset_name \(t.text) NOT NULL,
                    dataset_version_id \(t.uuid) NOT NULL,
                    dataset_version \(t.text) NOT NULL,
                    dataset_path \(t.text) NOT NULL,
                    dataset_sha256 \(t.text) NOT NULL,
                    dataset_size_bytes \(t.bigint) NOT NULL,
                    target_column \(t.text) NOT NULL,
                    slice_columns \(t.json) NOT NULL,
                    thresholds \(t.json) NOT NULL,
                    run_id \(t.uuid),
                    result_state \(t.text) NOT NULL,
                    results \(t.json),
                    gate_passed \(t.bool),
                    result_error \(t.text),
                    created_ms \(t.bigint) NOT NULL,
                    completed_ms \(t.bigint)
                )
                """,
                "CREATE INDEX evaluation_jobs_pending ON evaluation_jobs (result_state, created_ms)",
                "CREATE INDEX evaluation_jobs_model_version ON evaluation_jobs (model_version_id)",
                "CREATE INDEX evaluation_jobs_dataset_version ON evaluation_jobs (dataset_version_id)",
            ]
        }
    ]
}
