/// RFC 9457 problem details, the body of every error response.
public struct ProblemDetails: Codable, Sendable, Equatable {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    public var instance: String?
    public var errors: [FieldError]?
    public var requestId: String?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance, errors
        case requestId = "request_id"
    }

    public static let typeBase = "https://aitip.dev/problems/"

    public init(_ error: AppError, instance: String?, requestId: String?) {
        self.type = Self.typeBase + error.kind.rawValue
        self.title = error.kind.title
        self.status = error.kind.status
        self.detail = error.detail
        self.instance = instance
        self.errors = error.fieldErrors.isEmpty ? nil : error.fieldErrors
        self.requestId = requestId
    }
}
