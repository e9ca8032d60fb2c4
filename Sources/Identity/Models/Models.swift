import AITIPCore
import Foundation

// Rows of the identity tables (design §3). Stored JSON columns are text; services expose them as JSONObject.

public struct Organization: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var slug: String
    public var plan: String
    public var settings: String
    public var quota: String
    public var createdAt: Date
    public var updatedAt: Date

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case name
        case slug
        case plan
        case settings
        case quota
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

public struct User: Codable, Sendable, Equatable {
    public var id: UUID
    /// The organization the user belongs to first (their home organization); memberships list all of them.
    public var orgId: UUID?
    public var email: String
    public var username: String
    public var passwordHash: String?
    public var settings: String
    public var lastLoginAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case orgId = "org_id"
        case email
        case username
        case passwordHash = "password_hash"
        case settings
        case lastLoginAt = "last_login_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

public struct Membership: Codable, Sendable, Equatable {
    public var orgId: UUID
    public var userId: UUID
    public var role: Role
    public var createdAt: Date

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case orgId = "org_id"
        case userId = "user_id"
        case role
        case createdAt = "created_at"
    }
}

/// A member as listed by an organization: the membership with the user's public fields.
public struct Member: Codable, Sendable, Equatable {
    public var userId: UUID
    public var username: String
    public var email: String
    public var role: Role
    public var createdAt: Date

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case userId = "user_id"
        case username
        case email
        case role
        case createdAt = "created_at"
    }
}

public struct Project: Codable, Sendable, Equatable {
    public var id: UUID
    public var orgId: UUID
    public var ownerId: UUID?
    public var name: String
    public var slug: String
    public var description: String?
    public var settings: String
    public var createdAt: Date
    public var updatedAt: Date

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case orgId = "org_id"
        case ownerId = "owner_id"
        case name
        case slug
        case description
        case settings
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

public struct APIKey: Codable, Sendable, Equatable {
    public var id: UUID
    public var userId: UUID
    public var orgId: UUID
    public var name: String
    /// The first characters of the key, shown in lists so a user can tell keys apart.
    public var prefix: String
    public var keyHash: String
    /// JSON array of permission strings; `["*"]` means "whatever my role allows".
    public var permissions: String
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    public var createdAt: Date

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case userId = "user_id"
        case orgId = "org_id"
        case name
        case prefix
        case keyHash = "key_hash"
        case permissions
        case expiresAt = "expires_at"
        case lastUsedAt = "last_used_at"
        case revokedAt = "revoked_at"
        case createdAt = "created_at"
    }

    public var scopes: [String] {
        (try? JSONDecoder().decode([String].self, from: Data(permissions.utf8))) ?? []
    }
}

/// A login session: one refresh-token family. Each refresh rotates the secret; presenting an older secret
/// means the token was stolen or replayed, and revokes the whole session.
public struct RefreshSession: Codable, Sendable, Equatable {
    public var id: UUID
    public var userId: UUID
    public var tokenHash: String
    public var generation: Int
    public var clientAddress: String?
    public var userAgent: String?
    public var createdAt: Date
    public var rotatedAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?
    public var revokedReason: String?

    // Column names, spelled out: a key-decoding strategy would re-derive them for every column of every row.
    enum CodingKeys: String, CodingKey {
        case id
        case userId = "user_id"
        case tokenHash = "token_hash"
        case generation
        case clientAddress = "client_address"
        case userAgent = "user_agent"
        case createdAt = "created_at"
        case rotatedAt = "rotated_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case revokedReason = "revoked_reason"
    }
}

public struct AuditEntry: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case success, failure, denied
    }

    public var id: UUID
    public var orgId: UUID?
    public var actorId: UUID?
    public var actorName: String?
    public var apiKeyId: UUID?
    public var action: String
    public var targetType: String
    public var targetId: String?
    public var requestId: String
    public var clientAddress: String?
    public var outcome: Outcome
    public var statusCode: Int?
    public var detail: String?
    public var createdAt: Date

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
        case createdAt = "created_at"
    }

    public init(id: UUID = IDGenerator.uuidV7(), orgId: UUID?, actorId: UUID?, actorName: String?, apiKeyId: UUID?,
                action: String, targetType: String, targetId: String?, requestId: String, clientAddress: String?,
                outcome: Outcome, statusCode: Int?, detail: String?, createdAt: Date) {
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
        self.createdAt = createdAt
    }
}

/// An offer to join an organization, made by one of its admins to a person named by username, email or user id,
/// which only that person can accept. Invitations are stored as named, whether or not such an account exists, so
/// inviting tells the inviter nothing about other people's accounts.
public struct Invitation: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case pending, accepted, declined, revoked
    }

    public var id: UUID
    public var orgId: UUID
    /// The name the admin gave, lowercased: a username, an email address, or a user id.
    public var invitee: String
    public var role: Role
    public var invitedBy: UUID?
    public var status: Status
    public var createdAt: Date
    public var expiresAt: Date
    public var respondedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id
        case orgId = "org_id"
        case invitee
        case role
        case invitedBy = "invited_by"
        case status
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case respondedAt = "responded_at"
    }
}
