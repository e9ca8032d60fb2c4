import AITIPCore
import Foundation
import SQLKit
import Storage

/// Joining an organization takes the invitee's consent: an admin invites a name (username, email or user id), and
/// the person whose account carries that name accepts or declines. Neither inviting nor listing invitations tells
/// the admin whether such an account exists.
extension OrganizationService {
    static let invitationLifetime: TimeInterval = 14 * 86_400

    /// An invitation pending an answer, with the name of the organization it is from (for the invitee).
    package struct ReceivedInvitation: Sendable {
        package var invitation: Invitation
        package var organizationName: String
    }

    func invite(_ invitee: String, to orgId: UUID, role: Role, caller: Caller) async throws -> Invitation {
        let principal = try caller.requirePrincipal()
        guard !invitee.isEmpty, invitee.count <= 254 else {
            throw AppError.validation([FieldError(field: "username", message: "name the person with user_id, username or email")])
        }
        let now = clock.now()
        return try await database.transaction { sql in
            if let existing = try await InvitationStore.pending(org: orgId, invitee: invitee, on: sql) {
                // Inviting again renews the offer (with the role given now) instead of stacking offers.
                try await InvitationStore.refresh(
                    existing.id, role: role, invitedBy: principal.userId,
                    expiresAt: now.addingTimeInterval(Self.invitationLifetime), on: sql)
                try await audit.record(
                    on: sql, caller, orgId: orgId, action: "member.invite", targetType: "invitation",
                    targetId: existing.id.lowercasedString, detail: "renewed, role=\(role.rawValue)")
                return try await InvitationStore.find(existing.id, on: sql) ?? existing
            }
            let invitation = Invitation(
                id: IDGenerator.uuidV7(at: now), orgId: orgId, invitee: invitee, role: role, invitedBy: principal.userId,
                status: .pending, createdMs: now.epochMilliseconds,
                expiresMs: now.addingTimeInterval(Self.invitationLifetime).epochMilliseconds, respondedMs: nil)
            try await InvitationStore.insert(invitation, on: sql)
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "member.invite", targetType: "invitation",
                targetId: invitation.id.lowercasedString, detail: "role=\(role.rawValue)")
            return invitation
        }
    }

    /// The organization's invitations, answered or not (for those who may invite).
    package func invitations(of orgId: UUID, caller: Caller, page: PageRequest) async throws -> Page<Invitation> {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .membersWrite, inOrg: orgId)
        return try await database.read { sql in try await InvitationStore.list(org: orgId, page: page, on: sql) }
    }

    package func revokeInvitation(_ id: UUID, in orgId: UUID, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .membersWrite, inOrg: orgId)
        let now = clock.now()
        try await database.transaction { sql in
            guard let invitation = try await InvitationStore.find(id, on: sql), invitation.orgId == orgId else {
                throw AppError.notFound("Invitation")
            }
            guard try await InvitationStore.respond(id, .revoked, at: now, on: sql) else {
                throw AppError.conflict("The invitation was already \(invitation.status.rawValue)")
            }
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "member.invite_revoke", targetType: "invitation", targetId: id.lowercasedString)
        }
    }

    /// The caller's pending invitations (signed-in users only: an API key acts inside one organization).
    package func receivedInvitations(caller: Caller) async throws -> [ReceivedInvitation] {
        let user = try await invitee(caller)
        let now = clock.now()
        return try await database.read { sql in
            var received: [ReceivedInvitation] = []
            for invitation in try await InvitationStore.pending(for: Self.names(of: user), now: now, on: sql) {
                guard let org = try await OrganizationStore.find(invitation.orgId, on: sql) else { continue }
                received.append(ReceivedInvitation(invitation: invitation, organizationName: org.name))
            }
            return received
        }
    }

    /// Joins the organization with the invited role.
    package func acceptInvitation(_ id: UUID, caller: Caller) async throws -> Member {
        let user = try await invitee(caller)
        let now = clock.now()
        defer { cache.forget(userId: user.id) }
        return try await database.transaction { sql in
            let invitation = try await receivable(id, by: user, now: now, on: sql)
            guard try await InvitationStore.respond(id, .accepted, at: now, on: sql) else { throw AppError.notFound("Invitation") }
            if let membership = try await OrganizationStore.membership(org: invitation.orgId, user: user.id, on: sql) {
                return Member(userId: user.id, username: user.username, email: user.email, role: membership.role, createdMs: membership.createdMs)
            }
            try await sql.insert(
                Membership(orgId: invitation.orgId, userId: user.id, role: invitation.role, createdMs: now.epochMilliseconds), into: "org_members")
            try await audit.record(
                on: sql, caller, orgId: invitation.orgId, action: "member.join", targetType: "user",
                targetId: user.id.lowercasedString, detail: "invitation \(id.lowercasedString), role=\(invitation.role.rawValue)")
            return Member(userId: user.id, username: user.username, email: user.email, role: invitation.role, createdMs: now.epochMilliseconds)
        }
    }

    package func declineInvitation(_ id: UUID, caller: Caller) async throws {
        let user = try await invitee(caller)
        let now = clock.now()
        try await database.transaction { sql in
            let invitation = try await receivable(id, by: user, now: now, on: sql)
            guard try await InvitationStore.respond(id, .declined, at: now, on: sql) else { throw AppError.notFound("Invitation") }
            try await audit.record(
                on: sql, caller, orgId: invitation.orgId, action: "member.decline", targetType: "invitation",
                targetId: id.lowercasedString)
        }
    }

    /// The signed-in user answering; API keys cannot (they act for one organization, and joining another is a person's choice).
    private func invitee(_ caller: Caller) async throws -> User {
        let principal = try caller.requirePrincipal()
        guard case .session = principal.credential else {
            throw AppError.forbidden("Invitations are answered by the person invited, signed in; not with an API key")
        }
        guard let user = try await database.read({ sql in try await UserStore.find(principal.userId, on: sql) }) else {
            throw AppError.notFound("User")
        }
        return user
    }

    /// A pending, unexpired invitation addressed to `user`; anything else is "not found" (never someone else's).
    private func receivable(_ id: UUID, by user: User, now: Date, on sql: any SQLDatabase) async throws -> Invitation {
        guard let invitation = try await InvitationStore.find(id, on: sql), Self.names(of: user).contains(invitation.invitee),
            invitation.status == .pending, invitation.expiresMs > now.epochMilliseconds
        else { throw AppError.notFound("Invitation") }
        return invitation
    }

    static func names(of user: User) -> [String] {
        [user.id.lowercasedString, user.username.lowercased(), user.email.lowercased()]
    }
}
