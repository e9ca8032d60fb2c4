import AITIPCore
import Foundation
import SQLKit
import Storage

/// SQL for upload sessions, and the sums the storage quota compares. Callers authorize first; everything here trusts
/// its arguments.
enum UploadStore {
    static func upload(_ id: UUID, on sql: any SQLDatabase) async throws -> UploadSession? {
        try await sql.select().column("*").from("dataset_uploads").where("id", .equal, id).first(decoding: UploadSession.self)
    }

    /// The open upload of this content to this dataset, if any: starting the same upload again is how a client resumes.
    static func openUpload(sha256: String, orgId: UUID, dataset: UUID, on sql: any SQLDatabase) async throws -> UploadSession? {
        try await sql.select().column("*").from("dataset_uploads").where("org_id", .equal, orgId)
            .where("sha256", .equal, sha256).where("status", .equal, UploadSession.Status.open.rawValue)
            .where("dataset_id", .equal, dataset).first(decoding: UploadSession.self)
    }

    /// Every session of the dataset: their staged bytes go when the dataset does.
    static func uploadIds(ofDataset id: UUID, on sql: any SQLDatabase) async throws -> [UUID] {
        try await sql.select().column("id").from("dataset_uploads").where("dataset_id", .equal, id).all().map { try $0.uuid("id") }
    }

    static func insert(_ session: UploadSession, on sql: any SQLDatabase) async throws {
        try await sql.insert(session, into: "dataset_uploads")
    }

    static func update(_ session: UploadSession, on sql: any SQLDatabase) async throws {
        try await sql.updateRow(session, in: "dataset_uploads", id: session.id)
    }

    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "dataset_uploads").where("id", .equal, id).run()
    }

    /// Deletes up to 1,000 sessions that expired before `ms` (a bounded batch per maintenance pass) and returns their
    /// ids, so that their staged bytes can be removed too.
    static func deleteExpired(before ms: Int64, on sql: any SQLDatabase) async throws -> [UUID] {
        let ids = try await sql.select().column("id").from("dataset_uploads").where("expires_ms", .lessThan, ms).limit(1_000).all()
            .map { try $0.uuid("id") }
        if !ids.isEmpty { try await sql.delete(from: "dataset_uploads").where("id", .in, ids).run() }
        return ids
    }

    // MARK: quota

    /// Bytes of the organization's stored bodies; only the project's when `project` is given.
    static func storedBytes(orgId: UUID, project: UUID?, on sql: any SQLDatabase) async throws -> Int64 {
        let stored = sql.select().column(total, as: "total").from("dataset_blobs").where("org_id", .equal, orgId)
        if let project { stored.where("project_id", .equal, project) }
        return try await stored.first()?.decode(column: "total", as: Int64.self) ?? 0
    }

    /// Bytes announced by the organization's open uploads (the project's when given), less the upload `excluding`.
    static func reservedBytes(orgId: UUID, project: UUID?, excluding upload: UUID?, on sql: any SQLDatabase) async throws -> Int64 {
        let pending = sql.select().column(total, as: "total").from("dataset_uploads").where("org_id", .equal, orgId).where(
            "status", .equal, UploadSession.Status.open.rawValue)
        if let project { pending.where("project_id", .equal, project) }
        if let upload { pending.where("id", .notEqual, upload) }
        return try await pending.first()?.decode(column: "total", as: Int64.self) ?? 0
    }

    /// PostgreSQL sums BIGINT as NUMERIC: cast back so both databases answer an integer.
    private static var total: SQLQueryString { SQLQueryString("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)") }
}
