import AITIPCore
import Foundation
import Hummingbird
import Identity
import Tracking

/// Serves `POST /api/v1/runs/{run_id}/log` (the bulk ingest operation of openapi.yaml) with `RunLogParser` instead of
/// the generated Codable decoder: same contract, same authentication, authorization and audit (those run before it
/// or inside `TrackingService.log`), a fraction of the CPU per point. Every other request passes through.
struct RunLogIngestMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tracking: TrackingService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let runId = Self.runId(inLogPath: request.uri.path) else { return try await next(request, context) }
        let buffer = try await request.body.collect(upTo: .max)  // BodyLimitMiddleware has enforced the limit
        let body = try RunLogParser.parse(Array(buffer.readableBytesView), now: Date().epochMilliseconds)
        try await tracking.log(.init(metrics: body.metrics, params: body.params, tags: body.tags), to: runId, bulk: true,
                               caller: RequestScope.caller)
        return Response(status: .noContent)
    }

    /// The run id of `/api/v1/runs/<id>/log`; nil for any other path. A malformed id is left to the generated
    /// handler, which answers it like every other bad path parameter.
    static func runId(inLogPath path: String) -> UUID? {
        guard path.hasPrefix("/api/v1/runs/"), path.hasSuffix("/log") else { return nil }
        let middle = path.dropFirst("/api/v1/runs/".count).dropLast("/log".count)
        return UUID(canonical: String(middle))
    }
}
