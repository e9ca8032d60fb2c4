import AITIPCore
import Foundation
import SQLKit
import Storage

enum UserStore {
    static func find(_ id: UUID, on sql: any SQLDatabase) async throws -> User? {
        try await sql.select().column("*").from("users").where("id", .equal, id).row(User.self)
    }

    /// Login accepts either the username or the email address.
    static func find(login: String, on sql: any SQLDatabase) async throws -> User? {
        let normalized = login.lowercased()
        return try await sql.select().column("*").from("users")
            .where("username", .equal, normalized).orWhere("email", .equal, normalized).row(User.self)
    }

    static func exists(username: String, email: String, on sql: any SQLDatabase) async throws -> (username: Bool, email: Bool) {
        let rows = try await sql.select().column("username").column("email").from("users")
            .where("username", .equal, username).orWhere("email", .equal, email)
            .rows(UsernameEmail.self)
        return (rows.contains { $0.username == username }, rows.contains { $0.email == email })
    }

    static func count(on sql: any SQLDatabase) async throws -> Int {
        let row = try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("users").first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    static func setPasswordHash(_ id: UUID, _ hash: String, at date: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("users").set("password_hash", to: hash).set("updated_ms", to: date.epochMilliseconds).where("id", .equal, id).run()
    }

    static func recordLogin(_ id: UUID, at date: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("users").set("last_login_ms", to: date.epochMilliseconds).where("id", .equal, id).run()
    }

    private struct UsernameEmail: Decodable {
        var username: String
        var email: String
    }
}

/// What authentication needs about a user in one query: the user and every membership.
struct PrincipalRow: Decodable {
    var userId: UUID
    var username: String
    var homeOrgId: UUID?
    var orgId: UUID?
    var role: Role?

    enum CodingKeys: String, CodingKey {
        case userId = "user_id", username, homeOrgId = "home_org_id", orgId = "org_id", role
    }
}

enum PrincipalStore {
    /// The user behind a live session (not revoked, not expired) with their memberships; empty when none.
    static func forSession(_ sessionId: UUID, userId: UUID, now: Date, on sql: any SQLDatabase) async throws -> [PrincipalRow] {
        try await withMemberships(
            sql.select()
                .from(SQLAlias(SQLIdentifier("refresh_sessions"), as: SQLIdentifier("s")))
                .join(
                    SQLAlias(SQLIdentifier("users"), as: SQLIdentifier("u")), method: SQLJoinMethod.inner,
                    on: SQLColumn("id", table: "u"), .equal, SQLColumn("user_id", table: "s"))
        )
        .where(SQLColumn("id", table: "s"), .equal, SQLBind(sessionId))
        .where(SQLColumn("user_id", table: "s"), .equal, SQLBind(userId))
        .where(SQLColumn("revoked_ms", table: "s"), .is, SQLLiteral.null)
        .where(SQLColumn("expires_ms", table: "s"), .greaterThan, SQLBind(now.epochMilliseconds))
        .rows(PrincipalRow.self)
    }

    static func forUser(_ userId: UUID, on sql: any SQLDatabase) async throws -> [PrincipalRow] {
        try await withMemberships(sql.select().from(SQLAlias(SQLIdentifier("users"), as: SQLIdentifier("u"))))
            .where(SQLColumn("id", table: "u"), .equal, SQLBind(userId))
            .rows(PrincipalRow.self)
    }

    /// Adds the principal columns and every membership of user `u` (one row per membership, or one with nulls).
    private static func withMemberships(_ query: SQLSelectBuilder) -> SQLSelectBuilder {
        query
            .column(SQLColumn("id", table: "u"), as: "user_id").column(SQLColumn("username", table: "u"))
            .column(SQLColumn("org_id", table: "u"), as: "home_org_id")
            .column(SQLColumn("org_id", table: "m")).column(SQLColumn("role", table: "m"))
            .join(
                SQLAlias(SQLIdentifier("org_members"), as: SQLIdentifier("m")), method: SQLJoinMethod.left,
                on: SQLColumn("user_id", table: "m"), .equal, SQLColumn("id", table: "u"))
    }
}
