import HTTPTypes
import Hummingbird

/// Headers every answer carries, errors included: no MIME sniffing, no referrer, never framed, and nothing cached
/// (API answers and tokens must not stay in a browser's or proxy's cache). A response that sets its own
/// Content-Security-Policy (the console's and the docs page's HTML) or Cache-Control (the console's versioned
/// assets) keeps it; every other answer gets a policy that lets a browser render nothing from it.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if response.headers[Self.contentSecurityPolicy] == nil {
            response.headers[Self.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
