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
    static let operationId = "logRunData"
    let tracking: TrackingService
    let policy: RoutePolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // A malformed run id is left to the generated handler, which answers it like every other bad path parameter.
        guard policy.route(request.method, context.endpointPath)?.operationId == Self.operationId,
            let runId = context.parameters.get("run_id").flatMap({ UUID(canonical: $0) })
        else { return try await next(request, context) }
        let buffer = try await request.body.collect(upTo: .max) // BodyLimitMiddleware has enforced the limit
        let body = try RunLogParser.parse(Array(buffer.readableBytesView), now: Date().epochMilliseconds)
        try await tracking.log(
            .init(metrics: body.metrics, params: body.params, tags: body.tags), to: runId, bulk: true,
            caller: RequestScope.caller)
        return Response(status: .noContent)
    }
}
