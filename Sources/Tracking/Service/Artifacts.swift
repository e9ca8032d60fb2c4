import AITIPCore
import Foundation
import Identity
import NIOCore
import ObjectStore
import SQLKit
import Storage
import Synchronization

/// A path inside the artifact store, `<experiment>/<run>/artifacts/<file>`, `<experiment>/models/<model>/artifacts/<file>`
/// or `<experiment>/traces/<trace>/artifacts/<file>` (what `mlflow-artifacts:/…` URIs name). Parsing it is also the traversal check: no `..`, no absolute paths, and the
/// owner (run or logged model) must exist in the experiment it claims.
package struct ArtifactLocation: Sendable, Equatable {
    package enum Owner: Sendable, Equatable {
        case run(UUID)
        case loggedModel(String)
        case trace(String)
    }

    package var experimentId: UUID
    package var owner: Owner?
    /// The rest of the path under the owner's `artifacts/` directory ("" for the root).
    package var relativePath: String
    package var key: ObjectKey?

    package init(uri: String) throws(AppError) {
        guard uri.hasPrefix("mlflow-artifacts:/") else { throw AppError.badRequest("'\(uri.prefix(100))' is not an mlflow-artifacts: URI") }
        try self.init(path: String(uri.dropFirst("mlflow-artifacts:".count)))
    }

    package init(path rawPath: String) throws(AppError) {
        let decoded = rawPath.removingPercentEncoding ?? rawPath
        var path = decoded.hasPrefix("/") ? String(decoded.dropFirst()) : decoded
        while path.hasSuffix("/") { path.removeLast() }
        // An empty segment is an absolute path glued on ("…/artifacts//etc/passwd" once %2F is decoded).
        if path.hasPrefix("/") || path.contains("//") || decoded.contains("\\") || decoded.contains("\0") {
            throw AppError.badRequest("Invalid artifact path '\(decoded.prefix(200))': absolute paths are not allowed")
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments.contains("..") || segments.contains(".") {
            throw AppError.badRequest("Invalid artifact path '\(decoded.prefix(200))': '..' and '.' segments are not allowed")
        }
        guard let first = segments.first, let experimentId = UUID(uuidString: first) else {
            throw AppError.badRequest("Invalid artifact path '\(decoded.prefix(200))': it must start with an experiment id")
        }
        self.experimentId = experimentId
        var rest = segments.dropFirst()
        if rest.first == "models", rest.count >= 2 {
            owner = .loggedModel(rest[rest.startIndex + 1])
            rest = rest.dropFirst(2)
        } else if rest.first == "traces", rest.count >= 2 {
            owner = .trace(rest[rest.startIndex + 1])
            rest = rest.dropFirst(2)
        } else if let runText = rest.first {
            guard let runId = UUID(uuidString: runText) else {
                throw AppError.badRequest("Invalid artifact path '\(decoded.prefix(200))': '\(runText)' is not a run id")
            }
            owner = .run(runId)
            rest = rest.dropFirst()
        } else {
            owner = nil
        }
        if let next = rest.first {
            guard next == "artifacts" else {
                throw AppError.badRequest("Invalid artifact path '\(decoded.prefix(200))': expected 'artifacts' after the run or model id")
            }
            rest = rest.dropFirst()
        }
        relativePath = rest.joined(separator: "/")
        key = try ObjectKey((["mlflow", experimentId.lowercasedString] + segments.dropFirst()).joined(separator: "/"))
    }
}

package struct ArtifactEntry: Sendable, Equatable {
    package var name: String
    package var isDirectory: Bool
    package var size: Int?
}

/// A file on its way out: its size (for Content-Length) and its bytes, read as the client takes them.
package struct ArtifactDownload: Sendable {
    package var size: Int64
    package var body: ObjectStream
}

/// Artifact files of runs and logged models, in the object store, authorized through their experiment. Files of any
/// size stream through: in one request, or in parts (`+Multipart`), never whole in memory.
package struct ArtifactService: Sendable {
    package struct Configuration: Sendable {
        /// The largest file one upload may store (max_artifact_bytes).
        package var maxFileBytes: Int64
        /// How long a multipart upload may take before the maintenance sweep discards its parts.
        package var uploadLifetimeSeconds: Int64

        package init(maxFileBytes: Int64 = 1 << 40, uploadLifetimeSeconds: Int64 = 86_400) {
            self.maxFileBytes = maxFileBytes
            self.uploadLifetimeSeconds = uploadLifetimeSeconds
        }
    }

    let database: Database
    let store: any ObjectStore
    let audit: AuditLog
    let clock: any Clock
    package let configuration: Configuration

    package init(database: Database, store: any ObjectStore, audit: AuditLog, clock: any Clock, configuration: Configuration = .init()) {
        self.database = database
        self.store = store
        self.audit = audit
        self.clock = clock
        self.configuration = configuration
    }

    /// Checks the caller's right on the experiment and that the run or model belongs to it; returns the org for auditing.
    func authorize(_ location: ArtifactLocation, _ permission: Permission, caller: Caller) async throws -> UUID {
        let principal = try caller.requirePrincipal()
        return try await database.read { sql in
            guard let experiment = try await TrackingStore.experiment(location.experimentId, on: sql) else {
                throw AppError(.notFound, "Experiment '\(location.experimentId.lowercasedString)' not found")
            }
            try Policy.authorize(principal, permission, on: experiment.policyResource)
            switch location.owner {
            case .run(let id)?:
                guard let run = try await TrackingStore.run(id, on: sql), run.experimentId == experiment.id else {
                    throw AppError(.notFound, "Run with id=\(id.lowercasedString) not found in this experiment")
                }
            case .loggedModel(let id)?:
                guard
                    try await sql.select().column("id").from("logged_models").where("id", .equal, id)
                        .where("experiment_id", .equal, experiment.id).first() != nil
                else {
                    throw AppError(.notFound, "Logged model '\(id)' not found in this experiment")
                }
            case .trace(let id)?:
                guard
                    try await sql.select().column("id").from("traces").where("id", .equal, id)
                        .where("experiment_id", .equal, experiment.id).first() != nil
                else {
                    throw AppError(.notFound, "Trace '\(id)' not found in this experiment")
                }
            case nil:
                break
            }
            return experiment.orgId
        }
    }

    /// The object key of a file under a run's or logged model's artifacts (not a directory of them).
    static func fileKey(_ location: ArtifactLocation, doing what: String) throws(AppError) -> ObjectKey {
        guard location.owner != nil, !location.relativePath.isEmpty, let key = location.key else {
            throw AppError.badRequest("An artifact \(what) names a file under <experiment>/<run>/artifacts/")
        }
        return key
    }

    /// Stores a file from `body` once the caller may write there; `declaredLength` (Content-Length) is checked
    /// before any byte is read, and the bytes that arrive are counted against the limit as they come.
    package func upload(_ location: ArtifactLocation, caller: Caller, declaredLength: Int64?, body: ObjectStream) async throws {
        let key = try Self.fileKey(location, doing: "upload")
        let orgId = try await authorize(location, .experimentsWrite, caller: caller)
        try checkSize(declaredLength ?? 0)
        let received = ByteCount()
        try await store.putStream(key, body: limited(body, count: received))
        try await database.transaction { sql in
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "artifact.upload", targetType: "artifact", targetId: key.path,
                detail: "\(received.value) bytes")
        }
    }

    func checkSize(_ bytes: Int64) throws(AppError) {
        guard bytes <= configuration.maxFileBytes else {
            throw AppError(
                .payloadTooLarge,
                "The file is larger than the \(configuration.maxFileBytes) bytes this server accepts for one artifact (AITIP_MAX_ARTIFACT_BYTES)")
        }
    }

    /// `body`'s chunks, failing once more than max_artifact_bytes have passed; `count` is the number that did.
    func limited(_ body: ObjectStream, count: ByteCount) -> ObjectStream {
        let service = self
        return body.inspecting { chunk in try service.checkSize(count.add(Int64(chunk.readableBytes))) }
    }

    package func download(_ location: ArtifactLocation, caller: Caller) async throws -> ArtifactDownload {
        guard let key = location.key else { throw AppError.notFound("Artifact") }
        _ = try await authorize(location, .experimentsRead, caller: caller)
        guard let size = try await store.size(key) else { throw AppError(.notFound, "File '\(location.relativePath)' not found") }
        return ArtifactDownload(size: Int64(size), body: try await store.read(key, range: nil))
    }

    /// One directory level. A file or a missing directory lists as empty (the MLflow client relies on that).
    package func list(_ location: ArtifactLocation, caller: Caller) async throws -> [ArtifactEntry] {
        guard let key = location.key else { return [] }
        _ = try await authorize(location, .experimentsRead, caller: caller)
        if try await store.exists(key) { return [] }
        let prefix = key.path + "/"
        var entries: [String: ArtifactEntry] = [:]
        for child in try await store.list(prefix: key) where child.path.hasPrefix(prefix) {
            let rest = child.path.dropFirst(prefix.count)
            if let slash = rest.firstIndex(of: "/") {
                let name = String(rest[..<slash])
                entries[name] = ArtifactEntry(name: name, isDirectory: true, size: nil)
            } else {
                let size = try await store.size(child)
                entries[String(rest)] = ArtifactEntry(name: String(rest), isDirectory: false, size: size)
            }
        }
        return entries.values.sorted { $0.name < $1.name }
    }

    package func delete(_ location: ArtifactLocation, caller: Caller) async throws {
        guard location.owner != nil, let key = location.key else {
            throw AppError.badRequest("An artifact deletion names a file or directory under <experiment>/<run>/artifacts/")
        }
        let orgId = try await authorize(location, .experimentsDelete, caller: caller)
        if try await store.exists(key) {
            try await store.delete(key)
        } else {
            for child in try await store.list(prefix: key) where child.path.hasPrefix(key.path + "/") { try await store.delete(child) }
        }
        try await database.transaction { sql in
            try await audit.record(on: sql, caller, orgId: orgId, action: "artifact.delete", targetType: "artifact", targetId: key.path)
        }
    }
}

/// Bytes counted as they pass, read once they have.
final class ByteCount: Sendable {
    private let total = Mutex<Int64>(0)

    /// Adds `bytes` and returns the new total.
    func add(_ bytes: Int64) -> Int64 {
        total.withLock {
            $0 += bytes; return $0
        }
    }
    var value: Int64 { total.withLock { $0 } }
}
