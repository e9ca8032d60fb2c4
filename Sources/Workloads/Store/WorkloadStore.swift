import AITIPCore
import Foundation
import SQLKit
import Storage

/// SQL for workloads and their transitions. Callers authorize first; everything here trusts its arguments.
enum WorkloadStore {
    static func insert(_ workload: Workload, reason: String, on sql: any SQLDatabase) async throws {
        try await sql.insert(workload, into: "workloads")
        try await event(workload.id, from: nil, to: .pending, reason: "submitted", at: workload.createdMs, on: sql)
        try await event(workload.id, from: .pending, to: workload.state, reason: reason, at: workload.createdMs, on: sql)
    }

    static func event(_ workloadId: UUID, from: WorkloadState?, to: WorkloadState, reason: String, at ms: Int64, on sql: any SQLDatabase) async throws
    {
        let event = WorkloadEvent(
            id: IDGenerator.uuidV7(at: Date(epochMilliseconds: ms)), workloadId: workloadId, atMs: ms, fromState: from,
            toState: to, reason: reason)
        try await sql.insert(event, into: "workload_events")
    }

    static func workload(_ id: UUID, locking: Bool = false, on sql: any SQLDatabase) async throws -> Workload? {
        let query = sql.select().column("*").from("workloads").where("id", .equal, id)
        if locking { query.for(.update) }
        return try await query.first(decoding: Workload.self)
    }

    static func workloads(ids: [UUID], on sql: any SQLDatabase) async throws -> [Workload] {
        var found: [Workload] = []
        for chunk in ids.chunked(500) {
            found += try await sql.select().column("*").from("workloads").where("id", .in, chunk).all(decoding: Workload.self)
        }
        return found
    }

    static func workloads(states: [WorkloadState], on sql: any SQLDatabase) async throws -> [Workload] {
        try await sql.select().column("*").from("workloads").where("state", .in, states.map(\.rawValue))
            .orderBy("sequence").all(decoding: Workload.self)
    }

    struct ListFilter: Sendable {
        var projectIds: [UUID]
        var states: [WorkloadState]
        var queue: String?
        var kind: String?
    }

    /// Newest first; the cursor is the last row's (created_ms, id).
    static func list(_ filter: ListFilter, after cursor: (Int64, UUID)?, limit: Int, on sql: any SQLDatabase) async throws -> [Workload] {
        let query = sql.select().column("*").from("workloads").where("project_id", .in, filter.projectIds)
        if !filter.states.isEmpty { query.where("state", .in, filter.states.map(\.rawValue)) }
        if let queue = filter.queue { query.where("queue", .equal, queue) }
        if let kind = filter.kind { query.where("kind", .equal, kind) }
        if let (createdMs, id) = cursor {
            query.where { group in
                group.where("created_ms", .lessThan, createdMs)
                    .orWhere { $0.where("created_ms", .equal, createdMs).where("id", .lessThan, id) }
            }
        }
        return try await query.orderBy("created_ms", .descending).orderBy("id", .descending).limit(limit).all(decoding: Workload.self)
    }

    static func events(_ workloadId: UUID, on sql: any SQLDatabase) async throws -> [WorkloadEvent] {
        try await sql.select().column("*").from("workload_events").where("workload_id", .equal, workloadId)
            .orderBy("at_ms").orderBy("id").all(decoding: WorkloadEvent.self)
    }

    /// Moves a workload to `state`, recording the transition; `change` sets the other columns of the move.
    static func transition(
        _ workload: Workload, to state: WorkloadState, reason: String, at ms: Int64,
        on sql: any SQLDatabase, change: (inout Workload) -> Void = { _ in }
    ) async throws -> Workload {
        var updated = workload
        updated.state = state
        updated.reason = reason
        updated.updatedMs = ms
        change(&updated)
        try await save(updated, on: sql)
        try await event(workload.id, from: workload.state, to: state, reason: reason, at: ms, on: sql)
        return updated
    }

    static func save(_ workload: Workload, on sql: any SQLDatabase) async throws {
        try await sql.updateRow(workload, in: "workloads", id: workload.id)
    }

    /// Asks the current attempt (still `reference`) to stop; false when it has ended or is already stopping.
    static func requestStop(
        _ id: UUID, attempt reference: String?, _ stopReason: Workload.StopReason, reason: String, at ms: Int64,
        on sql: any SQLDatabase
    ) async throws -> Bool {
        guard var current = try await workload(id, locking: true, on: sql), current.state.isActive, current.stopRequestedMs == nil,
            current.executorRef == reference
        else { return false }
        current.stopRequestedMs = ms
        current.stopReason = stopReason
        current.reason = reason
        current.updatedMs = ms
        try await save(current, on: sql)
        return true
    }

    static func setReason(_ reason: String, of ids: [UUID], on sql: any SQLDatabase) async throws {
        guard !ids.isEmpty else { return }
        try await sql.update("workloads").set("reason", to: reason).where("id", .in, ids).run()
    }

    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "workloads").where("id", .equal, id).run()
    }

    // MARK: projects (read-only here; Identity owns them)

}
