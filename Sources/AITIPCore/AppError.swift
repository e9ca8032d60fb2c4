/// The one error type that crosses module boundaries. HTTPServer turns it into RFC 9457 problem+json;
/// the message in `detail` is written for the person who sent the request, never a stack trace.
public struct AppError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case badRequest = "bad-request"
        case validation = "validation-failed"
        case unauthorized
        case forbidden
        case notFound = "not-found"
        case conflict
        case payloadTooLarge = "payload-too-large"
        case timeout = "request-timeout"
        case tooManyRequests = "too-many-requests"
        case unavailable = "service-unavailable"
        case internalError = "internal-error"

        public var status: Int {
            switch self {
            case .badRequest: 400
            case .validation: 422
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .conflict: 409
            case .payloadTooLarge: 413
            case .timeout: 408
            case .tooManyRequests: 429
            case .unavailable: 503
            case .internalError: 500
            }
        }

        public var title: String {
            switch self {
            case .badRequest: "Bad request"
            case .validation: "Validation failed"
            case .unauthorized: "Authentication required"
            case .forbidden: "Permission denied"
            case .notFound: "Not found"
            case .conflict: "Conflict"
            case .payloadTooLarge: "Payload too large"
            case .timeout: "Request timeout"
            case .tooManyRequests: "Too many requests"
            case .unavailable: "Service unavailable"
            case .internalError: "Internal server error"
            }
        }
    }

    public var kind: Kind
    public var detail: String
    public var fieldErrors: [FieldError]
    /// Seconds a client should wait before retrying (429, 503).
    public var retryAfterSeconds: Int?

    public init(_ kind: Kind, _ detail: String, fieldErrors: [FieldError] = [], retryAfterSeconds: Int? = nil) {
        self.kind = kind
        self.detail = detail
        self.fieldErrors = fieldErrors
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(kind.rawValue): \(detail)" }

    public static func badRequest(_ detail: String) -> AppError { .init(.badRequest, detail) }
    public static func unauthorized(_ detail: String) -> AppError { .init(.unauthorized, detail) }
    public static func forbidden(_ detail: String) -> AppError { .init(.forbidden, detail) }
    public static func conflict(_ detail: String) -> AppError { .init(.conflict, detail) }
    public static func notFound(_ what: String) -> AppError { .init(.notFound, "\(what) was not found") }
    public static func validation(_ errors: [FieldError]) -> AppError {
        let summary = errors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        return .init(.validation, "The request has invalid fields: \(summary)", fieldErrors: errors)
    }
}

/// One invalid field of a request body or query, reported in problem+json `errors`.
public struct FieldError: Codable, Sendable, Equatable {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}
