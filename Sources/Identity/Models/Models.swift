import AITIPCore
import Foundation

// Rows of the identity tables (design §3). Stored JSON columns are text; services expose them as JSONObject.

package struct Organization: Codable, Sendable, Equatable {
    package var id: UUID
    package var name: String
    package var slug: String
    package var plan: String
    package var settings: String
    package var quota: String
    package var createdMs: Int64
    package var updatedMs: Int64

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case name
        case slug
        case plan
        case settings
        case quota
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }
}

package struct User: Codable, Sendable, Equatable {
    package var id: UUID
    /// The organization the user belongs to first (their home organization); memberships list all of them.
    package var orgId: UUID?
    package var email: String
    package var username: String
    package var passwordHash: String?
    package var settings: String
    package var lastLoginMs: Int64?
    package var createdMs: Int64
    package var updatedMs: Int64

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case orgId = "org_id"
        case email
        case username
        case passwordHash = "password_hash"
        case settings
        case lastLoginMs = "last_login_ms"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }
}

package struct Membership: Codable, Sendable, Equatable {
    package var orgId: UUID
    package var userId: UUID
    package var role: Role
    package var createdMs: Int64

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case orgId = "org_id"
        case userId = "user_id"
        case role
        case createdMs = "created_ms"
    }
}

/// A member as listed by an organization: the membership with the user's public fields.
package struct Member: Codable, Sendable, Equatable {
    package var userId: UUID
    package var username: String
    package var email: String
    package var role: Role
    package var createdMs: Int64

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case userId = "user_id"
        case username
        case email
        case role
        case createdMs = "created_ms"
    }
}

package struct Project: Codable, Sendable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var ownerId: UUID?
    package var name: String
    package var slug: String
    package var description: String?
    package var settings: String
    package var createdMs: Int64
    package var updatedMs: Int64

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case orgId = "org_id"
        case ownerId = "owner_id"
        case name
        case slug
        case description
        case settings
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }
}

extension Project {
    /// The project every new organization starts with: slug `default`, which MLflow's plain tracking URI
    /// (`http://HOST`, no `/mlflow/<org>/<project>`) logs to, so the client works from the first sign-in.
    static func starter(orgId: UUID, ownerId: UUID, now: Date, description: String) -> Project {
        Project(
            id: IDGenerator.uuidV7(at: now), orgId: orgId, ownerId: ownerId, name: "Default", slug: "default", description: description,
            settings: "{}", createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
    }
}

package struct APIKey: Codable, Sendable, Equatable {
    package var id: UUID
    package var userId: UUID
    package var orgId: UUID
    package var name: String
    /// The first characters of the key, shown in lists so a user can tell keys apart.
    package var prefix: String
    package var keyHash: String
    /// JSON array of permission strings; `["*"]` means "whatever my role allows".
    package var permissions: String
    package var expiresMs: Int64?
    package var lastUsedMs: Int64?
    package var revokedMs: Int64?
    package var createdMs: Int64

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case userId = "user_id"
        case orgId = "org_id"
        case name
        case prefix
        case keyHash = "key_hash"
        case permissions
        case expiresMs = "expires_ms"
        case lastUsedMs = "last_used_ms"
        case revokedMs = "revoked_ms"
        case createdMs = "created_ms"
    }

    package var scopes: [String] {
        (try? JSONDecoder().decode([String].self, from: Data(permissions.utf8))) ?? []
    }
}

/// A login session: one refresh-token family. Each refresh rotates the secret; presenting an older secret
/// means the token was stolen or replayed, and revokes the whole session.
package struct RefreshSession: Codable, Sendable, Equatable {
    package var id: UUID
    package var userId: UUID
    package var tokenHash: String
    package var generation: Int
    package var clientAddress: String?
    package var userAgent: String?
    package var createdMs: Int64
    package var rotatedMs: Int64
    package var expiresMs: Int64
    package var revokedMs: Int64?
    package var revokedReason: String?

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case userId = "user_id"
        case tokenHash = "token_hash"
        case generation
        case clientAddress = "client_address"
        case userAgent = "user_agent"
        case createdMs = "created_ms"
        case rotatedMs = "rotated_ms"
        case expiresMs = "expires_ms"
        case revokedMs = "revoked_ms"
        case revokedReason = "revoked_reason"
    }
}

package struct AuditEntry: Codable, Sendable, Equatable {
    package enum Outcome: String, Codable, Sendable, CaseIterable {
        case success, failure, denied
    }

    package var id: UUID
    package var orgId: UUID?
    package var actorId: UUID?
    package var actorName: String?
    package var apiKeyId: UUID?
    package var action: String
    package var targetType: String
    package var targetId: String?
    package var requestId: String
    package var clientAddress: String?
    package var outcome: Outcome
    package var statusCode: Int?
    package var detail: String?
    package var createdMs: Int64

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case orgId = "org_id"
        case actorId = "actor_id"
        case actorName = "actor_name"
        case apiKeyId = "api_key_id"
        case action
        case targetType = "target_type"
        case targetId = "target_id"
        case requestId = "request_id"
        case clientAddress = "client_address"
        case outcome
        case statusCode = "status_code"
        case detail
        case createdMs = "created_ms"
    }

    package init(
        id: UUID = IDGenerator.uuidV7(), orgId: UUID?, actorId: UUID?, actorName: String?, apiKeyId: UUID?,
        action: String, targetType: String, targetId: String?, requestId: String, clientAddress: String?,
        outcome: Outcome, statusCode: Int?, detail: String?, createdMs: Int64
    ) {
        self.id = id
        self.orgId = orgId
        self.actorId = actorId
        self.actorName = actorName
        self.apiKeyId = apiKeyId
        self.action = action
        self.targetType = targetType
        self.targetId = targetId
        self.requestId = requestId
        self.clientAddress = clientAddress
        self.outcome = outcome
        self.statusCode = statusCode
        self.detail = detail
        self.createdMs = createdMs
    }
}

/// An offer to join an organization, made by one of its admins to a person named by username, email or user id,
/// which only that person can accept. Invitations are stored as named, whether or not such an account exists, so
/// inviting tells the inviter nothing about other people's accounts.
package struct Invitation: Codable, Sendable, Equatable {
    package enum Status: String, Codable, Sendable {
        case pending, accepted, declined, revoked
    }

    package var id: UUID
    package var orgId: UUID
    /// The name the admin gave, lowercased: a username, an email address, or a user id.
    package var invitee: String
    package var role: Role
    package var invitedBy: UUID?
    package var status: Status
    package var createdMs: Int64
    package var expiresMs: Int64
    package var respondedMs: Int64?

    enum CodingKeys: String, CodingKey {
        case id
        case orgId = "org_id"
        case invitee
        case role
        case invitedBy = "invited_by"
        case status
        case createdMs = "created_ms"
        case expiresMs = "expires_ms"
        case respondedMs = "responded_ms"
    }
}
