import AITIPCore
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import Identity
import Inference
import NIOCore
import NIOHTTP1

/// `/serve/{service_id}/…`: the inference gateway's public face. The caller needs `inference:invoke` in the service's
/// project (an API key scoped to it, or a member's session); the body is bounded by the gateway's request limit; the
/// answer is streamed back as the replica sends it. Everything after `/serve/{service_id}` is the replica's path.
enum GatewayRoutes {
    static let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .head, .options]

    static func add(to router: Router<AppRequestContext>, _ dependencies: ServerDependencies, limits: AuthenticationMiddleware.Limits) {
        let inference = dependencies.inference
        let group = router.group("serve")
            .add(middleware: AuthenticationMiddleware(auth: dependencies.auth, limits: limits, scheme: .gateway))
            .add(middleware: MinimumBodyRateMiddleware(timeouts: dependencies.limits.timeouts))
        for method in methods {
            group.on("{service_id}", method: method) { request, context in
                try await forward(request, context: context, inference: inference, path: "/")
            }
            group.on("{service_id}/**", method: method) { request, context in
                let rest = context.parameters.getCatchAll().joined(separator: "/")
                return try await forward(request, context: context, inference: inference, path: "/" + rest)
            }
        }
    }

    static func forward(_ request: Request, context: AppRequestContext, inference: InferenceService, path: String) async throws -> Response {
        let gateway = inference.gateway
        guard let principal = context.principal else { throw AppError.unauthorized("Send 'Authorization: Bearer <API key>'") }
        let text = context.parameters.get("service_id") ?? ""
        guard let serviceId = UUID(uuidString: text) else { throw AppError.notFound("Inference service") }
        try await inference.authorizeInvoke(serviceId, principal: principal)
        let limit = gateway.configuration.maxRequestBytes
        let tooLarge = AppError(
            .payloadTooLarge, "The request body is larger than the \(limit) bytes the gateway accepts (gateway_max_request_bytes)")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
        var headers = HTTPHeaders()
        for field in request.headers { headers.add(name: field.name.canonicalName, value: field.value) }
        if let address = context.clientAddress { headers.add(name: "x-forwarded-for", value: address) }
        let query = request.uri.query.map { "?\($0)" } ?? ""
        let invocation = Gateway.Invocation(
            method: HTTPMethod(rawValue: request.method.rawValue), pathAndQuery: path + query, headers: headers,
            body: body.readableBytes == 0 && [.get, .head, .delete, .options].contains(request.method) ? nil : body,
            stickyKey: AuthenticationMiddleware.rateLimitKey(principal), requestId: context.requestId)
        let answer = try await gateway.forward(service: serviceId, invocation)
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return Response(
            status: HTTPResponse.Status(code: Int(answer.status.code)), headers: fields, body: ResponseBody(asyncSequence: answer.body))
    }
}
