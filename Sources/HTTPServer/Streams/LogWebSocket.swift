import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Identity
import Logging
import NIOCore

/// `WS /ws/training/{job_id}/logs[?offset=N]` (design §4.1): a training job's log over a WebSocket, one JSON
/// message per batch of lines and an `end` message with the final status (see `LogEventStream.Framing.webSocket`).
/// Authenticated like the API: `Authorization: Bearer <token or API key>`, or — for browsers, which cannot set
/// headers on a WebSocket — the subprotocols `aitip.logs, bearer.<token>` (the server answers `aitip.logs`).
/// A request it does not accept is not upgraded and gets the router's answer (401 without credentials, else 404).
package enum LogWebSocket {
    package typealias Upgrade =
        @Sendable (HTTPRequest, any Channel, Logger) async throws -> ShouldUpgradeResult<
            WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
        >

    static let subprotocol = "aitip.logs"

    /// The routes that upgrade: a training job's log, an inference service's metrics, the agent's stream.
    package static func shouldUpgrade(_ dependencies: ServerDependencies) -> Upgrade {
        let logs = logUpgrade(dependencies)
        let metrics = MetricsWebSocket.upgrade(dependencies)
        let agent = AgentWebSocket.upgrade(dependencies)
        return { request, channel, logger in
            let path = request.path ?? ""
            if path.hasPrefix("/ws/inference/") { return try await metrics(request, channel, logger) }
            if path.hasPrefix("/ws/agent/") { return try await agent(request, channel, logger) }
            return try await logs(request, channel, logger)
        }
    }

    /// The caller of a WebSocket request, the subprotocols it offered and its credential; nil without a valid one.
    static func caller(_ request: HTTPRequest, _ channel: any Channel, _ logger: Logger, auth: AuthService) async -> (Caller, [String], String)? {
        let offered = (request.headerFields[.secWebSocketProtocol] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let bearer =
            request.headerFields[.authorization].flatMap { value -> String? in
                let parts = value.split(separator: " ", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : nil
            } ?? offered.first { $0.hasPrefix("bearer.") }.map { String($0.dropFirst("bearer.".count)) }
        guard let bearer, let principal = try? await auth.authenticate(bearer: bearer) else { return nil }
        let caller = Caller(
            principal: principal,
            origin: RequestOrigin(requestId: IDGenerator.random().lowercasedString, clientAddress: channel.remoteAddress?.ipAddress),
            logger: logger)
        return (caller, offered, bearer)
    }

    static func logUpgrade(_ dependencies: ServerDependencies) -> Upgrade {
        { request, channel, logger in
            guard let (jobId, offset) = route(request.path ?? "") else { return .dontUpgrade }
            guard let (caller, offered, _) = await caller(request, channel, logger, auth: dependencies.auth) else { return .dontUpgrade }
            let training = dependencies.training
            guard (try? await training.authorizeLogs(jobId, caller: caller)) != nil else { return .dontUpgrade }
            var headers = HTTPFields()
            if offered.contains(subprotocol) { headers[.secWebSocketProtocol] = subprotocol }
            return .upgrade(headers) { _, outbound, _ in
                let stream = LogEventStream(workloadId: jobId, logs: training.logs, from: offset, follow: true, framing: .webSocket) {
                    try await training.authorizeLogs(jobId, caller: caller).state
                }
                // A client that goes away makes the next write fail (a keep-alive goes out while the log is idle),
                // which ends the handler; returning sends the close frame.
                while let chunk = try await stream.next() {
                    for message in String(decoding: chunk, as: UTF8.self).split(separator: "\n") {
                        try await outbound.write(.text(String(message)))
                    }
                }
            }
        }
    }

    /// The job id and resume offset of `/ws/training/{job_id}/logs?offset=N`.
    static func route(_ path: String) -> (UUID, Int64)? {
        guard let (id, query) = resource(path, area: "training", stream: "logs") else { return nil }
        let offset = query.first { $0.name == "offset" }?.value.flatMap { Int64($0) } ?? 0
        return (id, max(0, offset))
    }

    /// The id and query of `/ws/<area>/<id>/<stream>?…`, the shape of every WebSocket route.
    static func resource(_ path: String, area: String, stream: String) -> (UUID, [URLQueryItem])? {
        guard let components = URLComponents(string: path) else { return nil }
        let segments = components.path.split(separator: "/")
        guard segments.count == 4, segments[0] == "ws", segments[1] == area, segments[3] == stream,
            let id = UUID(uuidString: String(segments[2]))
        else { return nil }
        return (id, components.queryItems ?? [])
    }
}
