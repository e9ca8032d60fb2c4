import AITIPAPI
import AITIPCore
import Foundation
import Identity

extension APIImplementation {
    func listProjects(_ input: Operations.ListProjects.Input) async throws -> Operations.ListProjects.Output {
        let page = try await dependencies.projects.list(
            caller, orgId: try Parse.optionalId(input.query.orgId, "org_id"),
            page: Parse.page(limit: input.query.limit, cursor: input.query.cursor))
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Project.init), nextCursor: page.nextCursor))))
    }

    func createProject(_ input: Operations.CreateProject.Input) async throws -> Operations.CreateProject.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let project = try await dependencies.projects.create(
            ProjectInput(
                orgId: try Parse.optionalId(body.orgId, "org_id"), name: body.name, slug: body.slug,
                description: body.description, settings: FreeForm.domain(body.settings)), caller: caller)
        return .created(.init(body: .json(.init(project))))
    }

    func getProject(_ input: Operations.GetProject.Input) async throws -> Operations.GetProject.Output {
        let project = try await dependencies.projects.get(try Parse.id(input.path.projectId, "project_id"), caller: caller)
        return .ok(.init(body: .json(.init(project))))
    }

    func updateProject(_ input: Operations.UpdateProject.Input) async throws -> Operations.UpdateProject.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let project = try await dependencies.projects.update(
            try Parse.id(input.path.projectId, "project_id"),
            ProjectInput(name: body.name, slug: body.slug, description: body.description, settings: FreeForm.domain(body.settings)),
            caller: caller)
        return .ok(.init(body: .json(.init(project))))
    }

    func deleteProject(_ input: Operations.DeleteProject.Input) async throws -> Operations.DeleteProject.Output {
        try await dependencies.projects.delete(try Parse.id(input.path.projectId, "project_id"), caller: caller)
        return .noContent(.init())
    }

    func listAudit(_ input: Operations.ListAudit.Input) async throws -> Operations.ListAudit.Output {
        let query = input.query
        let filter = AuditFilter(
            orgId: try Parse.optionalId(query.orgId, "org_id"), actorId: try Parse.optionalId(query.actorId, "actor_id"),
            action: query.action, targetType: query.targetType, targetId: query.targetId,
            outcome: query.outcome.flatMap { AuditEntry.Outcome(rawValue: $0.rawValue) }, since: query.since, until: query.until)
        let page = try await dependencies.audit.list(caller, filter: filter, page: Parse.page(limit: query.limit, cursor: query.cursor))
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.AuditEntry.init), nextCursor: page.nextCursor))))
    }
}
