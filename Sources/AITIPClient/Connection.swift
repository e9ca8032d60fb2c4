internal import AITIPAPI
import AsyncHTTPClient
package import Foundation
import HTTPTypes
import NIOCore
import OpenAPIAsyncHTTPClient
internal import OpenAPIRuntime

/// The client generated from openapi.yaml, over AsyncHTTPClient, with what every caller of the API needs: a bearer
/// token renewed once when it has expired, and problem+json answers turned into `ProblemError`.
package enum Connection {
    /// How long a call may take; transfers and followed logs get no practical limit.
    package enum Patience: Sendable {
        case call, transfer

        var timeout: TimeAmount {
            switch self {
            case .call: .seconds(30)
            case .transfer: .hours(24 * 365)
            }
        }
    }

    package static func client(server: URL, tokens: (any BearerTokens)?, patience: Patience = .call) -> Client {
        var middlewares: [any ClientMiddleware] = [ProblemMiddleware()]
        if let tokens { middlewares.append(BearerMiddleware(tokens: tokens)) }
        return Client(
            serverURL: server, configuration: .aitip,
            transport: AsyncHTTPClientTransport(configuration: .init(client: .shared, timeout: patience.timeout)),
            middlewares: middlewares)
    }
}

/// Where a client's access token comes from: a fixed token, or a session that can be renewed.
package protocol BearerTokens: Sendable {
    func current() async -> String?
    /// A new access token after `rejected` was refused (401), or nil when it cannot be renewed.
    func renew(after rejected: String) async -> String?
}

/// A non-2xx answer, with the problem+json details the server sent.
package struct ProblemError: Error, CustomStringConvertible {
    package struct FieldError: Decodable, Sendable {
        package var field: String?
        package var message: String?
    }

    package var status: Int
    package var title: String?
    package var detail: String?
    package var errors: [FieldError]
    package var requestId: String?

    init(status: Int, body: Data) {
        struct Problem: Decodable {
            var title: String?
            var detail: String?
            var errors: [FieldError]?
            var request_id: String?
        }
        let problem = try? JSONDecoder().decode(Problem.self, from: body)
        self.status = status
        title = problem?.title
        detail = problem?.detail
        errors = problem?.errors ?? []
        requestId = problem?.request_id
    }

    /// "Error 400 Bad Request: …", one line per field error, and the request id to quote to an operator.
    package var description: String {
        var message = "Error \(status)"
        if let title { message += " \(title)" }
        if let detail { message += ": \(detail)" }
        for error in errors { message += "\n  - \(error.field ?? ""): \(error.message ?? "")" }
        if let requestId { message += "\n  (request id \(requestId))" }
        return message
    }
}

/// Turns an answer outside 2xx into `ProblemError`, so callers handle only the answers they asked for.
struct ProblemMiddleware: ClientMiddleware {
    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let (response, responseBody) = try await next(request, body, baseURL)
        guard response.status.kind != .successful else { return (response, responseBody) }
        var data = Data()
        if let responseBody { data = try await Data(collecting: responseBody, upTo: 1 << 20) }
        throw ProblemError(status: response.status.code, body: data)
    }
}

/// Sends the bearer token; on 401 renews it once and repeats the request when its body can be sent again.
struct BearerMiddleware: ClientMiddleware {
    let tokens: any BearerTokens

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard let token = await tokens.current() else { return try await next(request, body, baseURL) }
        var signed = request
        signed.headerFields[.authorization] = "Bearer \(token)"
        let (response, responseBody) = try await next(signed, body, baseURL)
        guard response.status == .unauthorized, body.map({ $0.iterationBehavior == .multiple }) ?? true,
            let renewed = await tokens.renew(after: token)
        else { return (response, responseBody) }
        signed.headerFields[.authorization] = "Bearer \(renewed)"
        return try await next(signed, body, baseURL)
    }
}
