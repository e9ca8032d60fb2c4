import AITIPCore
import Crypto
import Foundation
import Identity
import ObjectStore
import SQLKit
import Storage

/// Resumable uploads: a session names the content (sha256 and size) before any byte is sent, so content the
/// organization already holds is never sent again, and an interrupted upload continues from the bytes that arrived.
extension DatasetService {
    package func startUpload(_ datasetId: UUID, sha256: String, size: Int64, path: String?, caller: Caller) async throws -> UploadSession {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .write), caller: caller)
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        validator.check(Manifest.isSHA256(sha256), "sha256", "must be 64 lowercase hex digits (the sha256 of the whole file)")
        validator.check(size >= 0, "size_bytes", "must not be negative")
        validator.check(
            size <= configuration.maxFileBytes, "size_bytes",
            "is larger than the \(configuration.maxFileBytes) bytes this server accepts for one file")
        if let path {
            do { try Manifest.checkPath(path) } catch { validator.add("path", error.detail) }
        }
        try validator.finish()
        let now = nowMs
        let fresh = UploadSession(
            id: IDGenerator.uuidV7(), orgId: dataset.orgId, projectId: dataset.projectId, datasetId: dataset.id,
            sha256: sha256, sizeBytes: size, receivedBytes: 0, path: path, status: .open, error: nil,
            createdBy: principal.userId, createdMs: now, expiresMs: now + configuration.uploadLifetimeSeconds * 1_000)
        let result = try await database.transaction { sql -> UploadSession in
            var session = fresh
            if let blob = try await DatasetStore.blobs(orgId: dataset.orgId, hashes: [sha256], on: sql)[sha256] {
                guard blob.sizeBytes == size else {
                    throw AppError.badRequest("size_bytes is \(size) but content with this sha256 has \(blob.sizeBytes) bytes")
                }
                session.status = .complete
                session.receivedBytes = size
            } else if let open = try await UploadStore.openUpload(sha256: sha256, orgId: dataset.orgId, dataset: dataset.id, on: sql),
                open.sizeBytes == size
            {
                // The same content is already on its way: continue that upload (this is how a client resumes).
                return open
            } else {
                try await checkQuota(orgId: dataset.orgId, projectId: dataset.projectId, adding: size, excluding: nil, on: sql)
            }
            try await UploadStore.insert(session, on: sql)
            try await audit.record(
                on: sql, caller, orgId: dataset.orgId, action: "dataset.upload.start", targetType: "dataset_upload",
                targetId: session.id.lowercasedString, detail: "\(size) bytes, sha256 \(sha256)")
            return session
        }
        if result.status == .open, !FileManager.default.fileExists(atPath: stagingPath(result.id)) {
            guard FileManager.default.createFile(atPath: stagingPath(result.id), contents: nil) else {
                throw AppError(.internalError, "Could not create the upload file in the server's upload directory")
            }
        }
        return try await finishIfComplete(staged(result), caller: caller)
    }

    package func upload(_ id: UUID, caller: Caller) async throws -> UploadSession {
        staged(try await session(id, permission: Permission(.data, .read), caller: caller))
    }

    /// An open upload holds the bytes of its staging file, which appends continue from. A server killed during a chunk
    /// kept what had arrived there without recording it, so answers report the file (the next append records it, and
    /// a file found whole is finished by `startUpload`).
    private func staged(_ session: UploadSession) -> UploadSession {
        guard session.status == .open,
            let size = (try? FileManager.default.attributesOfItem(atPath: stagingPath(session.id)))?[.size] as? NSNumber
        else { return session }
        var staged = session
        staged.receivedBytes = size.int64Value
        return staged
    }

    /// Appends a chunk at `offset`, which must be the number of bytes received so far; when the last byte arrives
    /// the content is checked and stored. A chunk that breaks off leaves what arrived, ready to be continued.
    package func append<Body: AsyncSequence>(to id: UUID, offset: Int64, body: Body, caller: Caller) async throws -> UploadSession
    where Body.Element == ArraySlice<UInt8> {
        let session = try await session(id, permission: Permission(.data, .write), caller: caller)
        guard session.status == .open else {
            if session.status == .complete, offset == session.sizeBytes { return session }
            throw AppError.conflict(
                session.status == .complete ? "This upload is already complete" : "This upload failed: \(session.error ?? ""); start a new one")
        }
        guard await writers.acquire(id) else {
            throw AppError.conflict("Another request is writing to this upload; send the chunks one after another")
        }
        do {
            let result = try await appendLocked(session, offset: offset, body: body, caller: caller)
            await writers.release(id)
            return result
        } catch {
            await writers.release(id)
            throw error
        }
    }

    private func appendLocked<Body: AsyncSequence>(_ session: UploadSession, offset: Int64, body: Body, caller: Caller) async throws -> UploadSession
    where Body.Element == ArraySlice<UInt8> {
        var session = session
        let id = session.id
        let staging = stagingPath(id)
        guard let handle = FileHandle(forUpdatingAtPath: staging) else {
            throw AppError.conflict("This upload's bytes are gone (the server lost its upload directory); start a new upload")
        }
        defer { try? handle.close() }
        let received = Int64(try handle.seekToEnd())
        guard offset == received else {
            throw AppError.conflict("Upload-Offset is \(offset) but the server has \(received) bytes of this upload: continue from \(received)")
        }
        var written: Int64 = 0
        do {
            for try await chunk in body {
                guard received + written + Int64(chunk.count) <= session.sizeBytes else {
                    try handle.truncate(atOffset: UInt64(received))
                    throw AppError(
                        .payloadTooLarge,
                        "This chunk goes past the end of the file: the upload is \(session.sizeBytes) bytes and \(received) have arrived")
                }
                try handle.write(contentsOf: Data(chunk))
                written += Int64(chunk.count)
            }
        } catch {
            // A broken connection keeps what arrived (resumable); only our own refusal above drops the chunk.
            try? handle.synchronize()
            if let appError = error as? AppError, appError.kind == .payloadTooLarge { throw appError }
            session.receivedBytes = Int64((try? handle.seekToEnd()) ?? UInt64(received))
            let stored = session
            try? await database.transaction { sql in try await UploadStore.update(stored, on: sql) }
            throw error
        }
        session.receivedBytes = received + written
        let stored = session
        try await database.transaction { sql in try await UploadStore.update(stored, on: sql) }
        return try await finishIfComplete(session, caller: caller)
    }

    package func cancelUpload(_ id: UUID, caller: Caller) async throws {
        let session = try await session(id, permission: Permission(.data, .write), caller: caller)
        try await database.transaction { sql in
            try await UploadStore.delete(id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: session.orgId, action: "dataset.upload.cancel", targetType: "dataset_upload",
                targetId: id.lowercasedString)
        }
        try? FileManager.default.removeItem(atPath: stagingPath(id))
    }

    /// When every byte is there: hash (and profile csv/jsonl) in one pass, then store the blob, or discard it all.
    private func finishIfComplete(_ session: UploadSession, caller: Caller) async throws -> UploadSession {
        guard session.status == .open, session.receivedBytes == session.sizeBytes else { return session }
        let staging = URL(fileURLWithPath: stagingPath(session.id))
        let (digest, profile) = try Self.digestAndProfile(of: staging, path: session.path)
        var finished = session
        do {
            guard digest == session.sha256 else {
                throw AppError(
                    .validation,
                    "Checksum mismatch: the \(session.sizeBytes) bytes received have sha256 \(digest), not \(session.sha256). Nothing was stored; upload the file again."
                )
            }
            let isNew = try await database.transaction { sql -> Bool in
                if try await DatasetStore.blobs(orgId: session.orgId, hashes: [session.sha256], on: sql)[session.sha256] != nil { return false }
                try await checkQuota(orgId: session.orgId, projectId: session.projectId, adding: session.sizeBytes, excluding: session.id, on: sql)
                return true
            }
            if isNew {
                try await store.putFile(try Self.blobKey(orgId: session.orgId, sha256: session.sha256), from: staging)
                let blob = Blob(
                    orgId: session.orgId, sha256: session.sha256, projectId: session.projectId, sizeBytes: session.sizeBytes,
                    profileJSON: profile.map(Self.json), createdMs: nowMs)
                do {
                    try await database.transaction { sql in try await DatasetStore.insert(blob, on: sql) }
                } catch  where SQLErrors.isUniqueViolation(error) {} // the same content finished at the same time
            }
            finished.status = .complete
        } catch let error as AppError where error.kind == .validation || error.kind == .payloadTooLarge {
            finished.status = .failed
            finished.error = error.detail
            let failed = finished
            try? FileManager.default.removeItem(at: staging)
            try await database.transaction { sql in
                try await UploadStore.update(failed, on: sql)
                try await audit.record(
                    on: sql, caller, orgId: failed.orgId, action: "dataset.upload.reject", targetType: "dataset_upload",
                    targetId: failed.id.lowercasedString, detail: error.detail)
            }
            throw error
        }
        try? FileManager.default.removeItem(at: staging)
        let complete = finished
        try await database.transaction { sql in
            try await UploadStore.update(complete, on: sql)
            try await audit.record(
                on: sql, caller, orgId: complete.orgId, action: "dataset.upload.complete", targetType: "dataset_upload",
                targetId: complete.id.lowercasedString, detail: "sha256 \(complete.sha256)")
        }
        return complete
    }

    /// Reads the file once in 4 MiB chunks: its sha256, and its profile when the path names a csv or jsonl file.
    static func digestAndProfile(of file: URL, path: String?) throws -> (String, DataProfile?) {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw AppError(.internalError, "The upload's bytes could not be read back")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var profiler = DataProfiler.forPath(path)
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { bytes in
                hasher.update(bufferPointer: bytes)
                profiler?.feed(bytes)
            }
        }
        return (hasher.finalize().hexString, profiler?.finish())
    }

    /// Stores content made on the server (an annotation export) as a blob, like a finished upload.
    func storeBlob(_ data: Data, orgId: UUID, projectId: UUID, path: String, on sql: any SQLDatabase) async throws -> DatasetFile {
        let digest = SHA256.hash(data: data).hexString
        if try await DatasetStore.blobs(orgId: orgId, hashes: [digest], on: sql)[digest] == nil {
            try await checkQuota(orgId: orgId, projectId: projectId, adding: Int64(data.count), excluding: nil, on: sql)
            var profiler = DataProfiler.forPath(path)
            data.withUnsafeBytes { profiler?.feed($0) }
            try await store.put(try Self.blobKey(orgId: orgId, sha256: digest), data: data)
            try await DatasetStore.insert(
                Blob(
                    orgId: orgId, sha256: digest, projectId: projectId, sizeBytes: Int64(data.count),
                    profileJSON: profiler.map {
                        var finished = $0; return Self.json(finished.finish())
                    }, createdMs: nowMs),
                on: sql)
        }
        return DatasetFile(path: path, sizeBytes: Int64(data.count), sha256: digest)
    }

    /// Storage quota (`max_storage_gb` of the project's and the organization's quota): stored blobs plus uploads
    /// in progress plus this one must fit, or nothing is accepted.
    func checkQuota(orgId: UUID, projectId: UUID, adding bytes: Int64, excluding upload: UUID?, on sql: any SQLDatabase) async throws {
        guard let limits = try await configuration.storageLimitsGB?(orgId, projectId) else { return }
        for (isOrg, gigabytes) in [(true, limits.org), (false, limits.project)] {
            guard let gigabytes else { continue }
            let limit = Int64(gigabytes) * 1_000_000_000
            let project = isOrg ? nil : projectId
            let used = try await UploadStore.storedBytes(orgId: orgId, project: project, on: sql)
            let reserved = try await UploadStore.reservedBytes(orgId: orgId, project: project, excluding: upload, on: sql)
            if used + reserved + bytes > limit {
                throw AppError(
                    .payloadTooLarge,
                    "The \(isOrg ? "organization's" : "project's") storage quota is \(gigabytes) GB: \(used) bytes are stored and \(reserved) are being uploaded, so \(bytes) more do not fit. Nothing was stored. Delete datasets you no longer need or ask an admin to raise max_storage_gb."
                )
            }
        }
    }

    func session(_ id: UUID, permission: Permission, caller: Caller) async throws -> UploadSession {
        let principal = try caller.requirePrincipal()
        guard
            let session = try await database.read({ sql in try await UploadStore.upload(id, on: sql) }),
            principal.visibleOrgIds.contains(session.orgId)
        else { throw AppError.notFound("Upload") }
        try Policy.authorize(principal, permission, on: Policy.Resource(kind: "Upload", orgId: session.orgId, projectId: session.projectId))
        return session
    }

    func stagingPath(_ id: UUID) -> String {
        (configuration.uploadDirectory as NSString).appendingPathComponent("\(id.lowercasedString).part")
    }

    /// Uploads past their lifetime lose their bytes and their session (run by App's maintenance service, not on the
    /// request path).
    package func discardExpiredUploads() async throws {
        let now = nowMs
        let expired = try await database.transaction { sql in try await UploadStore.deleteExpired(before: now, on: sql) }
        for id in expired { try? FileManager.default.removeItem(atPath: stagingPath(id)) }
    }
}

/// Upload ids with a request writing to them now: one writer per upload, so two clients cannot interleave bytes.
actor UploadWriters {
    private var busy = Set<UUID>()

    func acquire(_ id: UUID) -> Bool { busy.insert(id).inserted }
    func release(_ id: UUID) { busy.remove(id) }
}
