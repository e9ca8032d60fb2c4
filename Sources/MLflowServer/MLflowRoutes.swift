import AITIPCore
import Events
import Foundation
import HTTPServer
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import Tracking

/// The MLflow-compatible REST API: plain Hummingbird routes whose contract is MLflow's wire format, so the real
/// `mlflow` client works unchanged. Registered under `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow`, which MLflow's
/// own UI uses), and again under `/mlflow/<org>/<project>/…` so a tracking URI can name the project to work in.
///
/// Each prefix is its own router group with its own middleware: MLflow's error shape, authentication that also takes
/// the client's basic credentials, body limits, and failure auditing only for the routes that change something. The
/// native API's middleware knows nothing of MLflow.
package enum MLflowRoutes {
    package static let scopedPrefix = "/mlflow/:org/:project"
    package static let roots = ["", scopedPrefix]
    package static let apis = ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"]
    package static let apisV3 = ["/api/3.0/mlflow", "/ajax-api/3.0/mlflow"]
    package static let artifactAPIs = ["/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"]

    /// Adds the MLflow routes to the server's router (`buildRouter`'s `modules`).
    package static let module: RouteModule = { router, dependencies, security in
        register(on: router, tracking: dependencies.tracking, artifacts: dependencies.artifacts, webhooks: dependencies.webhooks, security: security)
    }

    static func register(
        on router: Router<AppRequestContext>, tracking: TrackingService, artifacts: ArtifactService, webhooks: WebhookService, security: RouteSecurity
    ) {
        let handlers = MLflowHandlers(tracking: tracking, artifacts: artifacts, webhooks: webhooks)
        let artifactHandlers = MLflowArtifactHandlers(artifacts: artifacts)
        let auditFailures = AuditFailureMiddleware(audit: security.audit, projects: security.projects)
        for root in roots {
            let authenticated = router.group(RouterPath(root))
                .add(middleware: MLflowErrorMiddleware())
                .add(middleware: AuthenticationMiddleware(auth: security.auth, limits: security.limits, scheme: .mlflow))
                .add(middleware: MinimumBodyRateMiddleware(timeouts: security.timeouts))
            let bounded = authenticated.group().add(middleware: BodyLimitMiddleware(maxBytes: security.maxBodyBytes, policy: nil))
            for api in apis {
                let prefix = bounded.group(RouterPath(api))
                handlers.register(on: MLflowRouteGroups(reads: prefix.group(), mutations: prefix.group().add(middleware: auditFailures)))
            }
            for api in apisV3 {
                let prefix = bounded.group(RouterPath(api))
                handlers.traces.registerV3(on: MLflowRouteGroups(reads: prefix.group(), mutations: prefix.group().add(middleware: auditFailures)))
            }
            for api in artifactAPIs {
                // Uploads stream their own body (max_artifact_bytes, after the permission check): outside `bounded`.
                artifactHandlers.register(
                    reads: bounded.group(RouterPath(api)),
                    mutations: bounded.group(RouterPath(api)).add(middleware: auditFailures),
                    uploads: authenticated.group(RouterPath(api)).add(middleware: auditFailures))
                // Parts of a multipart upload carry the upload's secret, not the caller's credentials.
                artifactHandlers.registerParts(
                    on: router.group(RouterPath(root + api)).add(middleware: MLflowErrorMiddleware())
                        .add(middleware: MinimumBodyRateMiddleware(timeouts: security.timeouts)))
            }
            // The client asks this before it signs anything: public, as on MLflow.
            router.get(RouterPath(root + "/api/3.0/mlflow/server-info")) { _, _ in
                try MLflowResponse.json(ServerInfo())
            }
            // Where the client offers single spans (OTLP protobuf); it reads the answer and logs whole traces instead.
            router.post(RouterPath(root + "/v1/traces")) { _, _ in MLflowTraceHandlers.otlpNotSupported() }
        }
    }

    /// What the client asks before uploads and downloads: large files go up in parts (`mpu/…`); downloads stream
    /// through the server (no presigned URLs to the object store).
    struct ServerInfo: Encodable {
        var store_type = "SqlStore"
        var workspaces_enabled = false
        var trace_archival_enabled = false
        var multipart_uploads_enabled = true
        var multipart_downloads_enabled = false
        var presigned_upload_run_id_supported = false
        var presigned_upload_model_id_supported = false
        var features_enabled: [String: Bool] = [:]
    }
}

