import AITIPCore
import Foundation
import SQLKit
import Storage

/// The project a request works in, once the caller's permission there is checked.
package struct ProjectScope: Sendable, Equatable {
    package var projectId: UUID
    package var orgId: UUID

    package init(projectId: UUID, orgId: UUID) {
        self.projectId = projectId
        self.orgId = orgId
    }

    /// The project as a resource of the policy (for checks of further permissions in it).
    package var policyResource: Policy.Resource { Policy.Resource(kind: "Project", orgId: orgId, projectId: projectId) }
}

/// How a request names its project: by id (the native API), by organization and project slugs (an MLflow tracking URI
/// `http://host/mlflow/<org>/<project>`), or not at all (the `default` project of the caller's default organization).
package enum ProjectSelector: Sendable, Equatable {
    case id(UUID)
    case slugs(org: String, project: String)
    case callerDefault
}

/// "This project, this permission, this caller": the one resolution every module uses. A project the caller cannot see
/// answers 404, exactly as one that does not exist; one they see but may not act in answers 403.
package struct ProjectScopes: Sendable {
    let database: Database

    package init(database: Database) {
        self.database = database
    }

    package func scope(_ selector: ProjectSelector, permission: Permission, caller: Caller) async throws -> ProjectScope {
        let principal = try caller.requirePrincipal()
        let found: Project? = try await database.read { sql in
            switch selector {
            case .id(let id):
                return try await ProjectStore.find(id, on: sql)
            case .slugs(let org, let project):
                return try await ProjectStore.find(orgSlug: org, projectSlug: project, on: sql)
            case .callerDefault:
                guard let orgId = principal.defaultOrgId else {
                    throw AppError.badRequest(
                        "You belong to several organizations: use a tracking URI that names the project, http://HOST/mlflow/<org>/<project>")
                }
                return try await ProjectStore.find(orgId: orgId, slug: "default", on: sql)
            }
        }
        guard let found, principal.visibleOrgIds.contains(found.orgId) else {
            if case .callerDefault = selector {
                throw AppError(
                    .notFound,
                    "Your organization has no project with the slug 'default': use a tracking URI that names the project, http://HOST/mlflow/<org>/<project>"
                )
            }
            throw AppError.notFound("Project")
        }
        let scope = ProjectScope(projectId: found.id, orgId: found.orgId)
        try Policy.authorize(principal, permission, on: scope.policyResource)
        return scope
    }

    /// The projects of these organizations, for lists that span projects.
    package func projects(inOrgs orgIds: [UUID]) async throws -> [ProjectScope] {
        guard !orgIds.isEmpty else { return [] }
        return try await database.read { sql in try await ProjectStore.scopes(inOrgs: orgIds, on: sql) }
    }
}

/// Facts other modules may ask Identity without a caller to check (they authorize themselves): for operators acting on
/// organizations they need not belong to, and for checks on other people (an annotation's assignee).
package struct Directory: Sendable {
    let database: Database

    package init(database: Database) {
        self.database = database
    }

    /// The organization with this slug.
    package func organization(slug: String) async throws -> UUID? {
        try await database.read { sql in try await OrganizationStore.find(slug: slug, on: sql)?.id }
    }

    /// Whether the organization exists, and the project (when given) is one of its.
    package func exists(org orgId: UUID, project projectId: UUID? = nil) async throws -> Bool {
        try await database.read { sql in
            guard try await OrganizationStore.find(orgId, on: sql) != nil else { return false }
            guard let projectId else { return true }
            return try await ProjectStore.find(projectId, on: sql)?.orgId == orgId
        }
    }

    package func isMember(user userId: UUID, of orgId: UUID) async throws -> Bool {
        try await database.read { sql in try await OrganizationStore.membership(org: orgId, user: userId, on: sql) != nil }
    }
}
