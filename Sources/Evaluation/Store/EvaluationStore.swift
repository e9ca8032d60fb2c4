import Foundation
import SQLKit
import Storage

/// The evaluation columns of a job (`evaluation_jobs`, one row per workload of the kind `evaluation`).
enum EvaluationStore {
    static func insert(_ details: EvaluationJob.Details, on sql: any SQLDatabase) async throws {
        try await sql.insert(details, into: "evaluation_jobs")
    }

    static func details(of ids: [UUID], on sql: any SQLDatabase) async throws -> [EvaluationJob.Details] {
        guard !ids.isEmpty else { return [] }
        return try await sql.select().column("*").from("evaluation_jobs").where("id", .in, ids).all(decoding: EvaluationJob.Details.self)
    }

    /// Jobs whose results are not in yet, oldest first.
    static func pending(limit: Int, on sql: any SQLDatabase) async throws -> [EvaluationJob.Details] {
        try await sql.select().column("*").from("evaluation_jobs").where("result_state", .equal, EvaluationJob.ResultState.pending.rawValue)
            .orderBy("created_ms").limit(limit).all(decoding: EvaluationJob.Details.self)
    }

    /// Records the outcome once: false when another server recorded it first.
    static func complete(
        _ id: UUID, state: EvaluationJob.ResultState, results: String?, gatePassed: Bool?, error: String?, atMs: Int64, on sql: any SQLDatabase
    ) async throws -> Bool {
        let rows = try await sql.update("evaluation_jobs")
            .set("result_state", to: state.rawValue).set("results", to: results).set("gate_passed", to: gatePassed)
            .set("result_error", to: error).set("completed_ms", to: atMs)
            .where("id", .equal, id).where("result_state", .equal, EvaluationJob.ResultState.pending.rawValue)
            .returning("id").all()
        return !rows.isEmpty
    }

    /// Evaluations of these model versions (as candidate) or on these dataset versions, for the lineage graph.
    static func lineage(candidates ids: [UUID], orDatasetVersions versionIds: [UUID], on sql: any SQLDatabase) async throws
        -> [EvaluationJob.Details]
    {
        guard !ids.isEmpty || !versionIds.isEmpty else { return [] }
        return try await sql.select().column("*").from("evaluation_jobs")
            .where { group in
                var group = group
                if !ids.isEmpty { group = group.orWhere("model_version_id", .in, ids) }
                if !versionIds.isEmpty { group = group.orWhere("dataset_version_id", .in, versionIds) }
                return group
            }
            .all(decoding: EvaluationJob.Details.self)
    }
}
