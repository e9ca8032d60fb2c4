import AITIPCore
import Foundation
import SQLKit
import Storage

/// A multipart artifact upload in progress: the file it will become and the store's upload that holds its parts.
package struct ArtifactUpload: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var experimentId: UUID
    package var objectKey: String
    package var storeUploadId: String
    /// SHA-256 of the secret that authorizes sending parts; the secret itself is only in the client's part URLs.
    package var tokenHash: String
    package var numParts: Int
    package var createdBy: UUID?
    package var createdMs: Int64
    package var expiresMs: Int64

    enum CodingKeys: String, CodingKey {
        case id
        case orgId = "org_id", experimentId = "experiment_id", objectKey = "object_key", storeUploadId = "store_upload_id"
        case tokenHash = "token_hash", numParts = "num_parts", createdBy = "created_by", createdMs = "created_ms", expiresMs = "expires_ms"
    }
}

package struct ArtifactUploadPart: Sendable, Codable, Equatable {
    package var uploadId: UUID
    package var partNumber: Int
    package var sizeBytes: Int64
    package var etag: String

    enum CodingKeys: String, CodingKey {
        case uploadId = "upload_id", partNumber = "part_number", sizeBytes = "size_bytes", etag
    }
}

/// SQL for multipart artifact uploads. Callers authorize first.
enum ArtifactUploadStore {
    static func upload(_ id: UUID, on sql: any SQLDatabase) async throws -> ArtifactUpload? {
        try await sql.select().column("*").from("artifact_uploads").where("id", .equal, id).first(decoding: ArtifactUpload.self)
    }

    static func insert(_ upload: ArtifactUpload, on sql: any SQLDatabase) async throws {
        try await sql.insert(upload, into: "artifact_uploads")
    }

    /// Records a received part; a part sent again replaces the record of the earlier one.
    static func record(_ part: ArtifactUploadPart, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "artifact_upload_parts").where("upload_id", .equal, part.uploadId)
            .where("part_number", .equal, part.partNumber).run()
        try await sql.insert(part, into: "artifact_upload_parts")
    }

    static func parts(of id: UUID, on sql: any SQLDatabase) async throws -> [ArtifactUploadPart] {
        try await sql.select().column("*").from("artifact_upload_parts").where("upload_id", .equal, id)
            .orderBy("part_number").all(decoding: ArtifactUploadPart.self)
    }

    static func receivedBytes(of id: UUID, excludingPart number: Int, on sql: any SQLDatabase) async throws -> Int64 {
        try await sql.select().column(SQLQueryString("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)"), as: "total")
            .from("artifact_upload_parts").where("upload_id", .equal, id).where("part_number", .notEqual, number)
            .first()?.decode(column: "total", as: Int64.self) ?? 0
    }

    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "artifact_uploads").where("id", .equal, id).run()
    }

    /// Up to 1,000 uploads that expired before `ms` (a bounded batch per maintenance pass).
    static func expired(before ms: Int64, on sql: any SQLDatabase) async throws -> [ArtifactUpload] {
        try await sql.select().column("*").from("artifact_uploads").where("expires_ms", .lessThan, ms).limit(1_000)
            .all(decoding: ArtifactUpload.self)
    }
}
