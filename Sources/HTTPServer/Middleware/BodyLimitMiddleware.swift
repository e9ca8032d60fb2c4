import AITIPCore
import Hummingbird

/// Refuses bodies over the configured size with 413 before any handler reads them: by Content-Length when the
/// client declares it, and while collecting when it streams.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes {
            throw tooLarge
        }
        var request = request
        do {
            _ = try await request.collectBody(upTo: maxBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
        return try await next(request, context)
    }

    private var tooLarge: AppError {
        AppError(.payloadTooLarge, "The request body is larger than the \(maxBytes) bytes this server accepts (AITIP_MAX_BODY_BYTES)")
    }
}
