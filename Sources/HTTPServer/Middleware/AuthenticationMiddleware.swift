import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// Authenticates every request of the router group it is added to, and rate-limits: per principal on authenticated
/// routes, per client address on sign-in. Which routes are public and how a route spends the sign-in budget come from
/// the route policy (openapi.yaml); the MLflow-compatible group is authenticated throughout and also takes HTTP
/// basic credentials (the MLflow client's username and password). Routes registered outside these groups (the
/// spec, the docs page, metrics, the console) are public by construction.
package struct AuthenticationMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext

    /// The credentials a group accepts, and how it asks for them.
    package enum Scheme: Sendable {
        case native(RoutePolicy)
        case mlflow
        /// The inference gateway (`/serve/…`): bearer credentials only; its traffic is bounded by each service's rate
        /// limit and the in-flight cap, not the per-second budget meant for API calls.
        case gateway
    }

    /// The limiters of one server, shared by every group: a principal has one budget wherever it calls.
    /// `principal` (requests a second) applies to every authenticated route but the tracking ones; `inFlight` (requests
    /// at once) to every authenticated route. Tracking clients (the MLflow client, bulk log ingest) send one request
    /// per metric and wait for each answer: a rate budget throttles an honest training loop, while an in-flight cap
    /// never touches it and still bounds a flood.
    package struct Limits: Sendable {
        let principal: RateLimiter
        let inFlight: InFlightLimiter
        let signIn: RateLimiter
    }

    let auth: AuthService
    let limits: Limits
    let scheme: Scheme

    package init(auth: AuthService, limits: Limits, scheme: Scheme) {
        self.auth = auth
        self.limits = limits
        self.scheme = scheme
    }

    /// Keys have their own budget; sessions share their user's.
    /// (Kept out of `handle`: inlined there, it crashes the Swift 6.3 optimizer in release builds.)
    @inline(never)
    static func rateLimitKey(_ principal: Principal) -> String {
        switch principal.credential {
        case .apiKey(let id, _, _): "key:\(id)"
        case .session: "user:\(principal.userId)"
        }
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let cookie = SessionCookie.exchange(
            cookieHeader: request.headers[.cookie], forwardedProto: request.headers[HTTPField.Name("X-Forwarded-Proto")!])
        var response = try await RequestScope.$sessionCookie.withValue(cookie) { try await authenticate(request, context: context, next: next) }
        if let setCookie = cookie.setCookie { response.headers[.setCookie] = setCookie }
        return response
    }

    private func authenticate(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let origin = RequestOrigin(requestId: context.requestId, clientAddress: context.clientAddress, userAgent: request.headers[.userAgent])
        let address = "ip:\(origin.clientAddress ?? "unknown")"
        if case .native(let policy) = scheme, let route = policy.route(request.method, context.endpointPath), route.isPublic {
            return try await anonymous(request, context: context, origin: origin, address: address, signIn: route.signIn, next: next)
        }
        let isMLflow = if case .mlflow = scheme { true } else { false }
        guard let header = request.headers[.authorization] else {
            throw AppError.unauthorized(
                isMLflow
                    ? "Set MLFLOW_TRACKING_TOKEN to an aitip API key, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
                    : "This endpoint needs 'Authorization: Bearer <access token or API key>'")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        let kind = parts.first?.lowercased() ?? ""
        guard parts.count == 2, !parts[1].isEmpty, kind == "bearer" || (isMLflow && kind == "basic") else {
            throw AppError.unauthorized("Use 'Authorization: Bearer <access token or API key>'")
        }
        let found: Principal?
        if kind == "basic" {
            guard let decoded = Data(base64Encoded: String(parts[1])).flatMap({ String(data: $0, encoding: .utf8) }),
                let colon = decoded.firstIndex(of: ":")
            else {
                throw AppError.unauthorized("Malformed basic credentials")
            }
            if let wait = limits.signIn.peek(address) {
                throw AppError(.tooManyRequests, "Too many failed sign-in attempts from this address; retry in \(wait) s", retryAfterSeconds: wait)
            }
            found = try await auth.authenticate(basicUsername: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
            // Only failures spend the address's budget: a client that sends good credentials on every call is not throttled.
            if found == nil { _ = limits.signIn.acquire(address) }
        } else {
            found = try await auth.authenticate(bearer: String(parts[1]))
        }
        guard let principal = found else {
            throw AppError.unauthorized(kind == "basic" ? "Wrong username or password" : "The token or API key is invalid, expired or revoked")
        }
        let budgetKey = Self.rateLimitKey(principal)
        if !isTrackingRoute(request, context: context), let wait = limits.principal.acquire(budgetKey) {
            throw AppError(.tooManyRequests, "Rate limit exceeded; retry in \(wait) s", retryAfterSeconds: wait)
        }
        guard limits.inFlight.enter(budgetKey) else {
            throw AppError(
                .tooManyRequests,
                "This user or API key already has \(limits.inFlight.limit) requests in flight (principal_concurrency); wait for their answers",
                retryAfterSeconds: 1)
        }
        defer { limits.inFlight.leave(budgetKey) }
        context.principal = principal
        context.logger[metadataKey: "user"] = .string(principal.username)
        let bearer = kind == "bearer" ? String(parts[1]) : nil
        return try await RequestScope.$caller.withValue(Caller(principal: principal, origin: origin, logger: context.logger)) {
            try await RequestScope.$bearer.withValue(bearer) { try await next(request, context) }
        }
    }

    /// Traffic the rate budget spares: every MLflow route, the API's routes declared `x-aitip-budget: tracking` (bulk
    /// run logging), and inference calls.
    private func isTrackingRoute(_ request: Request, context: Context) -> Bool {
        switch scheme {
        case .mlflow, .gateway: true
        case .native(let policy): policy.route(request.method, context.endpointPath)?.tracking == true
        }
    }

    /// A public route. Sign-in routes spend the address's budget: every attempt where passwords are tried, only
    /// failures where a refresh token is (it cannot be guessed, and browsers refresh on every page load).
    private func anonymous(
        _ request: Request, context: Context, origin: RequestOrigin, address: String, signIn: RoutePolicy.SignIn?,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch signIn {
        case .everyAttempt?:
            if let wait = limits.signIn.acquire(address) {
                throw AppError(.tooManyRequests, "Too many sign-in attempts from this address; retry in \(wait) s", retryAfterSeconds: wait)
            }
        case .failedAttempts?:
            if let wait = limits.signIn.peek(address) {
                throw AppError(.tooManyRequests, "Too many failed sign-in attempts from this address; retry in \(wait) s", retryAfterSeconds: wait)
            }
        case nil:
            break
        }
        do {
            return try await RequestScope.$caller.withValue(Caller(principal: nil, origin: origin, logger: context.logger)) {
                try await next(request, context)
            }
        } catch let error as AppError where error.kind == .unauthorized && signIn == .failedAttempts {
            _ = limits.signIn.acquire(address)
            throw error
        }
    }
}
