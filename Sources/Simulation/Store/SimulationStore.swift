import AITIPCore
import Foundation
import SQLKit
import Storage

/// The SQL on `simulation_environments`, `simulation_runs` and `simulation_scenarios`.
enum SimulationStore {
    // MARK: environments

    static func insert(_ environment: SimulationEnvironment, on sql: any SQLDatabase) async throws {
        try await sql.insert(environment, into: "simulation_environments")
    }

    /// `locking`: the row stays locked until the transaction ends (PostgreSQL), so a run cannot be added to an
    /// environment being deleted, nor an environment deleted under a run being added.
    static func environment(_ id: UUID, locking: Bool = false, on sql: any SQLDatabase) async throws -> SimulationEnvironment? {
        let query = sql.select().column("*").from("simulation_environments").where("id", .equal, id)
        if locking { query.for(.update) }
        return try await query.first(decoding: SimulationEnvironment.self)
    }

    static func environment(named name: String, project: UUID, on sql: any SQLDatabase) async throws -> SimulationEnvironment? {
        try await sql.select().column("*").from("simulation_environments").where("project_id", .equal, project).where("name", .equal, name)
            .first(decoding: SimulationEnvironment.self)
    }

    static func environments(project: UUID, after: UUID?, limit: Int, on sql: any SQLDatabase) async throws -> [SimulationEnvironment] {
        let select = sql.select().column("*").from("simulation_environments").where("project_id", .equal, project)
        if let after { select.where("id", .lessThan, after) }
        return try await select.orderBy("id", .descending).limit(limit).all(decoding: SimulationEnvironment.self)
    }

    static func delete(environment id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "simulation_environments").where("id", .equal, id).run()
    }

    /// How many runs of each environment are still running.
    static func activeRuns(of environments: [UUID], on sql: any SQLDatabase) async throws -> [UUID: Int] {
        guard !environments.isEmpty else { return [:] }
        let rows = try await sql.select().column("env_id").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "active")
            .from("simulation_runs").where("env_id", .in, environments).where("state", .equal, SimulationRun.State.running.rawValue)
            .groupBy("env_id").all()
        var counts: [UUID: Int] = [:]
        for row in rows { counts[try row.decode(column: "env_id", as: UUID.self)] = try row.decode(column: "active", as: Int.self) }
        return counts
    }

    // MARK: runs

    static func insert(_ run: SimulationRun.Details, scenarios: [SimulationRun.Record], on sql: any SQLDatabase) async throws {
        try await sql.insert(run, into: "simulation_runs")
        for scenario in scenarios { try await sql.insert(scenario, into: "simulation_scenarios") }
    }

    static func run(_ id: UUID, on sql: any SQLDatabase) async throws -> SimulationRun.Details? {
        try await sql.select().column("*").from("simulation_runs").where("id", .equal, id).first(decoding: SimulationRun.Details.self)
    }

    /// An environment's runs, newest first, after the cursor's (created_ms, id).
    static func runs(environment: UUID, after: (Int64, UUID)?, limit: Int, on sql: any SQLDatabase) async throws -> [SimulationRun.Details] {
        let select = sql.select().column("*").from("simulation_runs").where("env_id", .equal, environment)
        if let (ms, id) = after {
            select.where { $0.where("created_ms", .lessThan, ms).orWhere { $0.where("created_ms", .equal, ms).where("id", .lessThan, id) } }
        }
        return try await select.orderBy("created_ms", .descending).orderBy("id", .descending).limit(limit).all(decoding: SimulationRun.Details.self)
    }

    static func runs(environment: UUID, state: SimulationRun.State, on sql: any SQLDatabase) async throws -> [SimulationRun.Details] {
        try await sql.select().column("*").from("simulation_runs").where("env_id", .equal, environment).where("state", .equal, state.rawValue)
            .all(decoding: SimulationRun.Details.self)
    }

    /// Running runs with something to collect, oldest first: a scenario still pending whose workload has ended, or no
    /// pending scenario left (a server stopped between the last scenario and the verdict). Runs whose scenarios are all
    /// still queued or running are not chosen, so a backlog of them never keeps later runs from their verdicts.
    static func collectable(limit: Int, on sql: any SQLDatabase) async throws -> [SimulationRun.Details] {
        let running = SimulationRun.State.running.rawValue
        let pending = SimulationRun.ResultState.pending.rawValue
        let (succeeded, failed, cancelled) = ("succeeded", "failed", "cancelled")
        let query: SQLQueryString = """
            SELECT r.* FROM simulation_runs r WHERE r.state = \(bind: running) AND (
              EXISTS (SELECT 1 FROM simulation_scenarios s JOIN workloads w ON w.id = s.id WHERE s.run_id = r.id
                AND s.result_state = \(bind: pending) AND w.state IN (\(bind: succeeded), \(bind: failed), \(bind: cancelled)))
              OR NOT EXISTS (SELECT 1 FROM simulation_scenarios s WHERE s.run_id = r.id AND s.result_state = \(bind: pending)))
            ORDER BY r.created_ms LIMIT \(literal: limit)
            """
        return try await sql.raw(query).all(decoding: SimulationRun.Details.self)
    }

    /// Records how a run ended, once: false when another server recorded it first.
    static func complete(_ run: SimulationRun.Details, on sql: any SQLDatabase) async throws -> Bool {
        let rows = try await sql.update("simulation_runs")
            .set("state", to: run.state.rawValue).set("results", to: run.results).set("safety_score", to: run.safetyScore)
            .set("passed", to: run.passed).set("error", to: run.error).set("completed_ms", to: run.completedMs)
            .where("id", .equal, run.id).where("state", .equal, SimulationRun.State.running.rawValue)
            .returning("id").all()
        return !rows.isEmpty
    }

    /// Runs of these model versions, for the lineage graph.
    static func runs(ofModelVersions ids: [UUID], on sql: any SQLDatabase) async throws -> [SimulationRun.Details] {
        guard !ids.isEmpty else { return [] }
        return try await sql.select().column("*").from("simulation_runs").where("model_version_id", .in, ids).all(
            decoding: SimulationRun.Details.self)
    }

    static func runs(ids: [UUID], on sql: any SQLDatabase) async throws -> [SimulationRun.Details] {
        guard !ids.isEmpty else { return [] }
        return try await sql.select().column("*").from("simulation_runs").where("id", .in, ids).all(decoding: SimulationRun.Details.self)
    }

    // MARK: scenarios

    static func scenarios(of runs: [UUID], on sql: any SQLDatabase) async throws -> [SimulationRun.Record] {
        var found: [SimulationRun.Record] = []
        for chunk in runs.chunked(500) {
            found += try await sql.select().column("*").from("simulation_scenarios").where("run_id", .in, chunk).orderBy("position")
                .all(decoding: SimulationRun.Record.self)
        }
        return found
    }

    /// Stores a scenario's outcome once: false when another server stored it first.
    static func complete(_ scenario: SimulationRun.Record, on sql: any SQLDatabase) async throws -> Bool {
        let rows = try await sql.update("simulation_scenarios")
            .set("result_state", to: scenario.resultState.rawValue).set("result", to: scenario.result).set("error", to: scenario.error)
            .where("id", .equal, scenario.id).where("result_state", .equal, SimulationRun.ResultState.pending.rawValue)
            .returning("id").all()
        return !rows.isEmpty
    }
}
