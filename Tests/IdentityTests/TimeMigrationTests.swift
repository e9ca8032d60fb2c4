import AITIPCore
import AITIPTestSupport
import Foundation
import SQLKit
import Storage
import Testing

@testable import Identity

/// Migration 26 turns every identity time into epoch milliseconds: a database written by an older aitip keeps every
/// value (rounded to the millisecond) and every null.
@Suite("Identity times move to epoch milliseconds")
struct TimeMigrationTests {
    static let before = IdentityMigrations.all.filter { $0.version < 26 }
    /// 0.6 of a millisecond past a whole one: the API showed .123, and so does the migrated value on both databases.
    static let then = Date(timeIntervalSince1970: 1_700_000_000.1236)
    static let thenMs: Int64 = 1_700_000_000_123
    static let later = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(
        "rows written before the migration read back as the API showed them, to the millisecond; nulls stay null", arguments: DatabaseKind.available)
    func keepsValuesAndNulls(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            try await Migrator(database: database, migrations: Self.before, logger: TestEnvironment.logger).migrate()
            let (org, user, key, session, invitation) = (UUID(), UUID(), UUID(), UUID(), UUID())
            try await database.transaction { sql in
                try await Self.insert(
                    "organizations", ["id": org, "name": "Acme", "slug": "acme", "created_at": Self.then, "updated_at": Self.later], on: sql)
                try await Self.insert(
                    "users",
                    ["id": user, "org_id": org, "email": "a@example.com", "username": "ann", "created_at": Self.then, "updated_at": Self.then],
                    on: sql)
                try await Self.insert("org_members", ["org_id": org, "user_id": user, "role": "owner", "created_at": Self.then], on: sql)
                try await Self.insert(
                    "api_keys",
                    [
                        "id": key, "user_id": user, "org_id": org, "name": "ci", "prefix": "aitip_x", "key_hash": "h", "revoked_at": Self.later,
                        "created_at": Self.then,
                    ], on: sql)
                try await Self.insert(
                    "refresh_sessions",
                    [
                        "id": session, "user_id": user, "token_hash": "t", "generation": 1, "created_at": Self.then, "rotated_at": Self.then,
                        "expires_at": Self.later,
                    ], on: sql)
                try await Self.insert(
                    "audit_log",
                    [
                        "id": UUID(), "org_id": org, "action": "org.create", "target_type": "organization", "request_id": "r", "outcome": "success",
                        "created_at": Self.then,
                    ], on: sql)
                try await Self.insert("signing_keys", ["kid": "k1", "secret": String(repeating: "s", count: 48), "created_at": Self.then], on: sql)
                try await Self.insert(
                    "invitations",
                    [
                        "id": invitation, "org_id": org, "invitee": "bob", "role": "member", "status": "pending", "created_at": Self.then,
                        "expires_at": Self.later,
                    ], on: sql)
            }

            // As a server upgrades: the migration on connections of its own, then a pool opened after it.
            try await Migrator.migrate(database.url, migrations: IdentityMigrations.all, logger: TestEnvironment.logger)
            let upgraded = try Database(url: database.url, logger: TestEnvironment.logger)
            do {
                try await Self.expectMilliseconds(on: upgraded, org: org, user: user, key: key, session: session, invitation: invitation)
            } catch {
                await upgraded.shutdown()
                throw error
            }
            await upgraded.shutdown()
        }
    }

    private static func expectMilliseconds(on database: Database, org: UUID, user: UUID, key: UUID, session: UUID, invitation: UUID) async throws {
        try await database.read { sql in
            let organization = try #require(try await sql.select().column("*").from("organizations").row(Organization.self))
            #expect(organization.createdMs == Self.thenMs && organization.updatedMs == 1_800_000_000_000)
            let account = try #require(try await UserStore.find(user, on: sql))
            #expect(account.createdMs == Self.thenMs && account.lastLoginMs == nil)
            #expect(try await OrganizationStore.membership(org: org, user: user, on: sql)?.createdMs == Self.thenMs)
            let apiKey = try #require(try await APIKeyStore.find(key, on: sql))
            #expect(apiKey.createdMs == Self.thenMs && apiKey.revokedMs == 1_800_000_000_000)
            #expect(apiKey.expiresMs == nil && apiKey.lastUsedMs == nil)
            let login = try #require(try await SessionStore.find(session, on: sql))
            #expect(login.rotatedMs == Self.thenMs && login.expiresMs == 1_800_000_000_000 && login.revokedMs == nil)
            // The live-session query compares milliseconds now: this session is live before it expires.
            #expect(try await PrincipalStore.forSession(session, userId: user, now: Self.then, on: sql).count == 1)
            #expect(try await PrincipalStore.forSession(session, userId: user, now: Self.later, on: sql).isEmpty)
            let entries = try await AuditStore.list(
                orgIds: [org], filter: AuditFilter(since: Date(epochMilliseconds: Self.thenMs)), page: PageRequest(limit: 10), on: sql)
            #expect(entries.items.map(\.createdMs) == [Self.thenMs])
            let keys = try await SigningKeyStore.all(on: sql)
            #expect(keys.map(\.createdAt.epochMilliseconds) == [Self.thenMs] && keys.first?.retiredAt == nil)
            let offer = try #require(try await InvitationStore.find(invitation, on: sql))
            #expect(offer.createdMs == Self.thenMs && offer.respondedMs == nil)
        }
        // The old columns are gone.
        await #expect(throws: (any Error).self) {
            try await database.read { sql in try await sql.raw("SELECT created_at FROM organizations").run() }
        }
    }

    private static func insert(_ table: String, _ values: [String: any Encodable & Sendable], on sql: any SQLDatabase) async throws {
        let columns = values.keys.sorted()
        try await sql.insert(into: table).columns(columns).values(columns.map { SQLBind(values[$0]!) }).run()
    }
}
