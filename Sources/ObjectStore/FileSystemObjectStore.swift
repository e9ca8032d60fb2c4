import AITIPCore
import Foundation
import NIOCore

/// The embedded default: one file per key under a root directory. Writes go to a temporary file first and are
/// renamed into place, so a reader never sees half an object.
package struct FileSystemObjectStore: ObjectStore {
    package let root: URL

    package init(root: URL) throws {
        self.root = root.standardizedFileURL
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
    }

    package func put(_ key: ObjectKey, data: Data) async throws {
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

    package func get(_ key: ObjectKey) async throws -> Data {
        let target = url(for: key)
        guard FileManager.default.fileExists(atPath: target.path) else { throw AppError.notFound("Object '\(key)'") }
        return try Data(contentsOf: target)
    }

    package func delete(_ key: ObjectKey) async throws {
        let target = url(for: key)
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
    }

    package func exists(_ key: ObjectKey) async throws -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url(for: key).path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    package func size(_ key: ObjectKey) async throws -> Int? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url(for: key).path),
            attributes[.type] as? FileAttributeType == .typeRegular
        else { return nil }
        return (attributes[.size] as? NSNumber)?.intValue
    }

    package func list(prefix: ObjectKey?) async throws -> [ObjectKey] {
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

    package func putFile(_ key: ObjectKey, from file: URL) async throws {
        let target = url(for: key)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if rename(file.path, target.path) == 0 { return }
        guard errno == EXDEV else {
            throw AppError(.internalError, "Could not store object '\(key)': \(String(cString: strerror(errno)))")
        }
        // Another filesystem: copy beside the target, then rename into place.
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)")
        do {
            try FileManager.default.copyItem(at: file, to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        guard rename(temporary.path, target.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw AppError(.internalError, "Could not store object '\(key)': \(String(cString: strerror(errno)))")
        }
        try? FileManager.default.removeItem(at: file)
    }

    package func read(_ key: ObjectKey, range: Range<Int64>?) async throws -> ObjectStream {
        let target = url(for: key)
        guard let handle = FileHandle(forReadingAtPath: target.path) else { throw AppError.notFound("Object '\(key)'") }
        let reader = FileChunkReader(handle: handle, start: range?.lowerBound ?? 0, end: range?.upperBound)
        try reader.seekToStart()
        return ObjectStream(unfolding: { try reader.next() })
    }

    package func presignedURL(_ key: ObjectKey, method: PresignedMethod, expiresIn seconds: Int) throws -> URL? { nil }

    package func location(of key: ObjectKey) -> String { url(for: key).absoluteString }

    private func url(for key: ObjectKey) -> URL {
        root.appendingPathComponent(key.path)
    }
}

/// Reads a file in 1 MiB chunks from `start` up to `end` (or its end), closing it when done.
final class FileChunkReader: @unchecked Sendable {
    static let chunkSize = 1 << 20
    private let handle: FileHandle
    private let start: Int64
    private var remaining: Int64?
    private var closed = false

    init(handle: FileHandle, start: Int64, end: Int64?) {
        self.handle = handle
        self.start = start
        self.remaining = end.map { max(0, $0 - start) }
    }

    func seekToStart() throws {
        do { try handle.seek(toOffset: UInt64(max(0, start))) } catch { close(); throw error }
    }

    func next() throws -> ByteBuffer? {
        guard !closed else { return nil }
        let wanted = remaining.map { Int(min(Int64(Self.chunkSize), $0)) } ?? Self.chunkSize
        let data: Data
        do { data = wanted > 0 ? try handle.read(upToCount: wanted) ?? Data() : Data() } catch { close(); throw error }
        guard !data.isEmpty else { close(); return nil }
        if let left = remaining { remaining = left - Int64(data.count) }
        return ByteBuffer(bytes: data)
    }

    private func close() {
        closed = true
        try? handle.close()
    }

    deinit { if !closed { try? handle.close() } }
}
