import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization

/// Sends an API request through this server's own router — every middleware (authentication, budgets, body limits,
/// audit) as a request from the network meets them — without a socket: the agent API runs its tools through it with
/// the caller's own credential, so a tool can never do more than the caller could by calling the operation directly.
package final class InProcessDispatcher: Sendable {
    private let responder = Mutex<RouterResponder<AppRequestContext>?>(nil)
    private let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    /// The router requests go through (`buildRouter` installs the one it builds).
    func install(_ router: Router<AppRequestContext>) {
        let built = router.buildResponder()
        responder.withLock { $0 = built }
    }

    /// Answers the operation's status and body.
    package func dispatch(method: String, target: String, body: Data?, bearer: String) async throws -> (Int, Data) {
        guard let responder = responder.withLock({ $0 }), let method = HTTPRequest.Method(method) else {
            throw AppError(.internalError, "the server's router is not ready for agent calls")
        }
        var headers: HTTPFields = [.authorization: "Bearer \(bearer)", .accept: "application/json", .userAgent: "aitip-agent"]
        if let body {
            headers[.contentType] = "application/json"
            headers[.contentLength] = String(body.count)
        }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "aitip.internal", path: target, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer(bytes: body ?? Data())))
        let context = AppRequestContext(source: .init(channel: NIOAsyncTestingChannel(), logger: logger))
        let response = try await responder.respond(to: request, context: context)
        let collected = Collected()
        try await response.body.write(collected)
        return (Int(response.status.code), collected.data.withLock { $0 })
    }

    private final class Collected: ResponseBodyWriter, Sendable {
        let data = Mutex(Data())

        func write(_ buffer: ByteBuffer) async throws {
            data.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }

        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
