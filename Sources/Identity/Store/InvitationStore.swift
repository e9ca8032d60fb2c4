import AITIPCore
import Foundation
import SQLKit
import Storage

enum InvitationStore {
    static func insert(_ invitation: Invitation, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "invitations").model(invitation).run()
    }

    static func find(_ id: UUID, on sql: any SQLDatabase) async throws -> Invitation? {
        try await sql.select().column("*").from("invitations").where("id", .equal, id).row(Invitation.self)
    }

    /// The pending invitation of `org` for this name, if there is one.
    static func pending(org: UUID, invitee: String, on sql: any SQLDatabase) async throws -> Invitation? {
        try await sql.select().column("*").from("invitations").where("org_id", .equal, org).where("invitee", .equal, invitee)
            .where("status", .equal, Invitation.Status.pending.rawValue).row(Invitation.self)
    }

    /// Pending, unexpired invitations addressed to any of `names` (a user's id, username and email), newest first.
    static func pending(for names: [String], now: Date, on sql: any SQLDatabase) async throws -> [Invitation] {
        try await sql.select().column("*").from("invitations").where("invitee", .in, names)
            .where("status", .equal, Invitation.Status.pending.rawValue).where("expires_ms", .greaterThan, now.epochMilliseconds)
            .orderBy("id", .descending).limit(200).rows(Invitation.self)
    }

    static func list(org: UUID, page: PageRequest, on sql: any SQLDatabase) async throws -> Page<Invitation> {
        var query = sql.select().column("*").from("invitations").where("org_id", .equal, org)
        if let after = page.after { query = query.where("id", .greaterThan, after) }
        let rows = try await query.orderBy("id").limit(page.limit + 1).rows(Invitation.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    /// Moves a pending invitation to `status`; false when it was no longer pending (answered or revoked meanwhile).
    static func respond(_ id: UUID, _ status: Invitation.Status, at date: Date, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.update("invitations").set("status", to: status.rawValue).set("responded_ms", to: date.epochMilliseconds)
            .where("id", .equal, id).where("status", .equal, Invitation.Status.pending.rawValue).returning("id").first() != nil
    }

    static func refresh(_ id: UUID, role: Role, invitedBy: UUID, expiresAt: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("invitations").set("role", to: role.rawValue).set("invited_by", to: invitedBy).set(
            "expires_ms", to: expiresAt.epochMilliseconds
        )
        .where("id", .equal, id).run()
    }
}
