/// RFC 9457 problem details, the body of every error response.
package struct ProblemDetails: Codable, Sendable, Equatable {
    package var type: String
    package var title: String
    package var status: Int
    package var detail: String
    package var instance: String?
    package var errors: [FieldError]?
    package var requestId: String?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance, errors
        case requestId = "request_id"
    }

    package static let typeBase = "https://aitip.dev/problems/"

    package init(_ error: AppError, instance: String?, requestId: String?) {
        self.type = Self.typeBase + error.kind.rawValue
        self.title = error.kind.title
        self.status = error.kind.status
        self.detail = error.detail
        self.instance = instance
        self.errors = error.fieldErrors.isEmpty ? nil : error.fieldErrors
        self.requestId = requestId
    }
}
