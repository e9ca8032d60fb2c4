import Foundation

/// Who is making a request, as established by authentication. Built per request from the database, so a role
/// change or a revoked key takes effect on the next request.
package struct Principal: Sendable, Equatable {
    package enum Credential: Sendable, Equatable {
        /// A JWT access token of a login session.
        case session(id: UUID)
        /// An API key bound to one organization, with scopes that narrow the owner's role there.
        case apiKey(id: UUID, orgId: UUID, scopes: Set<Permission>)
    }

    package var userId: UUID
    package var username: String
    package var credential: Credential
    /// The user's role in each organization they belong to.
    package var memberships: [UUID: Role]
    /// The organization the account was made in (by registration, or by an admin), if it still exists.
    package var homeOrgId: UUID?

    package init(userId: UUID, username: String, credential: Credential, memberships: [UUID: Role], homeOrgId: UUID? = nil) {
        self.userId = userId
        self.username = username
        self.credential = credential
        self.memberships = memberships
        self.homeOrgId = homeOrgId
    }

    /// The organization a call that names none works in: the API key's, the only one, or else the home one.
    package var defaultOrgId: UUID? {
        if case .apiKey(_, let orgId, _) = credential { return memberships[orgId] == nil ? nil : orgId }
        if memberships.count == 1 { return memberships.keys.first }
        return homeOrgId.flatMap { memberships[$0] == nil ? nil : $0 }
    }

    package var apiKeyId: UUID? {
        if case .apiKey(let id, _, _) = credential { return id }
        return nil
    }

    /// Organizations this principal may see at all: every membership for a session; only the key's own
    /// organization for an API key.
    package var visibleOrgIds: [UUID] {
        switch credential {
        case .session: Array(memberships.keys)
        case .apiKey(_, let orgId, _): memberships[orgId] == nil ? [] : [orgId]
        }
    }

    /// The effective rights in one organization: the role's permissions, intersected with the key's scopes.
    package func permissions(in orgId: UUID) -> Set<Permission> {
        guard let role = memberships[orgId] else { return [] }
        switch credential {
        case .session:
            return role.permissions
        case .apiKey(_, let keyOrg, let scopes):
            return keyOrg == orgId ? role.permissions.intersection(scopes) : []
        }
    }
}

/// Where a request came from: recorded with every audit entry.
package struct RequestOrigin: Sendable, Equatable {
    package var requestId: String
    package var clientAddress: String?
    package var userAgent: String?

    package init(requestId: String, clientAddress: String?, userAgent: String? = nil) {
        self.requestId = requestId
        self.clientAddress = clientAddress
        self.userAgent = userAgent
    }

    package static let system = RequestOrigin(requestId: "system", clientAddress: nil)
}
