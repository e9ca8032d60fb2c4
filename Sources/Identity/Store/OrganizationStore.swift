import AITIPCore
import Foundation
import SQLKit
import Storage

enum OrganizationStore {
    static func find(_ id: UUID, on sql: any SQLDatabase) async throws -> Organization? {
        try await sql.select().column("*").from("organizations").where("id", .equal, id).row(Organization.self)
    }

    static func find(slug: String, on sql: any SQLDatabase) async throws -> Organization? {
        try await sql.select().column("*").from("organizations").where("slug", .equal, slug).row(Organization.self)
    }

    static func list(ids: [UUID], page: PageRequest, on sql: any SQLDatabase) async throws -> Page<Organization> {
        guard !ids.isEmpty else { return Page(items: [], nextCursor: nil) }
        var query = sql.select().column("*").from("organizations").where("id", .in, ids)
        if let after = page.after { query = query.where("id", .greaterThan, after) }
        let rows = try await query.orderBy("id").limit(page.limit + 1).rows(Organization.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    static func slugExists(_ slug: String, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("id").from("organizations").where("slug", .equal, slug).first() != nil
    }

    static func update(_ org: Organization, on sql: any SQLDatabase) async throws {
        try await sql.update("organizations")
            .set("name", to: org.name).set("slug", to: org.slug).set("settings", to: org.settings)
            .set("quota", to: org.quota).set("plan", to: org.plan).set("updated_ms", to: org.updatedMs)
            .where("id", .equal, org.id).run()
    }

    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        // Explicit deletes rather than relying on ON DELETE CASCADE alone, so the order is clear on both databases.
        try await sql.delete(from: "api_keys").where("org_id", .equal, id).run()
        try await sql.delete(from: "invitations").where("org_id", .equal, id).run()
        try await sql.delete(from: "projects").where("org_id", .equal, id).run()
        try await sql.delete(from: "org_members").where("org_id", .equal, id).run()
        try await sql.update("users").set("org_id", to: SQLLiteral.null).where("org_id", .equal, id).run()
        try await sql.delete(from: "organizations").where("id", .equal, id).run()
    }

    // MARK: members

    static func memberships(of userId: UUID, on sql: any SQLDatabase) async throws -> [Membership] {
        try await sql.select().column("*").from("org_members").where("user_id", .equal, userId).rows(Membership.self)
    }

    static func membership(org: UUID, user: UUID, on sql: any SQLDatabase) async throws -> Membership? {
        try await sql.select().column("*").from("org_members")
            .where("org_id", .equal, org).where("user_id", .equal, user).row(Membership.self)
    }

    static func members(of orgId: UUID, page: PageRequest, on sql: any SQLDatabase) async throws -> Page<Member> {
        var query = sql.select()
            .column(SQLColumn("user_id", table: "m")).column(SQLColumn("role", table: "m"))
            .column(SQLColumn("created_ms", table: "m"))
            .column(SQLColumn("username", table: "u")).column(SQLColumn("email", table: "u"))
            .from(SQLAlias(SQLIdentifier("org_members"), as: SQLIdentifier("m")))
            .join(
                SQLAlias(SQLIdentifier("users"), as: SQLIdentifier("u")), method: SQLJoinMethod.inner,
                on: SQLColumn("id", table: "u"), .equal, SQLColumn("user_id", table: "m")
            )
            .where(SQLColumn("org_id", table: "m"), .equal, SQLBind(orgId))
        if let after = page.after { query = query.where(SQLColumn("user_id", table: "m"), .greaterThan, SQLBind(after)) }
        let rows = try await query.orderBy(SQLColumn("user_id", table: "m")).limit(page.limit + 1).rows(Member.self)
        return Page(fetched: rows, limit: page.limit, id: \.userId)
    }

    static func countOwners(of orgId: UUID, on sql: any SQLDatabase) async throws -> Int {
        let row = try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("org_members")
            .where("org_id", .equal, orgId).where("role", .equal, Role.owner.rawValue).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    static func setRole(org: UUID, user: UUID, role: Role, on sql: any SQLDatabase) async throws {
        try await sql.update("org_members").set("role", to: role.rawValue)
            .where("org_id", .equal, org).where("user_id", .equal, user).run()
    }

    static func removeMember(org: UUID, user: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "api_keys").where("org_id", .equal, org).where("user_id", .equal, user).run()
        try await sql.delete(from: "org_members").where("org_id", .equal, org).where("user_id", .equal, user).run()
    }
}
