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
            OrganizationInput(
                name: body.name, slug: body.slug, plan: body.plan?.rawValue,
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
            OrganizationInput(
                name: body.name, slug: body.slug, plan: body.plan?.rawValue,
                settings: FreeForm.domain(body.settings), quota: FreeForm.domain(body.quota)), caller: caller)
        return .ok(.init(body: .json(.init(org))))
    }

    func deleteOrg(_ input: Operations.DeleteOrg.Input) async throws -> Operations.DeleteOrg.Output {
        try await dependencies.organizations.delete(try Parse.id(input.path.orgId, "org_id"), confirmingSlug: input.query.confirm, caller: caller)
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
        let addition = try await dependencies.organizations.addMember(
            to: try Parse.id(input.path.orgId, "org_id"),
            MemberInput(
                userId: try Parse.optionalId(body.userId, "user_id"), username: body.username, email: body.email,
                password: body.password, role: body.role), caller: caller)
        switch addition {
        case .created(let member): return .created(.init(body: .json(.init(member))))
        case .invited(let invitation): return .accepted(.init(body: .json(.init(invitation, organizationName: nil))))
        }
    }

    func listOrgInvitations(_ input: Operations.ListOrgInvitations.Input) async throws -> Operations.ListOrgInvitations.Output {
        let page = try await dependencies.organizations.invitations(
            of: try Parse.id(input.path.orgId, "org_id"), caller: caller, page: Parse.page(limit: input.query.limit, cursor: input.query.cursor))
        return .ok(.init(body: .json(.init(items: page.items.map { .init($0, organizationName: nil) }, nextCursor: page.nextCursor))))
    }

    func revokeInvitation(_ input: Operations.RevokeInvitation.Input) async throws -> Operations.RevokeInvitation.Output {
        try await dependencies.organizations.revokeInvitation(
            try Parse.id(input.path.invitationId, "invitation_id"),
            in: try Parse.id(input.path.orgId, "org_id"), caller: caller)
        return .noContent(.init())
    }

    func listMyInvitations(_ input: Operations.ListMyInvitations.Input) async throws -> Operations.ListMyInvitations.Output {
        let received = try await dependencies.organizations.receivedInvitations(caller: caller)
        return .ok(.init(body: .json(.init(items: received.map { .init($0.invitation, organizationName: $0.organizationName) }))))
    }

    func acceptInvitation(_ input: Operations.AcceptInvitation.Input) async throws -> Operations.AcceptInvitation.Output {
        let member = try await dependencies.organizations.acceptInvitation(try Parse.id(input.path.invitationId, "invitation_id"), caller: caller)
        return .ok(.init(body: .json(.init(member))))
    }

    func declineInvitation(_ input: Operations.DeclineInvitation.Input) async throws -> Operations.DeclineInvitation.Output {
        try await dependencies.organizations.declineInvitation(try Parse.id(input.path.invitationId, "invitation_id"), caller: caller)
        return .noContent(.init())
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

extension Components.Schemas.Invitation {
    init(_ invitation: Invitation, organizationName: String?) {
        self.init(
            id: invitation.id.lowercasedString, orgId: invitation.orgId.lowercasedString, organizationName: organizationName,
            invitee: invitation.invitee, role: .init(rawValue: invitation.role.rawValue)!,
            status: .init(rawValue: invitation.status.rawValue)!, createdAt: Date(epochMilliseconds: invitation.createdMs),
            expiresAt: Date(epochMilliseconds: invitation.expiresMs),
            respondedAt: invitation.respondedMs.map(Date.init(epochMilliseconds:)))
    }
}
