import AITIPCore
import Foundation
import Logging
import SQLKit
import Storage

/// First start: with no users at all, create the `admin` user who owns a `default` organization with a
/// `default` project. The password comes from configuration or is generated and returned to be shown once.
package struct IdentityBootstrap: Sendable {
    package struct Result: Sendable {
        package var userId: UUID
        package var username: String
        package var password: String?
        package var organization: Organization
        package var project: Project
    }

    package static let adminUsername = "admin"

    let database: Database
    let hasher: PasswordHasher
    let clock: any Clock

    package init(database: Database, hasher: PasswordHasher, clock: any Clock) {
        self.database = database
        self.hasher = hasher
        self.clock = clock
    }

    /// Returns what it created, or nil when the database already has users. `password` in the result is set only
    /// when it was generated here.
    package func run(adminPassword: String?) async throws -> Result? {
        guard try await database.read({ sql in try await UserStore.count(on: sql) }) == 0 else { return nil }
        if let adminPassword {
            var validator = Validator()
            _ = UserValidation.check(email: "admin@localhost.local", username: Self.adminUsername, password: adminPassword, into: &validator)
            try validator.finish()
        }
        let password = adminPassword ?? SecretToken.random(bytes: 15)
        let hash = try await hasher.hash(password)
        let now = clock.now()
        do {
            return try await database.transaction { sql in
                guard try await UserStore.count(on: sql) == 0 else { return nil }
                let org = try await OrganizationService.insertOrganization(name: "Default", preferredSlug: "default", now: now, on: sql)
                let user = User(
                    id: IDGenerator.uuidV7(at: now), orgId: org.id, email: "admin@localhost.local",
                    username: Self.adminUsername, passwordHash: hash, settings: "{}", lastLoginMs: nil,
                    createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
                try await sql.insert(user, into: "users")
                try await sql.insert(Membership(orgId: org.id, userId: user.id, role: .owner, createdMs: now.epochMilliseconds), into: "org_members")
                let project = Project.starter(orgId: org.id, ownerId: user.id, now: now, description: "Created on first start")
                try await sql.insert(project, into: "projects")
                try await AuditStore.insert(
                    AuditEntry(
                        orgId: org.id, actorId: nil, actorName: "system", apiKeyId: nil,
                        action: "system.bootstrap", targetType: "user", targetId: user.id.lowercasedString,
                        requestId: "bootstrap", clientAddress: nil, outcome: .success,
                        statusCode: nil, detail: "created admin, default organization and project",
                        createdMs: now.epochMilliseconds), on: sql)
                return Result(
                    userId: user.id, username: Self.adminUsername, password: adminPassword == nil ? password : nil,
                    organization: org, project: project)
            }
        } catch  where SQLErrors.isUniqueViolation(error) {
            return nil // another replica bootstrapped at the same moment
        }
    }

    /// The ring as stored now (a read: it is reloaded while a login's transaction may hold SQLite's writer).
    package static func currentSigningKeys(database: Database) async throws -> [SigningKey] {
        try await database.read { sql in try await SigningKeyStore.all(on: sql) }
    }

    /// The access-token signing keys, the first one made on first start; every replica shares them.
    package static func signingKeys(database: Database, clock: any Clock) async throws -> [SigningKey] {
        try await database.transaction { sql in
            let keys = try await SigningKeyStore.all(on: sql)
            if !keys.isEmpty { return keys }
            try await SigningKeyStore.insert(SigningKeyRotation.newKey(at: clock.now()), on: sql)
            return try await SigningKeyStore.all(on: sql)
        }
    }
}

/// `aitip admin rotate-signing-key`: a new key signs from now on. The old keys retire: they still verify the
/// tokens they signed (at most one access-token lifetime more), unless `revoke` removes them at once (after a
/// leak: every access token signed before is refused, and clients refresh). Running servers pick the change up
/// within `AccessTokens.reloadInterval`.
package enum SigningKeyRotation {
    package struct Result: Sendable {
        package var kid: String
        package var retired: [String]
        package var revoked: [String]
    }

    static func newKey(at now: Date) -> SigningKey {
        SigningKey(kid: String(SecretToken.random(bytes: 9).prefix(12)), secret: SecretToken.random(bytes: 48), createdAt: now)
    }

    package static func rotate(database: Database, clock: any Clock, revoke: Bool, accessTokenLifetime: TimeInterval) async throws -> Result {
        let now = clock.now()
        let key = newKey(at: now)
        return try await database.transaction { sql in
            let before = try await SigningKeyStore.all(on: sql)
            try await SigningKeyStore.insert(key, on: sql)
            if revoke {
                try await SigningKeyStore.delete(allBut: key.kid, on: sql)
                return Result(kid: key.kid, retired: [], revoked: before.map(\.kid))
            }
            try await SigningKeyStore.retire(allBut: key.kid, at: now, on: sql)
            try await SigningKeyStore.deleteRetired(before: now.addingTimeInterval(-accessTokenLifetime), on: sql)
            return Result(kid: key.kid, retired: before.filter { $0.retiredAt == nil }.map(\.kid), revoked: [])
        }
    }
}
