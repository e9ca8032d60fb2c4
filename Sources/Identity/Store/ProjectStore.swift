import AITIPCore
import Foundation
import SQLKit
import Storage

enum ProjectStore {
    static func find(_ id: UUID, on sql: any SQLDatabase) async throws -> Project? {
        try await sql.select().column("*").from("projects").where("id", .equal, id).row(Project.self)
    }

    static func find(orgSlug: String, projectSlug: String, on sql: any SQLDatabase) async throws -> Project? {
        try await sql.raw(
            """
            SELECT p.* FROM projects p JOIN organizations o ON o.id = p.org_id
            WHERE o.slug = \(bind: orgSlug) AND p.slug = \(bind: projectSlug)
            """
        ).first(decoding: Project.self)
    }

    static func find(orgId: UUID, slug: String, on sql: any SQLDatabase) async throws -> Project? {
        try await sql.select().column("*").from("projects").where("org_id", .equal, orgId).where("slug", .equal, slug).row(Project.self)
    }

    static func scopes(inOrgs orgIds: [UUID], on sql: any SQLDatabase) async throws -> [ProjectScope] {
        try await sql.select().columns("id", "org_id").from("projects").where("org_id", .in, orgIds).all(decoding: ScopeRow.self)
            .map { ProjectScope(projectId: $0.id, orgId: $0.orgId) }
    }

    private struct ScopeRow: Decodable {
        var id: UUID
        var orgId: UUID
        enum CodingKeys: String, CodingKey { case id, orgId = "org_id" }
    }

    static func list(orgIds: [UUID], page: PageRequest, on sql: any SQLDatabase) async throws -> Page<Project> {
        guard !orgIds.isEmpty else { return Page(items: [], nextCursor: nil) }
        var query = sql.select().column("*").from("projects").where("org_id", .in, orgIds)
        if let after = page.after { query = query.where("id", .greaterThan, after) }
        let rows = try await query.orderBy("id").limit(page.limit + 1).rows(Project.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    static func slugExists(_ slug: String, org: UUID, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("id").from("projects").where("org_id", .equal, org).where("slug", .equal, slug).first() != nil
    }

    static func update(_ project: Project, on sql: any SQLDatabase) async throws {
        var query = sql.update("projects")
            .set("name", to: project.name).set("slug", to: project.slug).set("settings", to: project.settings)
            .set("updated_ms", to: project.updatedMs)
        query = project.description.map { query.set("description", to: $0) } ?? query.set("description", to: SQLLiteral.null)
        try await query.where("id", .equal, project.id).run()
    }

    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "projects").where("id", .equal, id).run()
    }
}

enum APIKeyStore {
    static func find(_ id: UUID, on sql: any SQLDatabase) async throws -> APIKey? {
        try await sql.select().column("*").from("api_keys").where("id", .equal, id).row(APIKey.self)
    }

    static func find(hash: String, on sql: any SQLDatabase) async throws -> APIKey? {
        try await sql.select().column("*").from("api_keys").where("key_hash", .equal, hash).row(APIKey.self)
    }

    /// The user's keys; only those of `orgId` when given (an API key sees its own organization only).
    static func list(userId: UUID, orgId: UUID?, page: PageRequest, on sql: any SQLDatabase) async throws -> Page<APIKey> {
        var query = sql.select().column("*").from("api_keys").where("user_id", .equal, userId)
        if let orgId { query = query.where("org_id", .equal, orgId) }
        if let after = page.after { query = query.where("id", .greaterThan, after) }
        let rows = try await query.orderBy("id").limit(page.limit + 1).rows(APIKey.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    static func revoke(_ id: UUID, at date: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("api_keys").set("revoked_ms", to: date.epochMilliseconds).where("id", .equal, id)
            .where("revoked_ms", .is, SQLLiteral.null).run()
    }

    static func touch(_ id: UUID, at date: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("api_keys").set("last_used_ms", to: date.epochMilliseconds).where("id", .equal, id).run()
    }
}
