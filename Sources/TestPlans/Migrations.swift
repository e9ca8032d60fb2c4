import Storage

/// Test plans, their executions and each execution's cases (design §3 `test_plans`, `test_executions`; the cases are
/// a table so that a case's history across executions — and flakiness — is a query). Times are epoch milliseconds.
package enum TestPlanMigrations {
    package static let all: [Migration] = [
        Migration(33, "create_test_plans") { t in
            [
                """
                CREATE TABLE test_plans (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    owner_id \(t.uuid),
                    name \(t.text) NOT NULL,
                    description \(t.text) NOT NULL DEFAULT '',
                    test_type \(t.text) NOT NULL,
                    config \(t.json) NOT NULL,
                    schedule \(t.text),
                    next_run_ms \(t.bigint),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                "CREATE INDEX test_plans_next_run ON test_plans (next_run_ms)",
                """
                CREATE TABLE test_executions (
                    id \(t.uuid) PRIMARY KEY,
                    plan_id \(t.uuid) NOT NULL REFERENCES test_plans(id) ON DELETE CASCADE,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL,
                    workload_id \(t.uuid) REFERENCES workloads(id) ON DELETE SET NULL,
                    trigger_type \(t.text) NOT NULL,
                    triggered_by \(t.uuid),
                    result_state \(t.text) NOT NULL,
                    exit_code \(t.integer),
                    total_cases \(t.integer) NOT NULL DEFAULT 0,
                    passed_cases \(t.integer) NOT NULL DEFAULT 0,
                    failed_cases \(t.integer) NOT NULL DEFAULT 0,
                    skipped_cases \(t.integer) NOT NULL DEFAULT 0,
                    coverage_percent \(t.double),
                    duration_seconds \(t.double),
                    result_error \(t.text),
                    created_ms \(t.bigint) NOT NULL,
                    completed_ms \(t.bigint)
                )
                """,
                "CREATE INDEX test_executions_plan ON test_executions (plan_id, created_ms)",
                "CREATE INDEX test_executions_pending ON test_executions (result_state)",
                """
                CREATE TABLE test_case_results (
                    execution_id \(t.uuid) NOT NULL REFERENCES test_executions(id) ON DELETE CASCADE,
                    plan_id \(t.uuid) NOT NULL,
                    position \(t.integer) NOT NULL,
                    suite \(t.text) NOT NULL,
                    classname \(t.text) NOT NULL,
                    name \(t.text) NOT NULL,
                    status \(t.text) NOT NULL,
                    duration_ms \(t.bigint) NOT NULL,
                    message \(t.text),
                    created_ms \(t.bigint) NOT NULL,
                    PRIMARY KEY (execution_id, position)
                )
                """,
                "CREATE INDEX test_case_results_history ON test_case_results (plan_id, classname, name, created_ms)",
            ]
        },
        // The secret a plan's webhook deliveries are signed with (HMAC-SHA256, GitHub's X-Hub-Signature-256); NULL: the
        // plan has no webhook. It is kept as it is, not as a digest: checking a signature needs the key itself.
        Migration(34, "add_test_plan_webhook_secret") { t in ["ALTER TABLE test_plans ADD COLUMN webhook_secret \(t.text)"] },
    ]
}