/// One MLflow call's parameters: the JSON body for POST/PATCH/DELETE, the query for GET. Accessors accept what
/// protobuf JSON allows (64-bit integers as numbers or strings) and fail with MLflow's messages.
struct MLflowCall {
    let fields: [String: Any]
    let caller: Caller
    let context: AppRequestContext

    static func parse(_ request: Request, context: AppRequestContext) async throws -> MLflowCall {
        var fields: [String: Any] = [:]
        for (name, value) in formDecodedQuery(request.uri.query) {
            if var list = fields[name] as? [String] {
                list.append(value); fields[name] = list
            } else if let single = fields[name] as? String {
                fields[name] = [single, value]
            } else {
                fields[name] = value
            }
        }
        if request.method != .get {
            let buffer = try await request.body.collect(upTo: .max) // BodyLimitMiddleware has enforced the limit
            if buffer.readableBytes > 0 {
                guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
                    throw AppError.badRequest("The request body is not a JSON object")
                }
                fields.merge(object) { _, body in body }
            }
        }
        return MLflowCall(fields: fields, caller: RequestScope.caller, context: context)
    }

    /// The query as the Python client encodes it (`application/x-www-form-urlencoded`: spaces are `+`).
    static func formDecodedQuery(_ query: String?) -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    static func missing(_ name: String) -> AppError {
        AppError.badRequest("Missing value for required parameter '\(name)'. See the API docs for more information about request parameters.")
    }

    static func invalid(_ name: String, _ value: Any) -> AppError {
        AppError.badRequest("Invalid value \(value) for parameter '\(name)' supplied.")
    }

    func string(_ name: String) -> String? {
        switch fields[name] {
        case let text as String: text
        case let list as [String]: list.first
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    func requiredString(_ name: String) throws(AppError) -> String {
        guard let value = string(name) else { throw Self.missing(name) }
        return value
    }

    func int64(_ name: String) throws(AppError) -> Int64? {
        switch fields[name] {
        case nil, is NSNull: return nil
        case let text as String:
            guard let value = Int64(text) else { throw Self.invalid(name, text) }
            return value
        case let number as NSNumber:
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9.2e18 else { throw Self.invalid(name, number) }
            return number.int64Value
        case let other?: throw Self.invalid(name, other)
        }
    }

    func int(_ name: String, default fallback: Int) throws(AppError) -> Int {
        try int64(name).map { Int($0) } ?? fallback
    }

    func bool(_ name: String) -> Bool? {
        switch fields[name] {
        case let flag as Bool: flag
        case let text as String: text.lowercased() == "true"
        default: nil
        }
    }

    func strings(_ name: String) -> [String] {
        switch fields[name] {
        case let list as [Any]: list.compactMap { $0 as? String }
        case let text as String: [text]
        default: []
        }
    }

    func objects(_ name: String) throws(AppError) -> [[String: Any]] {
        switch fields[name] {
        case nil, is NSNull: return []
        case let list as [Any]:
            var result: [[String: Any]] = []
            for item in list {
                guard let object = item as? [String: Any] else { throw Self.invalid(name, "(a list entry that is not an object)") }
                result.append(object)
            }
            return result
        case let other?: throw Self.invalid(name, type(of: other))
        }
    }

    func keyValues(_ name: String) throws(AppError) -> [KeyValue] {
        var result: [KeyValue] = []
        for object in try objects(name) {
            guard let key = object["key"] as? String else { throw Self.missing("\(name).key") }
            let value: String =
                switch object["value"] {
                case let text as String: text
                case let number as NSNumber: number.stringValue
                case nil, is NSNull: ""
                default: throw Self.invalid("\(name).value", "(not a string)")
                }
            result.append(KeyValue(key: key, value: value))
        }
        return result
    }

    /// The run a call is about: MLflow clients send it as `run_id`, older ones as `run_uuid`.
    func runId() throws(AppError) -> UUID {
        guard let text = string("run_id") ?? string("run_uuid") else { throw Self.missing("run_id") }
        return try Self.uuid(text, what: "Run with id=\(text)")
    }

    static func uuid(_ text: String, what: String) throws(AppError) -> UUID {
        guard let id = UUID(uuidString: text) else { throw AppError(.notFound, "\(what) not found") }
        return id
    }

    /// A metric value: a JSON number, or "NaN" / "Infinity" / "-Infinity" as protobuf JSON writes them.
    static func metricValue(_ raw: Any?, field: String) throws(AppError) -> Double {
        switch raw {
        case let number as NSNumber: return number.doubleValue
        case let text as String: return try metricValue(text: text, field: field)
        case nil: throw missing(field)
        default: throw invalid(field, "(not a number)")
        }
    }

    /// A metric value sent as a string: "NaN", "Infinity", "-Infinity" (protobuf JSON) or a decimal number.
    static func metricValue(text: String, field: String) throws(AppError) -> Double {
        switch text {
        case "NaN", "nan": return .nan
        case "Infinity", "inf": return .infinity
        case "-Infinity", "-inf": return -.infinity
        default:
            guard let value = Double(text) else { throw invalid(field, text) }
            return value
        }
    }

    var selector: ProjectSelector {
        if let org = context.parameters.get("org"), let project = context.parameters.get("project") {
            return .slugs(org: org, project: project)
        }
        return .callerDefault
    }
}

enum MLflowResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }()

    static func json(_ value: some Encodable) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func write(capacity: Int = 4_096, _ body: (inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter(capacity: capacity)
        body(&writer)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: writer.byteBuffer()))
    }

    static func empty() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
    }

    /// MLflow's error body: `{"error_code": "...", "message": "..."}` with its HTTP status conventions.
    static func error(_ error: AppError) -> Response {
        let (status, code): (Int, String) =
            switch error.kind {
            case .badRequest, .validation: (400, "INVALID_PARAMETER_VALUE")
            case .conflict: (400, "RESOURCE_ALREADY_EXISTS")
            case .notFound: (404, "RESOURCE_DOES_NOT_EXIST")
            case .methodNotAllowed: (405, "ENDPOINT_NOT_FOUND")
            case .unauthorized: (401, "UNAUTHENTICATED")
            case .forbidden: (403, "PERMISSION_DENIED")
            case .payloadTooLarge: (413, "INVALID_PARAMETER_VALUE")
            case .timeout: (408, "DEADLINE_EXCEEDED")
            case .tooManyRequests: (429, "REQUEST_LIMIT_EXCEEDED")
            case .unavailable: (503, "TEMPORARILY_UNAVAILABLE")
            case .internalError: (500, "INTERNAL_ERROR")
            case .badGateway: (502, "INTERNAL_ERROR")
            case .gatewayTimeout: (504, "DEADLINE_EXCEEDED")
            }
        let body =
            (try? JSONSerialization.data(withJSONObject: ["error_code": code, "message": error.detail], options: [.sortedKeys])) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = error.retryAfterSeconds { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The routes of one MLflow prefix, in two groups: reads (GETs, and the POSTs that only search), and mutations,
/// whose failures are audited. A route's group is chosen where it is registered; every route must be declared in
/// `MLflowRoutePermissions`.
struct MLflowRouteGroups {
    typealias Handler = @Sendable (MLflowCall) async throws -> Response

    let reads: RouterGroup<AppRequestContext>
    let mutations: RouterGroup<AppRequestContext>

    /// A GET reads; every other method changes something.
    func on(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        _ = MLflowRoutePermissions.declaration(method, path)
        Self.add(method == .get ? reads : mutations, method, path, handler)
    }

    /// A POST that changes nothing (MLflow sends some searches as POST).
    func read(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        _ = MLflowRoutePermissions.declaration(method, path, readOnly: method != .get)
        Self.add(reads, method, path, handler)
    }

    /// A mutation whose handler reads the request itself (the bulk parser of log-batch).
    func mutation(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response)
    {
        _ = MLflowRoutePermissions.declaration(method, path)
        mutations.on(RouterPath(path), method: method, use: handler)
    }

    private static func add(_ group: RouterGroup<AppRequestContext>, _ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        group.on(RouterPath(path), method: method) { request, context in
            try await handler(try await MLflowCall.parse(request, context: context))
        }
    }
}

/// MLflow clients read MLflow's error body, `{"error_code", "message"}`, not problem+json.
struct MLflowErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return MLflowResponse.error(ProblemMiddleware.appError(from: error, logger: context.logger))
        }
    }
}
