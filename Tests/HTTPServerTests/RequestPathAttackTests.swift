import AITIPCore
import AITIPTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import HTTPServer

#if canImport(Glibc)
    import Glibc
#endif

/// The request-path findings of the security review (#3, #4, #8's timeouts), each reproduced against the real
/// router; the live ones over a real socket.
@Suite("Security review: the request path")
struct RequestPathAttackTests {
    @Test("finding 3: 60,000 nested brackets on the ingest routes answer 400 instead of crashing the server", arguments: DatabaseKind.available)
    func deepNesting(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let deep = "{\"x\":" + String(repeating: "[", count: 60_000)
            let run = try await app.call(.post, "/api/2.0/mlflow/runs/create", token: token, json: ["experiment_id": "0"])
            let runId = (run["run"] as? [String: Any]).flatMap { ($0["info"] as? [String: Any])?["run_id"] as? String } ?? UUID().uuidString
            for path in ["/api/2.0/mlflow/runs/log-batch", "/api/v1/runs/\(runId)/log"] {
                let reply = try await app.call(.post, path, token: token, raw: deep)
                #expect(reply.status == 400, "\(path): \(reply.status) \(reply.text.prefix(200))")
                #expect(reply.text.contains("nest"), "\(reply.text.prefix(300))")
            }
            // Inside a value the parser skips, too.
            let skipped = "{\"run_id\":\"\(runId)\",\"unknown\":" + String(repeating: "{\"a\":", count: 50_000)
            #expect(try await app.call(.post, "/api/2.0/mlflow/runs/log-batch", token: token, raw: skipped).status == 400)
            #expect(try await app.call(.get, "/healthz").status == 200)
        }
    }

    @Test("finding 3: a bulk ingest over the limit is refused as soon as the parser passes it")
    func oversizedBulkIngest() throws {
        let points = "{\"metrics\":[{\"key\":\"m\",\"steps\":[\(Array(repeating: "1", count: 100_001).joined(separator: ","))],\"values\":[]}]}"
        #expect(throws: AppError.self) { _ = try RunLogParser.parse(Array(points.utf8), now: 0) }
    }

    @Test("finding 4: a request without a credential is answered 401 before its body is read")
    func unauthenticatedBodyIsNotRead() async throws {
        try await withApp(.sqlite, live: true) { app in
            let port = try #require(app.client.port)
            // Declares 150 MB, sends 1 KB: the answer must come without the rest.
            let head = "PUT /api/2.0/mlflow-artifacts/artifacts/0/run/artifacts/big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 157286400\r\n\r\n"
            let answer = try await RawConnection.off {
                try RawConnection(port: port).exchange(Array(head.utf8) + Array(repeating: 0x61, count: 1_024), timeout: 30)
            }
            #expect(answer.text.hasPrefix("HTTP/1.1 401"), "\(answer.text.prefix(200))")
        }
    }

    @Test("finding 4: limits follow the matched route: a body under an org named 'mlflow-artifacts' gets the JSON limit")
    func limitsByRoute() async throws {
        try await withApp(.sqlite, settings: ["max_body_bytes": "1048576", "max_artifact_bytes": "4096"]) { app in
            let token = try await app.adminToken()
            let twoMegabytes = "{\"run_id\":\"" + String(repeating: "a", count: 2 << 20) + "\"}"
            for path in ["/mlflow/mlflow-artifacts/p/api/2.0/mlflow/runs/log-batch", "/api/2.0/mlflow/runs/log-batch?x=/mlflow-artifacts/"] {
                let reply = try await app.call(.post, path, token: token, raw: twoMegabytes)
                #expect(reply.status == 413, "\(path): \(reply.status) \(reply.text.prefix(200))")
            }
            // The artifact route has its own limit, checked after the permission.
            let experiment = try await app.call(.post, "/api/2.0/mlflow/experiments/create", token: token, json: ["name": "limits"])
            let experimentId = try #require(experiment.string("experiment_id"))
            let run = try await app.call(.post, "/api/2.0/mlflow/runs/create", token: token, json: ["experiment_id": experimentId])
            let runId = try #require((run["run"] as? [String: Any]).flatMap { ($0["info"] as? [String: Any])?["run_id"] as? String })
            let path = "/api/2.0/mlflow-artifacts/artifacts/\(experimentId)/\(runId)/artifacts/model.bin"
            let small = try await app.callBytes(.put, path, token: token, body: Data(count: 4_000), contentType: "application/octet-stream")
            #expect(small.status == 200)
            let large = try await app.callBytes(.put, path, token: token, body: Data(count: 5_000), contentType: "application/octet-stream")
            #expect(large.status == 413 && large.text.contains("AITIP_MAX_ARTIFACT_BYTES"), "\(large.text)")
            let stranger = try await app.newTenant()
            let foreign = try await app.callBytes(
                .put, path, token: stranger.token, body: Data(count: 5_000), contentType: "application/octet-stream")
            #expect(foreign.status == 404, "another tenant's upload is refused before its body matters: \(foreign.status)")
        }
    }

    @Test("finding 8: a request head that trickles in is cut off after the idle timeout")
    func slowHeadIsClosed() async throws {
        try await withApp(.sqlite, settings: ["idle_timeout": "1"], live: true) { app in
            let port = try #require(app.client.port)
            // The wait is only a safety net: the server must close the connection itself, without an answer.
            let answer = try await RawConnection.off {
                let connection = try RawConnection(port: port)
                try connection.send(Array("GET /healthz HTTP/1.1\r\nHo".utf8))
                return try connection.receive(timeout: 30)
            }
            #expect(answer.closedByServer && answer.text.isEmpty, "\(answer)")
            // A whole request on a fresh connection is still served.
            let served = try await RawConnection.off {
                try RawConnection(port: port).exchange(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8), timeout: 30)
            }
            #expect(served.text.hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test("finding 8: a body that trickles in is refused with 408 once the grace period has passed")
    func slowBodyIsRefused() async throws {
        let (stream, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
        let body = RateGuardedBody(
            base: RequestBody(asyncSequence: stream),
            timeouts: ConnectionTimeouts(minimumBodyRate: 1_000, bodyGrace: .milliseconds(200)))
        let reader = Task {
            var received = 0
            for try await chunk in body { received += chunk.readableBytes }
            return received
        }
        for _ in 0..<6 {
            feed.yield(ByteBuffer(string: "x"))
            try await Task.sleep(for: .milliseconds(60))
        }
        feed.finish()
        do {
            _ = try await reader.value
            Issue.record("a body at ~16 bytes/s must be refused")
        } catch let error as AppError {
            #expect(error.kind == .timeout)
        }
        // A fast body passes.
        let fast = RateGuardedBody(
            base: RequestBody(buffer: ByteBuffer(repeating: 1, count: 100_000)),
            timeouts: ConnectionTimeouts(minimumBodyRate: 1_000, bodyGrace: .milliseconds(200)))
        var total = 0
        for try await chunk in fast { total += chunk.readableBytes }
        #expect(total == 100_000)
    }
}

/// A plain TCP connection to the test server, for requests no HTTP client would send. Its calls block: run them
/// with `off`, on a thread of their own, or they would hold one of the few threads the server itself runs on.
final class RawConnection {
    static func off<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }

    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let descriptor = socket
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { throw AppError.badRequest("cannot connect to port \(port)") }
    }

    deinit { close(socket) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw AppError.badRequest("send failed") }
            offset += sent
        }
    }

    /// What arrives until the server closes the connection, a complete header block has come, or `timeout` seconds
    /// pass without anything arriving.
    func receive(timeout: Int) throws -> (text: String, closedByServer: Bool) {
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if count < 0 { break }
            received += buffer[0..<count]
            if String(decoding: received, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    func exchange(_ bytes: [UInt8], timeout: Int) throws -> (text: String, closedByServer: Bool) {
        try send(bytes)
        return try receive(timeout: timeout)
    }
}
