import AITIPCore
import Foundation

/// Blobs (datasets, artifacts, checkpoints, logs) by key. Keys are relative, '/'-separated paths; no empty
/// segment, no '.' or '..', no leading '/', so a key can never address anything outside the store.
public protocol ObjectStore: Sendable {
    func put(_ key: ObjectKey, data: Data) async throws
    func get(_ key: ObjectKey) async throws -> Data
    func delete(_ key: ObjectKey) async throws
    func exists(_ key: ObjectKey) async throws -> Bool
    /// The object's size in bytes, nil when there is none.
    func size(_ key: ObjectKey) async throws -> Int?
    /// Keys under `prefix`, sorted.
    func list(prefix: ObjectKey?) async throws -> [ObjectKey]
}

public struct ObjectKey: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let path: String

    public init(_ path: String) throws(AppError) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= 1_024, !path.hasPrefix("/"),
              segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
              !path.contains("\0"), !path.contains("\\") else {
            throw AppError.badRequest("'\(path.prefix(100))' is not a valid object key: use a relative path without '.', '..' or empty segments")
        }
        self.path = path
    }

    public var description: String { path }
    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool { lhs.path < rhs.path }
}
