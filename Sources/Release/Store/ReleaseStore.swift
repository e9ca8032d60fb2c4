import AITIPCore
import Foundation
import SQLKit
import Storage

/// The SQL on `releases`, `release_events` and `release_approvals`.
enum ReleaseStore {
    static func insert(_ release: Release, on sql: any SQLDatabase) async throws {
        try await sql.insert(release, into: "releases")
    }

    /// Saves the release unless it changed since it was read (`updatedMs` as read); false when it did.
    static func save(_ release: Release, readAt updatedMs: Int64, on sql: any SQLDatabase) async throws -> Bool {
        let rows = try await sql.select().column("id").from("releases").where("id", .equal, release.id).where("updated_ms", .equal, updatedMs)
            .all()
        guard !rows.isEmpty else { return false }
        try await sql.updateRow(release, in: "releases", id: release.id)
        return true
    }

    /// `locking`: the row stays locked until the transaction ends (PostgreSQL; SQLite's writer is one at a time).
    static func release(_ id: UUID, locking: Bool = false, on sql: any SQLDatabase) async throws -> Release? {
        let query = sql.select().column("*").from("releases").where("id", .equal, id)
        if locking { query.for(.update) }
        return try await query.first(decoding: Release.self)
    }

    static func releases(project: UUID, after: UUID?, limit: Int, on sql: any SQLDatabase) async throws -> [Release] {
        let select = sql.select().column("*").from("releases").where("project_id", .equal, project)
        if let after { select.where("id", .lessThan, after) }
        return try await select.orderBy("id", .descending).limit(limit).all(decoding: Release.self)
    }

    /// Releases holding the traffic of this stable service now (rolling out).
    static func active(service: UUID, on sql: any SQLDatabase) async throws -> [Release] {
        try await sql.select().column("*").from("releases").where("service_id", .equal, service)
            .where("status", .in, [Release.Status.canary.rawValue, Release.Status.paused.rawValue]).all(decoding: Release.self)
    }

    /// Every release rolling out, for the analysis.
    static func rollingOut(on sql: any SQLDatabase) async throws -> [Release] {
        try await sql.select().column("*").from("releases")
            .where("status", .in, [Release.Status.canary.rawValue, Release.Status.paused.rawValue]).orderBy("id").all(decoding: Release.self)
    }

    static func releases(ids: [UUID], on sql: any SQLDatabase) async throws -> [Release] {
        guard !ids.isEmpty else { return [] }
        return try await sql.select().column("*").from("releases").where("id", .in, ids).all(decoding: Release.self)
    }

    /// The releases of these model versions, or of artifacts from these dataset versions.
    static func releases(ofVersions ids: [UUID], on sql: any SQLDatabase) async throws -> [Release] {
        guard !ids.isEmpty else { return [] }
        return try await sql.select().column("*").from("releases")
            .where { $0.where("model_version_id", .in, ids).orWhere("artifact_version_id", .in, ids) }.all(decoding: Release.self)
    }

    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "releases").where("id", .equal, id).run()
    }

    // MARK: timeline and approvals

    static func insert(_ event: ReleaseEvent, on sql: any SQLDatabase) async throws {
        try await sql.insert(event, into: "release_events")
    }

    static func events(of release: UUID, on sql: any SQLDatabase) async throws -> [ReleaseEvent] {
        try await sql.select().column("*").from("release_events").where("release_id", .equal, release).orderBy("at_ms").orderBy("id")
            .all(decoding: ReleaseEvent.self)
    }

    static func approvals(of release: UUID, on sql: any SQLDatabase) async throws -> [ReleaseApproval] {
        try await sql.select().column("*").from("release_approvals").where("release_id", .equal, release).orderBy("at_ms")
            .all(decoding: ReleaseApproval.self)
    }

    /// One decision per approver: a second one replaces the first.
    static func record(_ approval: ReleaseApproval, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "release_approvals").where("release_id", .equal, approval.releaseId).where("user_id", .equal, approval.userId)
            .run()
        try await sql.insert(approval, into: "release_approvals")
    }

    static func clearApprovals(of release: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "release_approvals").where("release_id", .equal, release).run()
    }
}
