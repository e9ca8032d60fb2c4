import AITIPAPI
import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Identity
import Inference
import Logging
import NIOCore

/// `WS /ws/inference/{service_id}/metrics[?interval_ms=N]` (design §4.1): what the gateway saw of a service and its
/// canaries, as `GET /api/v1/inference/services/{id}/metrics` answers it, one JSON message every second (or every
/// `interval_ms`, 250–60,000), until the client leaves; `{"type": "end", "reason": …}` when the service is deleted or
/// the caller may no longer read it. Authenticated as the log stream (`LogWebSocket`); subprotocol `aitip.metrics`.
enum MetricsWebSocket {
    static let subprotocol = "aitip.metrics"

    static func upgrade(_ dependencies: ServerDependencies) -> LogWebSocket.Upgrade {
        { request, channel, logger in
            guard let (serviceId, interval) = route(request.path ?? "") else { return .dontUpgrade }
            guard let (caller, offered, _) = await LogWebSocket.caller(request, channel, logger, auth: dependencies.auth) else { return .dontUpgrade }
            let inference = dependencies.inference
            guard (try? await inference.metrics(serviceId, caller: caller)) != nil else { return .dontUpgrade }
            var headers = HTTPFields()
            if offered.contains(subprotocol) { headers[.secWebSocketProtocol] = subprotocol }
            return .upgrade(headers) { _, outbound, _ in
                let encoder = JSONEncoder()
                encoder.outputFormatting = .sortedKeys
                while true {
                    let metrics: InferenceService.Metrics
                    do {
                        metrics = try await inference.metrics(serviceId, caller: caller)
                    } catch {
                        let reason = (error as? AppError)?.detail ?? "the service cannot be read"
                        let end = try JSONSerialization.data(withJSONObject: ["type": "end", "reason": reason])
                        try await outbound.write(.text(String(decoding: end, as: UTF8.self)))
                        return
                    }
                    let message = try encoder.encode(Components.Schemas.InferenceServiceMetrics(metrics))
                    // A client that went away makes this write fail, which ends the handler.
                    try await outbound.write(.text(String(decoding: message, as: UTF8.self)))
                    try await Task.sleep(for: .milliseconds(interval))
                }
            }
        }
    }

    /// The service id and interval of `/ws/inference/{service_id}/metrics?interval_ms=N`.
    static func route(_ path: String) -> (UUID, Int)? {
        guard let (id, query) = LogWebSocket.resource(path, area: "inference", stream: "metrics") else { return nil }
        let interval = query.first { $0.name == "interval_ms" }?.value.flatMap { Int($0) } ?? 1_000
        return (id, min(max(interval, 250), 60_000))
    }
}
