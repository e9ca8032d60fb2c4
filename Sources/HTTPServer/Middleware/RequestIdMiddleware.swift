import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Accepts a sane `X-Request-Id` from the client or makes one, puts it in every log line of the request and
/// echoes it on the response. Also writes one access log line per request.
struct RequestIdMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let header = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestId = request.headers[Self.header].flatMap(Self.accepted) ?? IDGenerator.random().lowercasedString
        context.requestId = requestId
        context.logger[metadataKey: "hb.request.id"] = nil
        context.logger[metadataKey: "request_id"] = .string(requestId)
        let started = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[Self.header] = requestId
        let elapsed = ContinuousClock.now - started
        context.logger.info(
            "\(request.method) \(request.uri.path) \(response.status.code)",
            metadata: [
                "duration_ms": .stringConvertible(Self.milliseconds(elapsed))
            ])
        return response
    }

    /// Milliseconds with two decimals, without a printf round trip on every request.
    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        let millis = Double(seconds) * 1_000 + Double(attoseconds) / 1e15
        return (millis * 100).rounded() / 100
    }

    /// Client ids are echoed into logs and headers, so only short, plain ones are taken.
    static func accepted(_ value: String) -> String? {
        guard (1...128).contains(value.count),
            value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) })
        else { return nil }
        return value
    }
}
