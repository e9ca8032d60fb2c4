import AITIPCore
import Foundation
import NIOCore

/// Blobs (datasets, artifacts, checkpoints, logs) by key. Keys are relative, '/'-separated paths; no empty
/// segment, no '.' or '..', no leading '/', so a key can never address anything outside the store.
package protocol ObjectStore: Sendable {
    func put(_ key: ObjectKey, data: Data) async throws
    func get(_ key: ObjectKey) async throws -> Data
    func delete(_ key: ObjectKey) async throws
    func exists(_ key: ObjectKey) async throws -> Bool
    /// The object's size in bytes, nil when there is none.
    func size(_ key: ObjectKey) async throws -> Int?
    /// Keys under `prefix`, sorted.
    func list(prefix: ObjectKey?) async throws -> [ObjectKey]
    /// Stores a local file without holding it in memory (S3: multipart above the part size). The file may be
    /// moved into the store: the caller must not use it afterwards.
    func putFile(_ key: ObjectKey, from file: URL) async throws
    /// Stores the bytes of `body` as they arrive, with memory bounded whatever their number (local disk: a temporary
    /// file renamed into place; S3: one request, or parts of the part size). On any error nothing is stored.
    func putStream(_ key: ObjectKey, body: ObjectStream) async throws
    /// Starts a multipart upload: parts are sent separately, in any order and at once, and appear as one object only
    /// when `completeMultipart` assembles them. Returns the store's id of the upload.
    func startMultipart(_ key: ObjectKey) async throws -> String
    /// Stores part `number` (1-based) of exactly `length` bytes; sending a number again replaces that part. Returns
    /// the part's entity tag, which `completeMultipart` needs.
    func putPart(_ key: ObjectKey, uploadId: String, number: Int, body: ObjectStream, length: Int64) async throws -> String
    /// Joins `parts` (ascending numbers, as `putPart` answered them) into the object, atomically.
    func completeMultipart(_ key: ObjectKey, uploadId: String, parts: [UploadedPart]) async throws
    /// Discards an unfinished multipart upload and its parts; an unknown id is not an error.
    func abortMultipart(_ key: ObjectKey, uploadId: String) async throws
    /// The object's bytes, or those in `range`, as chunks read while the consumer asks for them.
    func read(_ key: ObjectKey, range: Range<Int64>?) async throws -> ObjectStream
    /// A URL that lets whoever holds it GET or PUT the object until it expires; nil where the store has none
    /// (local disk: the server itself serves the bytes).
    func presignedURL(_ key: ObjectKey, method: PresignedMethod, expiresIn seconds: Int) throws -> URL?
    /// Where the object lives, for people and for the design's `storage_path` columns (`s3://bucket/key`).
    func location(of key: ObjectKey) -> String
}

package struct UploadedPart: Sendable, Equatable {
    package var number: Int
    package var etag: String

    package init(number: Int, etag: String) {
        self.number = number
        self.etag = etag
    }
}

package enum PresignedMethod: String, Sendable {
    case get = "GET", put = "PUT"
}

/// Chunks of an object, pulled one at a time (backpressure: nothing is read ahead of the consumer).
package typealias ObjectStream = AsyncThrowingStream<ByteBuffer, any Error>

extension ObjectStream {
    /// The chunks of any byte sequence (a request body, an HTTP client's response), pulled as the consumer asks.
    package static func pulling<Source: AsyncSequence & Sendable>(_ source: Source) -> ObjectStream where Source.Element == ByteBuffer {
        let iterator = IteratorBox(source.makeAsyncIterator())
        return ObjectStream(unfolding: { try await iterator.next() })
    }

    /// The same chunks, each shown to `check` before it passes on; a chunk `check` throws for ends the stream.
    package func inspecting(_ check: @escaping @Sendable (ByteBuffer) throws -> Void) -> ObjectStream {
        let iterator = IteratorBox(makeAsyncIterator())
        return ObjectStream(unfolding: {
            guard let chunk = try await iterator.next() else { return nil }
            try check(chunk)
            return chunk
        })
    }
}

/// Holds a non-Sendable async iterator for `AsyncThrowingStream(unfolding:)`, which calls it from one task at a time.
final class IteratorBox<Base: AsyncIteratorProtocol>: @unchecked Sendable where Base.Element == ByteBuffer {
    var base: Base
    init(_ base: Base) { self.base = base }
    func next() async throws -> ByteBuffer? { try await base.next() }
}

package struct ObjectKey: Hashable, Sendable, CustomStringConvertible, Comparable {
    package let path: String

    package init(_ path: String) throws(AppError) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= 1_024, !path.hasPrefix("/"),
            segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
            !path.contains("\0"), !path.contains("\\")
        else {
            throw AppError.badRequest("'\(path.prefix(100))' is not a valid object key: use a relative path without '.', '..' or empty segments")
        }
        self.path = path
    }

    package var description: String { path }
    package static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool { lhs.path < rhs.path }
}
