import Storage

/// Training jobs: the training-specific columns of a workload (design §3 training_jobs). The lifecycle, resources
/// and state live in `workloads` (same id).
package enum TrainingMigrations {
    package static let all: [Migration] = [
        Migration(17, "create_training_jobs") { t in
            [
                """
                CREATE TABLE training_jobs (
                    id \(t.uuid) PRIMARY KEY REFERENCES workloads(id) ON DELETE CASCADE,
                    project_id \(t.uuid) NOT NULL,
                    experiment_id \(t.uuid) REFERENCES experiments(id) ON DELETE SET NULL,
                    dataset_id \(t.uuid),
                    data_config \(t.json) NOT NULL DEFAULT '{}',
                    framework \(t.text),
                    distributed_mode \(t.text) NOT NULL,
                    config \(t.json) NOT NULL DEFAULT '{}',
                    code_repo \(t.text),
                    code_commit \(t.text),
                    code_path \(t.text),
                    checkpoint_path \(t.text),
                    cost_estimate \(t.double),
                    created_ms \(t.bigint) NOT NULL
                )
                """,
                "CREATE INDEX training_jobs_experiment ON training_jobs (experiment_id)",
            ]
        },
        // Job answers showed the server's absolute path of the checkpoint directory; they now show the path the job
        // sees in its sandbox.
        Migration(22, "show_checkpoint_path_as_seen_by_jobs") { _ in
            [
                "UPDATE training_jobs SET checkpoint_path = '/checkpoints' WHERE checkpoint_path IS NOT NULL"
            ]
        },
    ]
}
