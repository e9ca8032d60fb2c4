import AITIPCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway's way to one replica: its Unix socket, opened so that the replica cannot redirect it, and an HTTP
/// client of its own (so a removed replica's kept-alive connections go with it), with the count of requests it is
/// answering now (least-outstanding balancing and draining read it).
///
/// The socket lives in the replica's writable workspace, so the replica could put a symbolic link there pointing to
/// any socket of the host (a database, a container engine) and have the gateway forward callers' requests to it. The
/// path is therefore opened with `O_PATH | O_NOFOLLOW`, must be a socket (a link is refused), and is then connected to
/// through `/proc/self/fd/N`: the inode checked is the inode connected to. That path is also short, where the real one
/// might exceed the 108 bytes a socket address holds.
final class ReplicaConnection: Sendable {
    let replica: TrafficSplit.Replica
    let client: HTTPClient
    private let descriptor: Int32
    private let inFlight = Atomic<Int>(0)
    /// Linux's O_PATH (the same value on x86-64 and arm64), which Glibc's module map leaves out (it is _GNU_SOURCE).
    static let openPath: Int32 = 0o10_000_000

    init(_ replica: TrafficSplit.Replica, timeouts: Gateway.Configuration) throws(AppError) {
        let descriptor = open(replica.socketPath, Self.openPath | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw AppError(.unavailable, "the replica's socket is not there (yet)") }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else {
            close(descriptor)
            throw AppError(.unavailable, "the replica's socket path is not a socket; refused")
        }
        self.replica = replica
        self.descriptor = descriptor
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeouts.connectTimeout, read: timeouts.readTimeout),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256),
            decompression: .disabled)
        configuration.proxy = nil
        client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
    }

    /// The URL of `pathAndQuery` on this replica.
    func url(_ pathAndQuery: String) -> String {
        URL(httpURLWithSocketPath: "/proc/self/fd/\(descriptor)", uri: pathAndQuery)?.absoluteString ?? "http://invalid"
    }

    var outstanding: Int { inFlight.load(ordering: .relaxed) }

    func begin() { inFlight.add(1, ordering: .relaxed) }
    func end() { inFlight.subtract(1, ordering: .relaxed) }

    /// Closes the client, then the descriptor (which must outlive every connection attempt through it).
    func shutdown() async {
        try? await client.shutdown()
        close(descriptor)
    }
}
