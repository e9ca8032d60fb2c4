import Foundation
import SQLKit
import Storage

/// The training columns of a job (`training_jobs`, one row per workload of the kind `training`).
enum TrainingJobStore {
    static func insert(_ details: TrainingJob.Details, on sql: any SQLDatabase) async throws {
        try await sql.insert(details, into: "training_jobs")
    }

    static func details(of ids: [UUID], on sql: any SQLDatabase) async throws -> [TrainingJob.Details] {
        try await sql.select().column("*").from("training_jobs").where("id", .in, ids).all(decoding: TrainingJob.Details.self)
    }
}
