import AITIPAPI
import ArgumentParser
import Foundation

/// Joining organizations (invitations) and looking after one's own account (password, sessions).
struct InvitationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invitations", abstract: "Invite people to an organization, and answer invitations sent to you.",
        subcommands: [Send.self, Sent.self, Withdraw.self, List.self, Accept.self, Decline.self])

    static let columns = ["id", "organization_name", "org_id", "invitee", "role", "status", "expires_at"]

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite an existing account by username, email or user id; it joins when its owner accepts.",
            discussion: "The answer is the same whether or not such an account exists.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Organization id.") var org: String
        @Option(help: "Username, email or user id of the person.") var user: String
        @Option(help: "owner, admin, member (default) or viewer.") var role: String = "member"
        func run() async throws {
            var invitee = Components.Schemas.MemberCreate(role: role)
            if UUID(uuidString: user) != nil {
                invitee.userId = user
            } else if user.contains("@") {
                invitee.email = user
            } else {
                invitee.username = user
            }
            try await runClient {
                let client = try APIClient(server: options.server)
                switch try await client.api.addMember(path: .init(orgId: org), body: .json(invitee)) {
                case .accepted(let invited): try Output.show(try invited.body.json, format: options.output, columns: InvitationsCommand.columns)
                case let added:
                    try Output.show(try added.created.body.json, format: options.output, columns: ["user_id", "username", "role", "created_at"])
                }
            }
        }
    }

    struct Sent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The invitations an organization has sent, answered or not.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Organization id.") var org: String
        func run() async throws {
            try await ClientCall.show(options, columns: InvitationsCommand.columns) { api in
                try await api.listOrgInvitations(path: .init(orgId: org), query: .init(limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw a pending invitation.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Organization id.") var org: String
        @Argument(help: "Invitation id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Withdrew invitation \(id).") { api in
                _ = try await api.revokeInvitation(path: .init(orgId: org, invitationId: id)).noContent
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Invitations waiting for your answer.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await ClientCall.show(options, columns: InvitationsCommand.columns) { api in try await api.listMyInvitations().ok.body.json }
        }
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Join the organization that invited you.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Invitation id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: ["user_id", "username", "role", "created_at"]) { api in
                try await api.acceptInvitation(path: .init(invitationId: id)).ok.body.json
            }
        }
    }

    struct Decline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decline an invitation.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Invitation id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Declined invitation \(id).") { api in
                _ = try await api.declineInvitation(path: .init(invitationId: id)).noContent
            }
        }
    }
}

struct PasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password", abstract: "Change your password; your other sessions end, this one stays signed in.",
        discussion: "Both passwords are read from the terminal without echo, or as two lines of standard input with --stdin.")
    @OptionGroup var options: ClientOptions
    @Flag(help: "Read the current and the new password as two lines of standard input.") var stdin = false

    func run() async throws {
        try await runClient {
            let client = try APIClient(server: options.server)
            let current = stdin ? (readLine(strippingNewline: true) ?? "") : try Prompt.secret("Current password: ")
            let new = stdin ? (readLine(strippingNewline: true) ?? "") : try Prompt.secret("New password: ")
            if !stdin, try Prompt.secret("New password again: ") != new { throw ValidationError("The new passwords differ") }
            _ = try await client.api.changePassword(body: .json(.init(currentPassword: current, newPassword: new))).noContent
            print("Password changed; your other sessions have ended.")
        }
    }
}

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "Where you are signed in; end a session you do not recognise.",
        subcommands: [List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your live sessions, most recently used first.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await ClientCall.show(options, columns: ["id", "current", "last_used_at", "created_at", "client_address", "user_agent"]) { api in
                try await api.listSessions().ok.body.json
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End one of your sessions.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Session id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Ended session \(id).") { api in
                _ = try await api.revokeSession(path: .init(sessionId: id)).noContent
            }
        }
    }
}
