import Foundation

/// Something that happened in a module that others may react to (e.g. `project.deleted`).
public struct DomainEvent: Sendable, Equatable, Codable {
    public var id: UUID
    public var type: String
    public var orgId: UUID?
    public var subjectId: String
    public var occurredAt: Date
    public var payload: JSONObject

    public init(type: String, orgId: UUID?, subjectId: String, occurredAt: Date = Date(), payload: JSONObject = [:]) {
        self.id = IDGenerator.uuidV7(at: occurredAt)
        self.type = type
        self.orgId = orgId
        self.subjectId = subjectId
        self.occurredAt = occurredAt
        self.payload = payload
    }
}
