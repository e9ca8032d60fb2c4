import AITIPCore
import Foundation
import SQLKit
import Storage

package struct APIKeyInput: Sendable {
    package var name: String?
    package var orgId: UUID?
    package var scopes: [String]?
    package var expiresAt: Date?

    package init(name: String? = nil, orgId: UUID? = nil, scopes: [String]? = nil, expiresAt: Date? = nil) {
        self.name = name
        self.orgId = orgId
        self.scopes = scopes
        self.expiresAt = expiresAt
    }
}

/// Personal API keys. A key is bound to one organization; its scopes narrow the owner's role there. The secret is
/// returned once at creation; only its SHA-256 digest is stored.
package struct APIKeyService: Sendable {
    /// The scope that means "whatever my role allows".
    package static let allScopes = "*"

    let database: Database
    let clock: any Clock
    let audit: AuditLog
    let cache: PrincipalCache

    package init(database: Database, clock: any Clock, audit: AuditLog, cache: PrincipalCache) {
        self.database = database
        self.clock = clock
        self.audit = audit
        self.cache = cache
    }

    package func list(_ caller: Caller, page: PageRequest) async throws -> Page<APIKey> {
        let principal = try caller.requirePrincipal()
        try requireKeyPermission(principal, .apiKeysRead)
        let keyOrg: UUID? = if case .apiKey(_, let orgId, _) = principal.credential { orgId } else { nil }
        return try await database.read { sql in try await APIKeyStore.list(userId: principal.userId, orgId: keyOrg, page: page, on: sql) }
    }

    package func create(_ input: APIKeyInput, caller: Caller) async throws -> (key: APIKey, secret: String) {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        let name = validator.requireText(input.name, "name", maxLength: 255)
        let scopes = input.scopes ?? [Self.allScopes]
        validator.check(!scopes.isEmpty, "scopes", "must list at least one permission, or \"*\"")
        for scope in scopes where scope != Self.allScopes && Permission(scope) == nil {
            validator.add("scopes", "'\(scope)' is not a permission; use area:action such as training:read")
        }
        let now = clock.now()
        if let expiresAt = input.expiresAt { validator.check(expiresAt > now, "expires_at", "must be in the future") }
        var orgId = input.orgId
        if orgId == nil {
            if case .apiKey(_, let keyOrg, _) = principal.credential {
                orgId = keyOrg
            } else if principal.visibleOrgIds.count == 1 {
                orgId = principal.visibleOrgIds.first
            } else {
                validator.add("org_id", "is required when you belong to several organizations")
            }
        }
        try validator.finish()
        guard let orgId else { throw AppError.validation(validator.errors) }
        try Policy.authorize(principal, .apiKeysWrite, inOrg: orgId)
        if case .apiKey(_, _, let keyScopes) = principal.credential {
            // A key may mint keys only as narrow as itself.
            let requested = Self.expand(scopes)
            guard requested.isSubset(of: keyScopes) else {
                throw AppError.forbidden("An API key can only create keys with scopes it holds itself")
            }
        }
        let secret = SecretToken.newAPIKey()
        let normalized = scopes.contains(Self.allScopes) ? [Self.allScopes] : Array(Set(scopes)).sorted()
        let scopesJSON = String(decoding: try JSONEncoder().encode(normalized), as: UTF8.self)
        let key = APIKey(
            id: IDGenerator.uuidV7(at: now), userId: principal.userId, orgId: orgId, name: name,
            prefix: String(secret.prefix(12)), keyHash: SecretToken.sha256(secret), permissions: scopesJSON,
            expiresMs: input.expiresAt?.epochMilliseconds, lastUsedMs: nil, revokedMs: nil,
            createdMs: now.epochMilliseconds)
        try await database.transaction { sql in
            try await sql.insert(key, into: "api_keys")
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "api_key.create", targetType: "api_key",
                targetId: key.id.lowercasedString, detail: "scopes=\(normalized.joined(separator: ","))")
        }
        return (key, secret)
    }

    /// Revokes one of the caller's keys; organization admins may revoke any key of their organization.
    package func revoke(_ id: UUID, caller: Caller) async throws -> APIKey {
        let principal = try caller.requirePrincipal()
        let now = clock.now()
        let revoked = try await database.transaction { sql in
            guard var key = try await APIKeyStore.find(id, on: sql) else { throw AppError.notFound("API key") }
            if key.userId == principal.userId {
                try Policy.authorize(principal, .apiKeysWrite, inOrg: key.orgId)
            } else {
                // Managing other people's keys is managing members: admins and owners.
                try Policy.authorize(principal, .membersWrite, on: Policy.Resource(kind: "API key", orgId: key.orgId, createdBy: key.userId))
            }
            if key.revokedMs == nil {
                try await APIKeyStore.revoke(id, at: now, on: sql)
                key.revokedMs = now.epochMilliseconds
            }
            try await audit.record(
                on: sql, caller, orgId: key.orgId, action: "api_key.revoke", targetType: "api_key",
                targetId: id.lowercasedString)
            return key
        }
        cache.forget(userId: revoked.userId)
        return revoked
    }

    /// The permissions a key's scopes grant. Changing something includes seeing it: a `write`, `delete` or `approve`
    /// scope brings the `read` of its area (a key scoped to `experiments:write` can read the run it logs to), as
    /// every role that can change an area can read it.
    static func expand(_ scopes: [String]) -> Set<Permission> {
        if scopes.contains(allScopes) { return Permission.all }
        let listed = Set(scopes.compactMap(Permission.init))
        return listed.union(listed.map { Permission($0.area, .read) })
    }

    /// Listing keys is about the caller's own keys; an API key needs the scope to do it.
    private func requireKeyPermission(_ principal: Principal, _ permission: Permission) throws(AppError) {
        if case .apiKey(_, let orgId, _) = principal.credential {
            try Policy.authorize(principal, permission, inOrg: orgId)
        }
    }
}
