import AITIPCore
import AITIPAPI
import Hummingbird
import Yams

/// Collects each request body, up to `max_body_bytes` (413 beyond, by Content-Length when the client declares it
/// and while collecting when it streams), before the handler runs. Routes whose handler reads and bounds its own
/// body are passed on unread: operations marked `x-aitip-body: streamed` in openapi.yaml (dataset upload chunks,
/// code packages) and MLflow's artifact uploads. Routes are named by method and path template, as the router
/// matched them, never by a part of the path. Runs after authentication, so a request without a valid credential
/// is answered before any of its body is read.
///
/// An empty POST/PUT/PATCH body is read as `{}`: the generated decoders would otherwise fail on optional bodies
/// (logout) and report "not JSON" instead of naming the missing fields.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maxBytes: Int
    /// "METHOD /path/{template}" of the routes that bound their own bodies.
    let selfBounded: Set<String>

    static func route(_ method: HTTPRequest.Method, _ template: String) -> String { "\(method.rawValue) \(template)" }

    /// The operations openapi.yaml marks `x-aitip-body: streamed`.
    static func streamedOperations(specYAML: String) throws -> Set<String> {
        guard let paths = (try Yams.load(yaml: specYAML) as? [String: Any])?["paths"] as? [String: Any] else { return [] }
        var routes: Set<String> = []
        for (path, item) in paths {
            for (method, operation) in item as? [String: Any] ?? [:] {
                guard (operation as? [String: Any])?["x-aitip-body"] as? String == "streamed" else { continue }
                routes.insert("\(method.uppercased()) \(path)")
            }
        }
        return routes
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // No route (a 404, or a console asset) or a route that reads its own body: nothing to collect here.
        guard let template = context.endpointPath, !selfBounded.contains(Self.route(request.method, template)) else {
            return try await next(request, context)
        }
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
            var head = request.head
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = "2"
            request = Request(head: head, body: .init(buffer: ByteBuffer(string: "{}")))
        }
        return try await next(request, context)
    }
}
