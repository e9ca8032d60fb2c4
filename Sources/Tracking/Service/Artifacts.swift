import AITIPCore
import Foundation
import Identity
import ObjectStore
import SQLKit
import Storage

/// A path inside the artifact store, `<experiment>/<run>/artifacts/<file>` or `<experiment>/models/<model>/artifacts/<file>`
/// (what `mlflow-artifacts:/…` URIs name). Parsing it is also the traversal check: no `..`, no absolute paths, and the
/// owner (run or logged model) must exist in the experiment it claims.
package struct ArtifactLocation: Sendable, Equatable {
    package enum Owner: Sendable, Equatable {
        case run(UUID)
        case loggedModel(String)
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

/// Artifact files of runs and logged models, in the object store, authorized through their experiment.
package struct ArtifactService: Sendable {
    let database: Database
    let store: any ObjectStore
    let audit: AuditLog

    package init(database: Database, store: any ObjectStore, audit: AuditLog) {
        self.database = database
        self.store = store
        self.audit = audit
    }

    /// Checks the caller's right on the experiment and that the run or model belongs to it; returns the org for auditing.
    private func authorize(_ location: ArtifactLocation, _ permission: Permission, caller: Caller) async throws -> UUID {
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
            case nil:
                break
            }
            return experiment.orgId
        }
    }

    /// Stores a file; `read` reads the request's body, and is called only once the caller may write there.
    package func upload(_ location: ArtifactLocation, caller: Caller, read: () async throws -> Data) async throws {
        guard location.owner != nil, !location.relativePath.isEmpty, let key = location.key else {
            throw AppError.badRequest("An artifact upload names a file under <experiment>/<run>/artifacts/")
        }
        let orgId = try await authorize(location, .experimentsWrite, caller: caller)
        let data = try await read()
        try await store.put(key, data: data)
        try await database.transaction { sql in
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "artifact.upload", targetType: "artifact", targetId: key.path,
                detail: "\(data.count) bytes")
        }
    }

    package func download(_ location: ArtifactLocation, caller: Caller) async throws -> Data {
        guard let key = location.key else { throw AppError.notFound("Artifact") }
        _ = try await authorize(location, .experimentsRead, caller: caller)
        guard try await store.exists(key) else { throw AppError(.notFound, "File '\(location.relativePath)' not found") }
        return try await store.get(key)
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
