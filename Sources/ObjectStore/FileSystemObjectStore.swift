import AITIPCore
import Foundation
import NIOCore

/// The embedded default: one file per key under a root directory. Writes go to a temporary file first and are
/// renamed into place, so a reader never sees half an object. Parts of multipart uploads wait beside the root
/// (`<root>.multipart/<upload>/<number>`), outside every key's reach, until they are joined.
package struct FileSystemObjectStore: ObjectStore {
    package let root: URL
    let multipartRoot: URL

    package init(root: URL) throws {
        self.root = root.standardizedFileURL
        multipartRoot = self.root.deletingLastPathComponent().appendingPathComponent(self.root.lastPathComponent + ".multipart")
        try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
    }

    package func put(_ key: ObjectKey, data: Data) async throws {
        let (target, temporary) = try placeFor(key)
        try data.write(to: temporary)
        try Self.moveIntoPlace(temporary, target, key: key)
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
        let (target, temporary) = try placeFor(key)
        if rename(file.path, target.path) == 0 { return }
        guard errno == EXDEV else {
            throw AppError(.internalError, "Could not store object '\(key)': \(String(cString: strerror(errno)))")
        }
        // Another filesystem: copy beside the target, then rename into place.
        do {
            try FileManager.default.copyItem(at: file, to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        try Self.moveIntoPlace(temporary, target, key: key)
        try? FileManager.default.removeItem(at: file)
    }

    package func putStream(_ key: ObjectKey, body: ObjectStream) async throws {
        let (target, temporary) = try placeFor(key)
        _ = try await Self.write(body, to: temporary)
        try Self.moveIntoPlace(temporary, target, key: key)
    }

    package func startMultipart(_ key: ObjectKey) async throws -> String {
        let id = UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(at: multipartRoot.appendingPathComponent(id), withIntermediateDirectories: true)
        return id
    }

    package func putPart(_ key: ObjectKey, uploadId: String, number: Int, body: ObjectStream, length: Int64) async throws -> String {
        let directory = try partsDirectory(uploadId)
        let temporary = directory.appendingPathComponent(".tmp-\(UUID().uuidString)")
        let written = try await Self.write(body, to: temporary)
        guard written == length else {
            try? FileManager.default.removeItem(at: temporary)
            throw AppError.badRequest("Part \(number) has \(written) bytes, not the \(length) announced")
        }
        try Self.moveIntoPlace(temporary, directory.appendingPathComponent(String(number)), key: key)
        return "\"\(number)-\(length)\""
    }

    package func completeMultipart(_ key: ObjectKey, uploadId: String, parts: [UploadedPart]) async throws {
        let directory = try partsDirectory(uploadId)
        let (target, temporary) = try placeFor(key)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil), let output = FileHandle(forWritingAtPath: temporary.path) else {
            throw AppError(.internalError, "Could not create '\(key)' in the object store")
        }
        do {
            defer { try? output.close() }
            for part in parts {
                let file = directory.appendingPathComponent(String(part.number))
                let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.int64Value
                guard let size, part.etag == "\"\(part.number)-\(size)\"" else {
                    throw AppError.badRequest("Part \(part.number) of this upload was not received (or has changed since)")
                }
                try Self.append(file, to: output)
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        try Self.moveIntoPlace(temporary, target, key: key)
        try? FileManager.default.removeItem(at: directory)
    }

    package func abortMultipart(_ key: ObjectKey, uploadId: String) async throws {
        try? FileManager.default.removeItem(at: try partsDirectory(uploadId))
    }

    /// An upload's part directory; the id must be one `startMultipart` made (a UUID), so it names nothing else.
    private func partsDirectory(_ uploadId: String) throws -> URL {
        guard UUID(uuidString: uploadId) != nil else { throw AppError.notFound("Multipart upload '\(uploadId.prefix(64))'") }
        let directory = multipartRoot.appendingPathComponent(uploadId.lowercased())
        guard FileManager.default.fileExists(atPath: directory.path) else { throw AppError.notFound("Multipart upload '\(uploadId)'") }
        return directory
    }

    /// Writes every chunk of `body` to a new file; on failure the file is removed. Returns the bytes written.
    private static func write(_ body: ObjectStream, to file: URL) async throws -> Int64 {
        guard FileManager.default.createFile(atPath: file.path, contents: nil), let handle = FileHandle(forWritingAtPath: file.path) else {
            throw AppError(.internalError, "Could not create a file in the object store")
        }
        var written: Int64 = 0
        do {
            defer { try? handle.close() }
            for try await chunk in body {
                try chunk.withUnsafeReadableBytes { try handle.write(contentsOf: $0) }
                written += Int64(chunk.readableBytes)
            }
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
        return written
    }

    /// Appends a whole file in the kernel (sendfile(2) between files), without passing the bytes through this process.
    private static func append(_ file: URL, to output: FileHandle) throws {
        guard let input = FileHandle(forReadingAtPath: file.path) else { throw AppError(.internalError, "Cannot read a stored part") }
        defer { try? input.close() }
        while true {
            let copied = sendfile(output.fileDescriptor, input.fileDescriptor, nil, 1 << 30)
            if copied == 0 { return }
            guard copied > 0 else {
                throw AppError(.internalError, "Could not join the parts of an upload: \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func moveIntoPlace(_ temporary: URL, _ target: URL, key: ObjectKey) throws {
        // rename(2) replaces the target atomically within one filesystem.
        guard rename(temporary.path, target.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw AppError(.internalError, "Could not store object '\(key)': \(String(cString: strerror(code)))")
        }
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

    /// Where `key`'s file goes (its directory made) and a temporary file beside it to write first.
    private func placeFor(_ key: ObjectKey) throws -> (target: URL, temporary: URL) {
        let target = url(for: key)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        return (target, target.deletingLastPathComponent().appendingPathComponent(".tmp-\(UUID().uuidString)"))
    }

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
