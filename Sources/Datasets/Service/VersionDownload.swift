import AITIPCore
import Crypto
import Foundation
import NIOCore
import ObjectStore

/// One file, or a whole version as a tar, read from the object store while the client receives it. Every file's
/// bytes are hashed on the way out: a body that does not match its manifest sha256 ends the response with an
/// error instead of being delivered as if it were good.
package struct VersionDownload: Sendable {
    package let dataset: Dataset
    package let version: DatasetVersion
    package let files: [DatasetFile]
    let store: any ObjectStore
    /// One file as itself (not a tar).
    package let single: Bool

    package var contentLength: Int64 { single ? files[0].sizeBytes : TarFormat.length(of: files) }

    package func chunks() -> AsyncThrowingStream<ArraySlice<UInt8>, any Error> {
        let reader = DownloadReader(files: files, orgId: dataset.orgId, store: store, tar: !single, modified: version.createdMs / 1_000)
        return AsyncThrowingStream(unfolding: { try await reader.next() })
    }
}

/// Pulled by one consumer at a time (`AsyncThrowingStream(unfolding:)`), hence unchecked.
final class DownloadReader: @unchecked Sendable {
    private enum Phase { case header, data, padding, done }
    private let files: [DatasetFile]
    private let orgId: UUID
    private let store: any ObjectStore
    private let tar: Bool
    private let modified: Int64
    private var index = 0
    private var phase = Phase.header
    private var body: ObjectStream.AsyncIterator?
    private var hasher = SHA256()
    private var received: Int64 = 0

    init(files: [DatasetFile], orgId: UUID, store: any ObjectStore, tar: Bool, modified: Int64) {
        self.files = files
        self.orgId = orgId
        self.store = store
        self.tar = tar
        self.modified = modified
    }

    func next() async throws -> ArraySlice<UInt8>? {
        while true {
            switch phase {
            case .done:
                return nil
            case .header:
                guard index < files.count else {
                    phase = .done
                    return tar ? TarFormat.end[...] : nil
                }
                let file = files[index]
                body = try await store.read(try DatasetService.blobKey(orgId: orgId, sha256: file.sha256), range: nil).makeAsyncIterator()
                hasher = SHA256()
                received = 0
                phase = .data
                if tar { return TarFormat.headers(for: file.path, size: file.sizeBytes, modified: modified)[...] }
            case .data:
                let file = files[index]
                if let chunk = try await body?.next() {
                    received += Int64(chunk.readableBytes)
                    guard received <= file.sizeBytes else { throw corrupt(file, "is longer than its manifest says") }
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    return ArraySlice(chunk.readableBytesView)
                }
                body = nil
                guard received == file.sizeBytes else { throw corrupt(file, "is shorter than its manifest says") }
                guard hasher.finalize().hexString == file.sha256 else { throw corrupt(file, "does not match its sha256") }
                phase = .padding
            case .padding:
                let size = files[index].sizeBytes
                index += 1
                phase = .header
                let padding = TarFormat.padding(after: size)
                if tar, padding > 0 { return ArraySlice(repeating: 0, count: padding) }
            }
        }
    }

    private func corrupt(_ file: DatasetFile, _ problem: String) -> AppError {
        AppError(
            .internalError, "The stored content of '\(file.path)' \(problem); the download was stopped. Ask an operator to check the object store.")
    }
}
