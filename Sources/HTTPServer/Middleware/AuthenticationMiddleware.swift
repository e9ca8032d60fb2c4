import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// Every route needs a valid bearer credential unless it is listed in `publicRoutes`. Also applies rate limits:
/// per principal on authenticated routes, per client address on the credential endpoints (login, register, refresh).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let auth: AuthService
    let principalLimiter: RateLimiter
    let credentialLimiter: RateLimiter

    static let publicRoutes: Set<String> = [
        "/", "/healthz", "/readyz", "/metrics", "/api/v1/openapi.yaml", "/api/docs", "/api/3.0/mlflow/server-info",
        "/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/refresh",
    ]
    /// Every attempt spends the address's budget: passwords can be guessed.
    static let credentialRoutes: Set<String> = ["/api/v1/auth/login", "/api/v1/auth/register"]
    /// Only failures spend it: a refresh token cannot be guessed (256 random bits), and a browser refreshes on every
    /// page load, so counting successes would lock out an office behind one address.
    static let refreshRoute = "/api/v1/auth/refresh"

    /// Keys have their own budget; sessions share their user's.
    /// (Kept out of `handle`: inlined there, it crashes the Swift 6.3 optimizer in release builds.)
    @inline(never)
    static func rateLimitKey(_ principal: Principal) -> String {
        switch principal.credential {
        case .apiKey(let id, _, _): "key:\(id)"
        case .session: "user:\(principal.userId)"
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let cookie = SessionCookie.exchange(cookieHeader: request.headers[.cookie], forwardedProto: request.headers[HTTPField.Name("X-Forwarded-Proto")!])
        var response = try await RequestScope.$sessionCookie.withValue(cookie) { try await authenticate(request, context: context, next: next) }
        if let setCookie = cookie.setCookie { response.headers[.setCookie] = setCookie }
        return response
    }

    private func authenticate(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let path = request.uri.path
        let origin = RequestOrigin(requestId: context.requestId, clientAddress: context.clientAddress,
                                   userAgent: request.headers[.userAgent])
        // Unmatched paths fall through to a plain 404; authenticating them would only turn it into a 401.
        if Self.publicRoutes.contains(path) || context.endpointPath == nil {
            let address = "ip:\(origin.clientAddress ?? "unknown")"
            if Self.credentialRoutes.contains(path), let wait = credentialLimiter.acquire(address) {
                throw AppError(.tooManyRequests, "Too many sign-in attempts from this address; retry in \(wait) s", retryAfterSeconds: wait)
            }
            if path == Self.refreshRoute, let wait = credentialLimiter.peek(address) {
                throw AppError(.tooManyRequests, "Too many failed sign-in attempts from this address; retry in \(wait) s", retryAfterSeconds: wait)
            }
            do {
                return try await RequestScope.$caller.withValue(Caller(principal: nil, origin: origin, logger: context.logger)) {
                    try await next(request, context)
                }
            } catch let error as AppError where error.kind == .unauthorized && path == Self.refreshRoute {
                _ = credentialLimiter.acquire(address)
                throw error
            }
        }
        let isMLflow = MLflowRoutes.isMLflowPath(path)
        guard let header = request.headers[.authorization] else {
            throw AppError.unauthorized(isMLflow
                ? "Set MLFLOW_TRACKING_TOKEN to an aitip API key, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
                : "This endpoint needs 'Authorization: Bearer <access token or API key>'")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        let scheme = parts.first?.lowercased() ?? ""
        guard parts.count == 2, !parts[1].isEmpty, scheme == "bearer" || (isMLflow && scheme == "basic") else {
            throw AppError.unauthorized("Use 'Authorization: Bearer <access token or API key>'")
        }
        let found: Principal?
        if scheme == "basic" {
            guard let decoded = Data(base64Encoded: String(parts[1])).flatMap({ String(data: $0, encoding: .utf8) }),
                  let colon = decoded.firstIndex(of: ":") else {
                throw AppError.unauthorized("Malformed basic credentials")
            }
            if let wait = credentialLimiter.peek("ip:\(origin.clientAddress ?? "unknown")") {
                throw AppError(.tooManyRequests, "Too many failed sign-in attempts from this address; retry in \(wait) s", retryAfterSeconds: wait)
            }
            found = try await auth.authenticate(basicUsername: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
            // Only failures spend the address's budget: a client that sends good credentials on every call is not throttled.
            if found == nil { _ = credentialLimiter.acquire("ip:\(origin.clientAddress ?? "unknown")") }
        } else {
            found = try await auth.authenticate(bearer: String(parts[1]))
        }
        guard let principal = found else {
            throw AppError.unauthorized(scheme == "basic" ? "Wrong username or password" : "The token or API key is invalid, expired or revoked")
        }
        if let wait = principalLimiter.acquire(Self.rateLimitKey(principal)) {
            throw AppError(.tooManyRequests, "Rate limit exceeded; retry in \(wait) s", retryAfterSeconds: wait)
        }
        context.principal = principal
        context.logger[metadataKey: "user"] = .string(principal.username)
        return try await RequestScope.$caller.withValue(Caller(principal: principal, origin: origin, logger: context.logger)) {
            try await next(request, context)
        }
    }
}
