/// The one error type that crosses module boundaries. HTTPServer turns it into RFC 9457 problem+json;
/// the message in `detail` is written for the person who sent the request, never a stack trace.
package struct AppError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable, Equatable {
        case badRequest = "bad-request"
        case validation = "validation-failed"
        case unauthorized
        case forbidden
        case notFound = "not-found"
        case methodNotAllowed = "method-not-allowed"
        case conflict
        case payloadTooLarge = "payload-too-large"
        case timeout = "request-timeout"
        case tooManyRequests = "too-many-requests"
        case unavailable = "service-unavailable"
        case internalError = "internal-error"
        /// A replica behind the inference gateway failed to answer.
        case badGateway = "bad-gateway"
        case gatewayTimeout = "gateway-timeout"

        package var status: Int {
            switch self {
            case .badRequest: 400
            case .validation: 422
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .methodNotAllowed: 405
            case .conflict: 409
            case .payloadTooLarge: 413
            case .timeout: 408
            case .tooManyRequests: 429
            case .unavailable: 503
            case .internalError: 500
            case .badGateway: 502
            case .gatewayTimeout: 504
            }
        }

        package var title: String {
            switch self {
            case .badRequest: "Bad request"
            case .validation: "Validation failed"
            case .unauthorized: "Authentication required"
            case .forbidden: "Permission denied"
            case .notFound: "Not found"
            case .methodNotAllowed: "Method not allowed"
            case .conflict: "Conflict"
            case .payloadTooLarge: "Payload too large"
            case .timeout: "Request timeout"
            case .tooManyRequests: "Too many requests"
            case .unavailable: "Service unavailable"
            case .internalError: "Internal server error"
            case .badGateway: "Bad gateway"
            case .gatewayTimeout: "Gateway timeout"
            }
        }
    }

    package var kind: Kind
    package var detail: String
    package var fieldErrors: [FieldError]
    /// Seconds a client should wait before retrying (429, 503).
    package var retryAfterSeconds: Int?
    /// The methods the path does accept (405's `Allow`).
    package var allowedMethods: [String]

    package init(
        _ kind: Kind, _ detail: String, fieldErrors: [FieldError] = [], retryAfterSeconds: Int? = nil, allowedMethods: [String] = []
    ) {
        self.kind = kind
        self.detail = detail
        self.fieldErrors = fieldErrors
        self.retryAfterSeconds = retryAfterSeconds
        self.allowedMethods = allowedMethods
    }

    package var description: String { "\(kind.rawValue): \(detail)" }

    package static func badRequest(_ detail: String) -> AppError { .init(.badRequest, detail) }
    package static func unauthorized(_ detail: String) -> AppError { .init(.unauthorized, detail) }
    package static func forbidden(_ detail: String) -> AppError { .init(.forbidden, detail) }
    package static func conflict(_ detail: String) -> AppError { .init(.conflict, detail) }
    package static func notFound(_ what: String) -> AppError { .init(.notFound, "\(what) was not found") }
    package static func validation(_ errors: [FieldError]) -> AppError {
        let summary = errors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        return .init(.validation, "The request has invalid fields: \(summary)", fieldErrors: errors)
    }
}

/// One invalid field of a request body or query, reported in problem+json `errors`.
package struct FieldError: Codable, Sendable, Equatable {
    package var field: String
    package var message: String

    package init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}
