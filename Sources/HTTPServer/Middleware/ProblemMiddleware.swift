import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAPIRuntime
import Storage

/// Turns every error into RFC 9457 problem+json. Expected errors (AppError, malformed requests, Hummingbird's
/// 404/413) keep their meaning; anything else is logged with the request id and answered as a bare 500. A path that
/// no route takes with this method but some route takes with another is a 405 with `Allow` (RFC 9110 §15.5.6).
package struct ProblemMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let methods: MethodTable

    package init(methods: MethodTable) {
        self.methods = methods
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = methods.allowed(for: request.uri.path)
            let problem =
                allowed.isEmpty || allowed.contains(request.method.rawValue)
                ? Self.fromHummingbird(error)
                : AppError(
                    .methodNotAllowed,
                    "\(request.uri.path) accepts \(allowed.joined(separator: ", ")), not \(request.method.rawValue); see /api/docs",
                    allowedMethods: allowed)
            return Self.response(for: problem, path: request.uri.path, requestId: context.requestId)
        } catch {
            return Self.response(for: Self.appError(from: error, logger: context.logger), path: request.uri.path, requestId: context.requestId)
        }
    }

    static func response(for error: AppError, path: String, requestId: String) -> Response {
        let problem = ProblemDetails(error, instance: path, requestId: requestId)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(problem)) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter = error.retryAfterSeconds { headers[.retryAfter] = String(retryAfter) }
        if error.kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"aitip\"" }
        if !error.allowedMethods.isEmpty { headers[.allow] = error.allowedMethods.joined(separator: ", ") }
        return Response(status: .init(code: error.kind.status), headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    package static func appError(from error: any Error, logger: Logger) -> AppError {
        switch error {
        case let error as AppError:
            if error.kind == .internalError { logger.error("internal error", metadata: ["error": "\(error.detail)"]) }
            return error
        case let error as ServerError:
            return fromOpenAPI(error, logger: logger)
        case let error as DecodingError:
            return DecodingProblem.appError(error)
        case let error as any HTTPResponseError:
            return fromHummingbird(error)
        default:
            if SQLErrors.isUniqueViolation(error) {
                return AppError.conflict("This conflicts with an existing resource (\(SQLErrors.constraintDescription(error)))")
            }
            logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return AppError(.internalError, "Something went wrong on the server; the request id in this response identifies it in the logs")
        }
    }

    /// The generated server wraps what handlers throw, and request-parsing failures, in `ServerError`.
    private static func fromOpenAPI(_ error: ServerError, logger: Logger) -> AppError {
        let underlying = error.underlyingError
        if let decoding = underlying as? DecodingError, [.get, .delete, .head].contains(error.request.method) {
            // Bodiless requests fail to decode only in their query or path parameters.
            return AppError.badRequest("A query or path parameter has an invalid value: \(DecodingProblem.describe(decoding))")
        }
        if underlying is AppError || underlying is DecodingError || SQLErrors.isUniqueViolation(underlying) {
            return appError(from: underlying, logger: logger)
        }
        // Errors raised by OpenAPIRuntime itself describe a request that does not fit the spec.
        if String(reflecting: type(of: underlying)).hasPrefix("OpenAPIRuntime.") {
            return AppError.badRequest("The request does not match the API: \(DecodingProblem.clean(error.causeDescription))")
        }
        return appError(from: underlying, logger: logger)
    }

    private static func fromHummingbird(_ error: any HTTPResponseError) -> AppError {
        switch error.status.code {
        case 404: return AppError(.notFound, "No route matches this path and method; see /api/docs")
        case 413: return AppError(.payloadTooLarge, "The request body is larger than this server accepts")
        case 400: return AppError.badRequest("The request could not be read")
        default:
            let kind = AppError.Kind.allStatusKinds[error.status.code] ?? .internalError
            return AppError(kind, kind.title)
        }
    }
}

extension AppError.Kind {
    static let allStatusKinds: [Int: AppError.Kind] = {
        let kinds: [AppError.Kind] = [
            .badRequest, .validation, .unauthorized, .forbidden, .notFound, .conflict,
            .payloadTooLarge, .tooManyRequests, .unavailable, .internalError,
        ]
        return Dictionary(uniqueKeysWithValues: kinds.map { ($0.status, $0) })
    }()
}

/// Explains JSON decoding failures in terms of the request's fields.
enum DecodingProblem {
    static func appError(_ error: DecodingError) -> AppError {
        switch error {
        case .keyNotFound(let key, let context):
            return .validation([FieldError(field: path(context.codingPath + [key]), message: "is required")])
        case .typeMismatch(let type, let context):
            return .validation([FieldError(field: path(context.codingPath), message: "must be \(describe(type))")])
        case .valueNotFound(let type, let context):
            return .validation([FieldError(field: path(context.codingPath), message: "must be \(describe(type)), not null")])
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .badRequest("The body is not valid JSON")
            }
            return .validation([FieldError(field: path(context.codingPath), message: "has an invalid value: \(clean(context.debugDescription))")])
        @unknown default:
            return .badRequest("The body could not be decoded")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let field = context.codingPath.isEmpty ? "a value" : path(context.codingPath)
            return "\(field) must be \(describe(type))"
        case .keyNotFound(let key, _):
            return "\(key.stringValue) is required"
        case .dataCorrupted(let context):
            return clean(context.debugDescription)
        @unknown default:
            return "it could not be decoded"
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        let text = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
        return text.hasPrefix(".") ? String(text.dropFirst()) : (text.isEmpty ? "body" : text)
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).contains("Array") ? "an array" : "an object"
        }
    }

    /// Strips Swift type names from runtime messages before they reach a client.
    static func clean(_ text: String) -> String {
        String(text.prefix(300))
    }
}
