import AITIPAPI
import AITIPCore
import Foundation
import Identity
import OpenAPIRuntime
import Workloads

/// Implements the generated `APIProtocol`: parse ids and paging, call the service, map domain values to wire
/// types. No business rules live here. Split by area into `APIImplementation+<Area>.swift`.
struct APIImplementation: APIProtocol {
    let dependencies: ServerDependencies

    init(_ dependencies: ServerDependencies) {
        self.dependencies = dependencies
    }

    /// The authenticated caller of the current request (set by AuthenticationMiddleware).
    var caller: Caller { RequestScope.caller }
}

/// Parsing of path and query values into domain types, with field-level errors.
enum Parse {
    static func id(_ text: String, _ field: String) throws(AppError) -> UUID {
        guard let id = UUID(uuidString: text) else {
            throw AppError(
                .badRequest, "\(field) '\(text.prefix(64))' is not a valid UUID",
                fieldErrors: [FieldError(field: field, message: "must be a UUID")])
        }
        return id
    }

    /// A `status` filter of a workload list: comma-separated states.
    static func workloadStates(_ text: String?) throws(AppError) -> [WorkloadState] {
        var states: [WorkloadState] = []
        for name in (text ?? "").split(separator: ",") where !name.isEmpty {
            guard let state = WorkloadState(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw AppError.badRequest("Unknown status '\(name)': use \(WorkloadState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            states.append(state)
        }
        return states
    }

    static func optionalId(_ text: String?, _ field: String) throws(AppError) -> UUID? {
        guard let text, !text.isEmpty else { return nil }
        return try id(text, field)
    }

    static func page(limit: Int?, cursor: String?) throws(AppError) -> PageRequest {
        try PageRequest(limit: limit, cursor: cursor)
    }
}

/// Free-form JSON objects cross between the generated payload types and `JSONObject` through their JSON form.
enum FreeForm {
    static func wire<Payload: FreeFormPayload>(_ jsonText: String, as type: Payload.Type = Payload.self) -> Payload {
        // Most settings are empty: skip the decoder for them (it showed in list-request profiles).
        guard jsonText != "{}", !jsonText.isEmpty,
            let decoded = try? JSONDecoder().decode(Payload.self, from: Data(jsonText.utf8))
        else {
            return Payload(additionalProperties: .init())
        }
        return decoded
    }

    static func domain(_ payload: (some Encodable)?) -> JSONObject? {
        guard let payload, let data = try? JSONEncoder().encode(payload) else { return nil }
        return try? JSONDecoder().decode(JSONObject.self, from: data)
    }
}

/// The generated types of free-form objects (`additionalProperties: true`).
protocol FreeFormPayload: Decodable {
    init(additionalProperties: OpenAPIObjectContainer)
}

extension Components.Schemas.Organization.SettingsPayload: FreeFormPayload {}
extension Components.Schemas.Organization.QuotaPayload: FreeFormPayload {}
extension Components.Schemas.Project.SettingsPayload: FreeFormPayload {}

extension Components.Schemas.User {
    init(_ user: User) {
        self.init(
            id: user.id.lowercasedString, email: user.email, username: user.username, orgId: user.orgId?.lowercasedString,
            lastLoginAt: user.lastLoginMs.map(Date.init(epochMilliseconds:)), createdAt: Date(epochMilliseconds: user.createdMs))
    }
}

extension Components.Schemas.Organization {
    init(_ org: Organization) {
        self.init(
            id: org.id.lowercasedString, name: org.name, slug: org.slug, plan: PlanPayload(rawValue: org.plan) ?? .free,
            settings: FreeForm.wire(org.settings), quota: FreeForm.wire(org.quota), createdAt: Date(epochMilliseconds: org.createdMs),
            updatedAt: Date(epochMilliseconds: org.updatedMs))
    }
}

extension Components.Schemas.Project {
    init(_ project: Project) {
        self.init(
            id: project.id.lowercasedString, orgId: project.orgId.lowercasedString, ownerId: project.ownerId?.lowercasedString,
            name: project.name, slug: project.slug, description: project.description,
            settings: FreeForm.wire(project.settings), createdAt: Date(epochMilliseconds: project.createdMs),
            updatedAt: Date(epochMilliseconds: project.updatedMs))
    }
}

extension Components.Schemas.Member {
    init(_ member: Member) {
        self.init(
            userId: member.userId.lowercasedString, username: member.username, email: member.email,
            role: Components.Schemas.Role(rawValue: member.role.rawValue)!, createdAt: Date(epochMilliseconds: member.createdMs))
    }
}

extension Components.Schemas.ApiKey {
    init(_ key: APIKey) {
        self.init(
            id: key.id.lowercasedString, name: key.name, orgId: key.orgId.lowercasedString, prefix: key.prefix,
            scopes: key.scopes, expiresAt: key.expiresMs.map(Date.init(epochMilliseconds:)),
            lastUsedAt: key.lastUsedMs.map(Date.init(epochMilliseconds:)), revokedAt: key.revokedMs.map(Date.init(epochMilliseconds:)),
            createdAt: Date(epochMilliseconds: key.createdMs))
    }
}

extension Components.Schemas.AuditEntry {
    init(_ entry: AuditEntry) {
        self.init(
            id: entry.id.lowercasedString, orgId: entry.orgId?.lowercasedString, actorId: entry.actorId?.lowercasedString,
            actorName: entry.actorName, apiKeyId: entry.apiKeyId?.lowercasedString, action: entry.action,
            targetType: entry.targetType, targetId: entry.targetId, requestId: entry.requestId,
            clientAddress: entry.clientAddress, outcome: .init(rawValue: entry.outcome.rawValue)!,
            statusCode: entry.statusCode, detail: entry.detail, createdAt: Date(epochMilliseconds: entry.createdMs))
    }
}
