import AITIPCore
import Foundation
import Identity
import ObjectStore
import SQLKit
import Storage

/// What a client needs to send the parts of a file: the upload's id and the secret its part URLs carry.
package struct MultipartGrant: Sendable {
    package var uploadId: UUID
    package var token: String
    package var parts: Int
}

/// MLflow's multipart artifact upload (`mpu/create`, parts, `mpu/complete`, `mpu/abort`): a large file goes up in
/// parts, several at once, each streamed into the object store's own multipart upload (S3: straight to S3 parts;
/// local disk: part files joined at the end). Starting, completing and aborting are the caller's, authorized and
/// audited like a one-request upload; the parts carry a secret of the upload instead of the caller's credentials,
/// because the client sends them to the URLs it was given without its own credentials (as to S3's presigned URLs).
extension ArtifactService {
    /// S3's limit on the parts of one upload.
    package static let maxParts = 10_000

    package func startMultipart(_ location: ArtifactLocation, parts: Int, caller: Caller) async throws -> MultipartGrant {
        let key = try Self.fileKey(location, doing: "upload")
        guard (1...Self.maxParts).contains(parts) else {
            throw AppError.badRequest("num_parts must be between 1 and \(Self.maxParts), not \(parts)")
        }
        let orgId = try await authorize(location, .experimentsWrite, caller: caller)
        let principal = try caller.requirePrincipal()
        let token = SecretToken.random()
        let now = clock.now().epochMilliseconds
        let storeUploadId = try await store.startMultipart(key)
        let upload = ArtifactUpload(
            id: IDGenerator.uuidV7(), orgId: orgId, experimentId: location.experimentId, objectKey: key.path, storeUploadId: storeUploadId,
            tokenHash: SecretToken.sha256(token), numParts: parts, createdBy: principal.userId, createdMs: now,
            expiresMs: now + configuration.uploadLifetimeSeconds * 1_000)
        do {
            try await database.transaction { sql in
                try await ArtifactUploadStore.insert(upload, on: sql)
                try await audit.record(
                    on: sql, caller, orgId: orgId, action: "artifact.upload.start", targetType: "artifact", targetId: key.path,
                    detail: "multipart upload \(upload.id.lowercasedString), \(parts) parts")
            }
        } catch {
            try? await store.abortMultipart(key, uploadId: storeUploadId)
            throw error
        }
        return MultipartGrant(uploadId: upload.id, token: token, parts: parts)
    }

    /// Stores part `number` of exactly `length` bytes; `token` is the upload's secret from its part URL. Returns the
    /// part's entity tag.
    package func putPart(upload id: UUID, number: Int, token: String, length: Int64?, body: ObjectStream) async throws -> String {
        let upload = try await database.read { sql in try await ArtifactUploadStore.upload(id, on: sql) }
        // One answer for a missing upload and a wrong secret: a guessed id tells nothing.
        guard let upload, upload.expiresMs > clock.now().epochMilliseconds,
            SecretToken.sha256(token) == upload.tokenHash
        else {
            throw AppError.notFound("Multipart upload '\(id.lowercasedString)' (or its token does not match)")
        }
        guard (1...upload.numParts).contains(number) else {
            throw AppError.badRequest("This upload has parts 1 to \(upload.numParts), not \(number)")
        }
        guard let length else { throw AppError.badRequest("Send each part with a Content-Length header") }
        let others = try await database.read { sql in try await ArtifactUploadStore.receivedBytes(of: id, excludingPart: number, on: sql) }
        try checkSize(others + length)
        let key = try ObjectKey(upload.objectKey)
        let etag = try await store.putPart(key, uploadId: upload.storeUploadId, number: number, body: body, length: length)
        try await database.transaction { sql in
            guard try await ArtifactUploadStore.upload(id, on: sql) != nil else {
                throw AppError.conflict("The upload was completed or aborted while this part was on its way")
            }
            try await ArtifactUploadStore.record(ArtifactUploadPart(uploadId: id, partNumber: number, sizeBytes: length, etag: etag), on: sql)
        }
        return etag
    }

    /// Joins the parts into the file. `parts` is what the client sent (numbers and entity tags): they must be every
    /// part of the upload, as the server received them.
    package func completeMultipart(_ location: ArtifactLocation, upload id: UUID, parts: [UploadedPart], caller: Caller) async throws {
        let (upload, orgId) = try await ownedUpload(id, at: location, caller: caller)
        let received = try await database.read { sql in try await ArtifactUploadStore.parts(of: id, on: sql) }
        let expected = Array(1...upload.numParts)
        guard received.map(\.partNumber) == expected else {
            let missing = Set(expected).subtracting(received.map(\.partNumber)).sorted()
            throw AppError.badRequest("Parts \(missing.prefix(10).map(String.init).joined(separator: ", ")) of this upload have not arrived")
        }
        let sent = Dictionary(parts.map { ($0.number, $0.etag) }, uniquingKeysWith: { first, _ in first })
        guard sent.keys.sorted() == expected, received.allSatisfy({ sent[$0.partNumber] == $0.etag }) else {
            throw AppError.badRequest(
                "The parts listed do not match the parts this upload received (numbers 1 to \(upload.numParts) with their ETags)")
        }
        let total = received.reduce(Int64(0)) { $0 + $1.sizeBytes }
        try checkSize(total)
        let key = try ObjectKey(upload.objectKey)
        try await store.completeMultipart(
            key, uploadId: upload.storeUploadId, parts: received.map { UploadedPart(number: $0.partNumber, etag: $0.etag) })
        try await database.transaction { sql in
            try await ArtifactUploadStore.delete(id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "artifact.upload", targetType: "artifact", targetId: key.path,
                detail: "\(total) bytes in \(upload.numParts) parts")
        }
    }

    package func abortMultipart(_ location: ArtifactLocation, upload id: UUID, caller: Caller) async throws {
        let (upload, orgId) = try await ownedUpload(id, at: location, caller: caller)
        try await store.abortMultipart(try ObjectKey(upload.objectKey), uploadId: upload.storeUploadId)
        try await database.transaction { sql in
            try await ArtifactUploadStore.delete(id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "artifact.upload.abort", targetType: "artifact", targetId: upload.objectKey,
                detail: "multipart upload \(id.lowercasedString)")
        }
    }

    /// Discards uploads past their lifetime, and their parts in the object store (the maintenance sweep).
    package func discardExpiredUploads() async throws {
        let expired = try await database.read { sql in
            try await ArtifactUploadStore.expired(before: clock.now().epochMilliseconds, on: sql)
        }
        for upload in expired {
            if let key = try? ObjectKey(upload.objectKey) { try await store.abortMultipart(key, uploadId: upload.storeUploadId) }
            try await database.transaction { sql in try await ArtifactUploadStore.delete(upload.id, on: sql) }
        }
    }

    /// The upload, once the caller may write to `location` and the upload is of that file.
    private func ownedUpload(_ id: UUID, at location: ArtifactLocation, caller: Caller) async throws -> (ArtifactUpload, UUID) {
        let key = try Self.fileKey(location, doing: "upload")
        let orgId = try await authorize(location, .experimentsWrite, caller: caller)
        guard let upload = try await database.read({ sql in try await ArtifactUploadStore.upload(id, on: sql) }), upload.orgId == orgId,
            upload.objectKey == key.path
        else {
            throw AppError.notFound("Multipart upload '\(id.lowercasedString)' of '\(location.relativePath)'")
        }
        return (upload, orgId)
    }
}
