import AITIPCore
import Foundation
import SQLKit
import Storage

package struct ProjectInput: Sendable {
    package var orgId: UUID?
    package var name: String?
    package var slug: String?
    package var description: String?
    package var settings: JSONObject?

    package init(orgId: UUID? = nil, name: String? = nil, slug: String? = nil, description: String? = nil, settings: JSONObject? = nil) {
        self.orgId = orgId
        self.name = name
        self.slug = slug
        self.description = description
        self.settings = settings
    }
}

/// Projects: the unit that owns datasets, experiments and jobs inside an organization.
package struct ProjectService: Sendable {
    let database: Database
    let clock: any Clock
    let audit: AuditLog

    package init(database: Database, clock: any Clock, audit: AuditLog) {
        self.database = database
        self.clock = clock
        self.audit = audit
    }

    /// Projects of every organization the caller may read projects in, or of the one given.
    package func list(_ caller: Caller, orgId: UUID?, page: PageRequest) async throws -> Page<Project> {
        let principal = try caller.requirePrincipal()
        var orgIds = principal.visibleOrgIds.filter { principal.permissions(in: $0).contains(.projectsRead) }
        if let orgId {
            try Policy.authorize(principal, .projectsRead, inOrg: orgId)
            orgIds = [orgId]
        }
        let scope = orgIds
        return try await database.read { sql in try await ProjectStore.list(orgIds: scope, page: page, on: sql) }
    }

    package func get(_ id: UUID, caller: Caller) async throws -> Project {
        let principal = try caller.requirePrincipal()
        let project = try await database.read { sql in try await ProjectStore.find(id, on: sql) }
        guard let project else { throw AppError.notFound("Project") }
        try Policy.authorize(principal, .projectsRead, on: project.policyResource)
        return project
    }

    package func create(_ input: ProjectInput, caller: Caller) async throws -> Project {
        let principal = try caller.requirePrincipal()
        let orgId = try input.orgId ?? defaultOrg(for: principal)
        try Policy.authorize(principal, .projectsWrite, inOrg: orgId)
        var validator = Validator()
        let name = validator.requireText(input.name, "name", maxLength: 255)
        let slug = input.slug ?? Slug.from(name)
        if input.slug != nil || !name.isEmpty { validator.checkSlug(slug, "slug") }
        let description = validator.optionalText(input.description, "description", maxLength: 10_000)
        try validator.finish()
        let now = clock.now()
        return try await database.transaction { sql in
            if try await ProjectStore.slugExists(slug, org: orgId, on: sql) {
                throw AppError.conflict("This organization already has a project with the slug '\(slug)'")
            }
            let project = Project(
                id: IDGenerator.uuidV7(at: now), orgId: orgId, ownerId: principal.userId, name: name,
                slug: slug, description: description, settings: (input.settings ?? [:]).jsonText(),
                createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
            try await sql.insert(project, into: "projects")
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "project.create", targetType: "project",
                targetId: project.id.lowercasedString)
            return project
        }
    }

    package func update(_ id: UUID, _ input: ProjectInput, caller: Caller) async throws -> Project {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        if input.name != nil { validator.requireText(input.name, "name", maxLength: 255) }
        if let slug = input.slug { validator.checkSlug(slug, "slug") }
        _ = validator.optionalText(input.description, "description", maxLength: 10_000)
        validator.check(input.orgId == nil, "org_id", "cannot be changed; projects do not move between organizations")
        // Authorization comes first inside the transaction, so another tenant learns nothing from validation errors.
        let checked = validator
        let now = clock.now()
        return try await database.transaction { sql in
            guard var project = try await ProjectStore.find(id, on: sql) else { throw AppError.notFound("Project") }
            try Policy.authorize(principal, .projectsWrite, on: project.policyResource)
            try checked.finish()
            if let slug = input.slug, slug != project.slug {
                if try await ProjectStore.slugExists(slug, org: project.orgId, on: sql) {
                    throw AppError.conflict("This organization already has a project with the slug '\(slug)'")
                }
                project.slug = slug
            }
            if let name = input.name { project.name = name.trimmingCharacters(in: .whitespacesAndNewlines) }
            if let description = input.description { project.description = description }
            if let settings = input.settings { project.settings = settings.jsonText() }
            project.updatedMs = now.epochMilliseconds
            try await ProjectStore.update(project, on: sql)
            try await audit.record(
                on: sql, caller, orgId: project.orgId, action: "project.update", targetType: "project",
                targetId: id.lowercasedString)
            return project
        }
    }

    package func delete(_ id: UUID, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try await database.transaction { sql in
            guard let project = try await ProjectStore.find(id, on: sql) else { throw AppError.notFound("Project") }
            try Policy.authorize(principal, .projectsDelete, on: project.policyResource)
            try await ProjectStore.delete(id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: project.orgId, action: "project.delete", targetType: "project",
                targetId: id.lowercasedString)
        }
    }

    /// The organization a project belongs to, without authorization: only for filing audit entries of refused
    /// requests under the organization they targeted.
    package func organization(ofProject id: UUID) async -> UUID? {
        try? await database.read { sql in try await ProjectStore.find(id, on: sql)?.orgId }
    }

    /// Without an explicit org_id: the API key's organization, else the caller's only organization.
    private func defaultOrg(for principal: Principal) throws(AppError) -> UUID {
        if case .apiKey(_, let orgId, _) = principal.credential { return orgId }
        let orgs = principal.visibleOrgIds
        guard orgs.count == 1, let only = orgs.first else {
            throw AppError.validation([FieldError(field: "org_id", message: "is required when you belong to several organizations")])
        }
        return only
    }
}

extension Project {
    package var policyResource: Policy.Resource {
        Policy.Resource(kind: "Project", orgId: orgId, projectId: id, createdBy: ownerId)
    }
}
