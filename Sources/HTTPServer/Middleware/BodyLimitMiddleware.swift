import AITIPCore
import Hummingbird

/// Collects each request body, up to `max_body_bytes` (413 beyond, by Content-Length when the client declares it
/// and while collecting when it streams), before the handler runs. Operations marked `x-aitip-body: streamed` in
/// openapi.yaml (dataset upload chunks, code packages) read and bound their bodies themselves, after checking the
/// caller's permission, and are passed on unread; so are the MLflow artifact uploads, which are registered outside
/// the groups that use this middleware. It runs after authentication, so a request without a valid credential is
/// answered before any of its body is read.
///
/// An empty body is refused where the operation declares its body required (a PUT without one is not "change
/// nothing"), and read as `{}` elsewhere: the generated decoders would otherwise fail on optional bodies (logout).
package struct BodyLimitMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let maxBytes: Int
    /// The API's declared routes; nil for a group whose every route has a JSON body.
    let policy: RoutePolicy?

    package init(maxBytes: Int, policy: RoutePolicy?) {
        self.maxBytes = maxBytes
        self.policy = policy
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let route = policy?.route(request.method, context.endpointPath)
        if route?.streamedBody == true { return try await next(request, context) }
        let tooLarge = AppError(.payloadTooLarge, "The request body is larger than the \(maxBytes) bytes this server accepts (AITIP_MAX_BODY_BYTES)")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes {
            throw tooLarge
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
        if body.readableBytes == 0, [.post, .put, .patch].contains(request.method) {
            if route?.bodyRequired == true {
                throw AppError.badRequest("This operation needs a JSON body; see /api/docs for its fields")
            }
            var head = request.head
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = "2"
            request = Request(head: head, body: .init(buffer: ByteBuffer(string: "{}")))
        }
        var context = context
        context.bodyCollected = true
        return try await next(request, context)
    }
}
