import AITIPCore
import Foundation

/// The embedded default: one file per key under a root directory. Writes go to a temporary file first and are
/// renamed into place, so a reader never sees half an object.
public struct FileSystemObjectStore: ObjectStore {
    public let root: URL

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
    }

    public func put(_ key: ObjectKey, data: Data) async throws {
        let target = url(for: key)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        try data.write(to: temporary)
        // rename(2) replaces the target atomically within one filesystem.
        guard rename(temporary.path, target.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw AppError(.internalError, "Could not store object '\(key)': \(String(cString: strerror(code)))")
        }
    }

    public func get(_ key: ObjectKey) async throws -> Data {
        let target = url(for: key)
        guard FileManager.default.fileExists(atPath: target.path) else { throw AppError.notFound("Object '\(key)'") }
        return try Data(contentsOf: target)
    }

    public func delete(_ key: ObjectKey) async throws {
        let target = url(for: key)
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
    }

    public func exists(_ key: ObjectKey) async throws -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url(for: key).path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    public func size(_ key: ObjectKey) async throws -> Int? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url(for: key).path),
              attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
        return (attributes[.size] as? NSNumber)?.intValue
    }

    public func list(prefix: ObjectKey?) async throws -> [ObjectKey] {
        let base = prefix.map { url(for: $0) } ?? root
        guard let enumerator = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        var keys: [ObjectKey] = []
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let file as URL in enumerator {
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let path = file.standardizedFileURL.path
            guard path.hasPrefix(rootPath), !file.lastPathComponent.hasPrefix(".tmp-") else { continue }
            if let key = try? ObjectKey(String(path.dropFirst(rootPath.count))) { keys.append(key) }
        }
        return keys.sorted()
    }

    private func url(for key: ObjectKey) -> URL {
        root.appendingPathComponent(key.path)
    }
}
