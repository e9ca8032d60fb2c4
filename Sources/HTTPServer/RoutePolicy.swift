import AITIPCore
import HTTPTypes
import Yams

/// What each route needs before its handler runs, declared where the route is declared: for the API's operations in
/// openapi.yaml (`security: []`, `x-aitip-permission`, `x-aitip-idempotent`, `x-aitip-body`, `x-aitip-sign-in`,
/// `x-aitip-budget`), for
/// the MLflow-compatible routes where MLflow's routes are listed. Read once at start; middleware look a request's
/// route up by method and path template (the route the router matched) and never compare path strings.
package struct RoutePolicy: Sendable {
    package struct Route: Sendable, Equatable {
        package var operationId: String?
        /// No credential needed (`security: []`).
        package var isPublic = false
        /// The permission the caller needs (`x-aitip-permission`): a permission, `authenticated` or `session`.
        package var permission: String?
        /// Honours `Idempotency-Key` (`x-aitip-idempotent: true`).
        package var idempotent = false
        /// The handler reads and bounds its own body, after checking the caller (`x-aitip-body: streamed`).
        package var streamedBody = false
        /// The operation declares a body it cannot do without (`requestBody.required: true`): an empty one is refused.
        package var bodyRequired = false
        /// How the route spends the caller's address's sign-in budget (`x-aitip-sign-in`).
        package var signIn: SignIn?
        /// Tracking ingest (`x-aitip-budget: tracking`): spared the per-second budget, bounded by the in-flight cap.
        package var tracking = false

        package init(
            operationId: String? = nil, isPublic: Bool = false, permission: String? = nil, idempotent: Bool = false,
            streamedBody: Bool = false, bodyRequired: Bool = false, signIn: SignIn? = nil, tracking: Bool = false
        ) {
            self.operationId = operationId
            self.isPublic = isPublic
            self.permission = permission
            self.idempotent = idempotent
            self.streamedBody = streamedBody
            self.bodyRequired = bodyRequired
            self.signIn = signIn
            self.tracking = tracking
        }
    }

    /// `every-attempt`: passwords are tried here (login, registration); `failed-attempts`: only failures count (a
    /// refresh token cannot be guessed, and browsers refresh on every page load).
    package enum SignIn: String, Sendable {
        case everyAttempt = "every-attempt"
        case failedAttempts = "failed-attempts"
    }

    private var routes: [String: Route] = [:]

    package init() {}

    static func key(_ method: HTTPRequest.Method, _ template: String) -> String { "\(method.rawValue) \(template)" }

    /// The route the router matched for this request; nil when none matched (a 404, a console asset).
    package func route(_ method: HTTPRequest.Method, _ template: String?) -> Route? {
        template.flatMap { routes[Self.key(method, $0)] }
    }

    package mutating func declare(_ method: HTTPRequest.Method, _ template: String, _ route: Route) {
        routes[Self.key(method, template)] = route
    }

    package var all: [(key: String, route: Route)] { routes.map { ($0.key, $0.value) }.sorted { $0.key < $1.key } }

    static let methods = ["get", "put", "post", "delete", "patch", "head", "options"]

    /// The API's operations as openapi.yaml declares them. An operation that is neither public nor names the
    /// permission it needs is refused here, so no route can be added without saying who may call it.
    package static func api(specYAML: String) throws -> RoutePolicy {
        guard let document = try Yams.load(yaml: specYAML) as? [String: Any], let paths = document["paths"] as? [String: Any] else {
            throw AppError(.internalError, "openapi.yaml has no paths")
        }
        var policy = RoutePolicy()
        var undeclared: [String] = []
        for (path, item) in paths {
            for (method, value) in item as? [String: Any] ?? [:] where methods.contains(method) {
                guard let operation = value as? [String: Any] else { continue }
                let isPublic = (operation["security"] as? [Any])?.isEmpty == true
                let permission = operation["x-aitip-permission"] as? String
                let operationId = operation["operationId"] as? String
                if !isPublic && permission == nil { undeclared.append(operationId ?? "\(method) \(path)") }
                policy.declare(
                    HTTPRequest.Method(rawValue: method.uppercased())!, path,
                    Route(
                        operationId: operationId, isPublic: isPublic, permission: permission,
                        idempotent: operation["x-aitip-idempotent"] as? Bool == true,
                        streamedBody: operation["x-aitip-body"] as? String == "streamed",
                        bodyRequired: (operation["requestBody"] as? [String: Any])?["required"] as? Bool == true,
                        signIn: (operation["x-aitip-sign-in"] as? String).flatMap(SignIn.init(rawValue:)),
                        tracking: operation["x-aitip-budget"] as? String == "tracking"))
            }
        }
        guard undeclared.isEmpty else {
            throw AppError(
                .internalError,
                "openapi.yaml: these operations declare neither security: [] nor x-aitip-permission: \(undeclared.sorted().joined(separator: ", "))")
        }
        return policy
    }
}
