import AITIPAPI
import AITIPCore
import Foundation
import Identity

extension APIImplementation {
    func listOrgs(_ input: Operations.ListOrgs.Input) async throws -> Operations.ListOrgs.Output {
        let page = try await dependencies.organizations.list(caller, page: Parse.page(limit: input.query.limit, cursor: input.query.cursor))
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Organization.init), nextCursor: page.nextCursor))))
    }

    func createOrg(_ input: Operations.CreateOrg.Input) async throws -> Operations.CreateOrg.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let org = try await dependencies.organizations.create(
            OrganizationInput(name: body.name, slug: body.slug, plan: body.plan?.rawValue,
                              settings: FreeForm.domain(body.settings), quota: FreeForm.domain(body.quota)), caller: caller)
        return .created(.init(body: .json(.init(org))))
    }

    func getOrg(_ input: Operations.GetOrg.Input) async throws -> Operations.GetOrg.Output {
        let org = try await dependencies.organizations.get(try Parse.id(input.path.orgId, "org_id"), caller: caller)
        return .ok(.init(body: .json(.init(org))))
    }

    func updateOrg(_ input: Operations.UpdateOrg.Input) async throws -> Operations.UpdateOrg.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let org = try await dependencies.organizations.update(
            try Parse.id(input.path.orgId, "org_id"),
            OrganizationInput(name: body.name, slug: body.slug, plan: body.plan?.rawValue,
                              settings: FreeForm.domain(body.settings), quota: FreeForm.domain(body.quota)), caller: caller)
        return .ok(.init(body: .json(.init(org))))
    }

    func deleteOrg(_ input: Operations.DeleteOrg.Input) async throws -> Operations.DeleteOrg.Output {
        try await dependencies.organizations.delete(try Parse.id(input.path.orgId, "org_id"), caller: caller)
        return .noContent(.init())
    }

    func listMembers(_ input: Operations.ListMembers.Input) async throws -> Operations.ListMembers.Output {
        let page = try await dependencies.organizations.members(
            of: try Parse.id(input.path.orgId, "org_id"), caller: caller,
            page: Parse.page(limit: input.query.limit, cursor: input.query.cursor))
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Member.init), nextCursor: page.nextCursor))))
    }

    func addMember(_ input: Operations.AddMember.Input) async throws -> Operations.AddMember.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let member = try await dependencies.organizations.addMember(
            to: try Parse.id(input.path.orgId, "org_id"),
            MemberInput(userId: try Parse.optionalId(body.userId, "user_id"), username: body.username, email: body.email,
                        password: body.password, role: body.role), caller: caller)
        return .created(.init(body: .json(.init(member))))
    }

    func updateMember(_ input: Operations.UpdateMember.Input) async throws -> Operations.UpdateMember.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let member = try await dependencies.organizations.updateMember(
            in: try Parse.id(input.path.orgId, "org_id"), userId: try Parse.id(input.path.userId, "user_id"),
            role: body.role, caller: caller)
        return .ok(.init(body: .json(.init(member))))
    }

    func removeMember(_ input: Operations.RemoveMember.Input) async throws -> Operations.RemoveMember.Output {
        try await dependencies.organizations.removeMember(
            from: try Parse.id(input.path.orgId, "org_id"), userId: try Parse.id(input.path.userId, "user_id"), caller: caller)
        return .noContent(.init())
    }
}
