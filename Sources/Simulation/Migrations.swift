import Storage

/// Simulation environments and runs (design §3 `simulation_environments`, `simulation_runs`), and the scenarios of a
/// run: each is a workload of the kind `simulation` (its row goes with the workload). The design's model binding
/// (model_id, model_version) is kept as a `models:/` reference, resolved when a run starts, so an alias follows
/// the registry; `endpoint_url` has no counterpart (scenarios are batch workloads, not long-lived simulators).
/// Times are epoch milliseconds, as in Workloads.
package enum SimulationMigrations {
    package static let all: [Migration] = [
        Migration(35, "create_simulation") { t in
            [
                """
                CREATE TABLE simulation_environments (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    owner_id \(t.uuid),
                    name \(t.text) NOT NULL,
                    description \(t.text) NOT NULL,
                    template \(t.text) NOT NULL,
                    template_version \(t.integer) NOT NULL,
                    scenario_config \(t.json) NOT NULL,
                    isolation_type \(t.text) NOT NULL,
                    cpu \(t.double) NOT NULL,
                    memory_mib \(t.integer) NOT NULL,
                    max_runtime_seconds \(t.integer),
                    python \(t.text) NOT NULL,
                    command \(t.text),
                    code_archive \(t.text),
                    model_uri \(t.text),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE simulation_runs (
                    id \(t.uuid) PRIMARY KEY,
                    env_id \(t.uuid) NOT NULL REFERENCES simulation_environments(id) ON DELETE CASCADE,
                    org_id \(t.uuid) NOT NULL,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    created_by \(t.uuid),
                    template \(t.text) NOT NULL,
                    template_version \(t.integer) NOT NULL,
                    isolation_type \(t.text) NOT NULL,
                    model_name \(t.text) NOT NULL,
                    model_version \(t.integer) NOT NULL,
                    model_version_id \(t.uuid) NOT NULL,
                    suite \(t.json) NOT NULL,
                    suite_overridden \(t.bool) NOT NULL,
                    state \(t.text) NOT NULL,
                    results \(t.json),
                    safety_score \(t.double),
                    passed \(t.bool),
                    error \(t.text),
                    created_ms \(t.bigint) NOT NULL,
                    completed_ms \(t.bigint)
                )
                """,
                "CREATE INDEX simulation_runs_env ON simulation_runs (env_id, created_ms)",
                "CREATE INDEX simulation_runs_state ON simulation_runs (state, created_ms)",
                "CREATE INDEX simulation_runs_model_version ON simulation_runs (model_version_id)",
                """
                CREATE TABLE simulation_scenarios (
                    id \(t.uuid) PRIMARY KEY REFERENCES workloads(id) ON DELETE CASCADE,
                    run_id \(t.uuid) NOT NULL REFERENCES simulation_runs(id) ON DELETE CASCADE,
                    position \(t.integer) NOT NULL,
                    name \(t.text) NOT NULL,
                    category \(t.text) NOT NULL,
                    result_state \(t.text) NOT NULL,
                    result \(t.json),
                    error \(t.text)
                )
                """,
                "CREATE INDEX simulation_scenarios_run ON simulation_scenarios (run_id, position)",
            ]
        },
        // Where a run's model ran (`SimulationRun.ModelSandbox`); runs before it loaded the model in the simulator.
        Migration(36, "simulation_model_sandbox") { t in
            ["ALTER TABLE simulation_runs ADD COLUMN model_sandbox \(t.text) NOT NULL DEFAULT 'shared'"]
        },
    ]
}
