import AITIPCore
import Crypto
import Foundation
import Identity
import ObjectStore

/// Code packages: gzip-compressed tars, stored per organization by their SHA-256 and unpacked into a workload's
/// workspace before its command runs. They come from an upload, or are packed here from files already in the object
/// store (a model's artifacts for the `mlflow` inference runtime).
extension WorkloadService {
    package struct CodeArchive: Sendable {
        package var sha256: String
        package var sizeBytes: Int
    }

    /// Stores a gzip-compressed tar by its SHA-256 (the same code uploaded twice is stored once). `read` reads the
    /// request's body, at most the byte count it is given (the limit is enforced here, and only here); it is called
    /// once the caller may write in the project.
    package func uploadCode(in scope: ProjectScope, caller: Caller, read: (_ atMost: Int) async throws -> Data) async throws -> CodeArchive {
        let data = try await read(configuration.maxCodeBytes + 1)
        guard data.count <= configuration.maxCodeBytes else {
            throw AppError(
                .payloadTooLarge,
                "The code package is larger than \(configuration.maxCodeBytes) bytes (max_code_bytes). Leave data and checkpoints out of it.")
        }
        guard data.count >= 18, data[data.startIndex] == 0x1f, data[data.startIndex + 1] == 0x8b else {
            throw AppError.badRequest("The code package must be a gzip-compressed tar archive (.tar.gz)")
        }
        let archive = try await store(data, org: scope.orgId)
        try await database.transaction { sql in
            try await audit.record(
                on: sql, caller, orgId: scope.orgId, action: "code.upload", targetType: "code", targetId: archive.sha256,
                detail: "\(data.count) bytes")
        }
        return archive
    }

    /// A code package holding, for each `(prefix, folder)`, the stored files under `prefix` in the folder `folder`;
    /// each of `objects` at its `target` path; an uploaded code package of the organization (by its sha256), whole,
    /// as the file `codePackageFile` (the job unpacks it itself, inside its sandbox, so that a hostile archive never
    /// touches the server's disk); and `extra` files (name → content) at its top. `check` sees each folder's file
    /// paths (relative to its prefix) before any is read, and may refuse them. Their total size counts against
    /// max_code_bytes. The tar is reproducible (sorted, no times or owners), so the same files pack to the same digest
    /// and are stored once.
    package func packCode(
        objectsUnder sources: [(prefix: ObjectKey, folder: String)], objects: [(key: ObjectKey, target: String)] = [],
        includingCode codePackage: String? = nil, extra: [String: Data], org: UUID,
        check: (_ folder: String, _ files: [String]) throws -> Void = { _, _ in }
    ) async throws -> CodeArchive {
        var entries = objects
        for target in objects.map(\.target) where target.hasPrefix("/") || target.split(separator: "/").contains("..") {
            throw AppError(.internalError, "a packed file's path leaves the package: \(target)")
        }
        for (prefix, folder) in sources {
            let keys = try await self.objects.list(prefix: prefix).filter { $0.path.hasPrefix(prefix.path + "/") }
            let relative = keys.map { String($0.path.dropFirst(prefix.path.count + 1)) }
            try check(folder, relative)
            entries += zip(keys, relative).map { ($0, "\(folder)/\($1)") }
        }
        if let codePackage {
            entries.append((try await requireCodeArchive(codePackage, org: org), Self.codePackageFile))
        }
        var total = extra.values.reduce(0) { $0 + $1.count }
        for entry in entries { total += try await self.objects.size(entry.key) ?? 0 }
        guard total <= configuration.maxCodeBytes else {
            throw AppError(
                .payloadTooLarge,
                "These files take \(total) bytes, more than a code package holds (max_code_bytes = \(configuration.maxCodeBytes))")
        }
        let files = FileManager.default
        let scratch = files.temporaryDirectory.appendingPathComponent("aitip-pack-\(UUID().uuidString)")
        defer { try? files.removeItem(at: scratch) }
        let tree = scratch.appendingPathComponent("tree")
        for entry in entries {
            let target = tree.appendingPathComponent(entry.target)
            let body = try await self.objects.get(entry.key)
            do {
                try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try body.write(to: target)
            } catch {
                throw AppError.badRequest("\(entry.target) cannot be packed beside the other files: a file and a folder have the same name")
            }
        }
        try files.createDirectory(at: tree, withIntermediateDirectories: true)
        for (name, content) in extra { try content.write(to: tree.appendingPathComponent(name)) }
        let output = scratch.appendingPathComponent("code.tar.gz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = [
            "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--use-compress-program=gzip -n", "-cf", output.path,
            "-C", tree.path, ".",
        ]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw AppError(.internalError, "tar could not pack the files of a code package") }
        return try await store(try Data(contentsOf: output), org: org)
    }

    /// The key of an uploaded code package of the organization; 400 when it has none with that digest.
    @discardableResult
    package func requireCodeArchive(_ sha256: String, org: UUID) async throws -> ObjectKey {
        let key = try Self.codeKey(sha256, org: org)
        guard try await objects.size(key) != nil else {
            throw AppError.badRequest("No uploaded code archive has sha256 \(sha256): upload it first (POST /api/v1/training/code)")
        }
        return key
    }

    private func store(_ data: Data, org: UUID) async throws -> CodeArchive {
        let digest = SHA256.hash(data: data).hexString
        let key = try Self.codeKey(digest, org: org)
        if try await objects.size(key) == nil { try await objects.put(key, data: data) }
        return CodeArchive(sha256: digest, sizeBytes: data.count)
    }

    /// The name an uploaded code package has inside a package packed around it (`packCode(includingCode:)`).
    package static let codePackageFile = ".aitip-code.tar.gz"

    /// Code is stored per organization: a digest names an archive only inside the organization that uploaded it,
    /// so knowing another tenant's digest (it is in their job answers) does not let anyone run or read their code.
    static func codeKey(_ sha256: String, org: UUID) throws -> ObjectKey {
        try ObjectKey("code/\(org.lowercasedString)/\(sha256.lowercased()).tar.gz")
    }

    /// Where code uploaded before archives were kept per organization lies; read only for workloads queued then.
    static func legacyCodeKey(_ sha256: String) throws -> ObjectKey { try ObjectKey("code/\(sha256.lowercased()).tar.gz") }
}

extension WorkloadService {
    /// A program's name or absolute path (an interpreter a runtime runs), nothing a shell would read otherwise.
    package static func isPlainProgram(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 300
            && text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "/._+-".unicodeScalars.contains($0) }
    }
}
