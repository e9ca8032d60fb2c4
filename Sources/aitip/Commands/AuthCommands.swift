import AITIPClient
import ArgumentParser
import Foundation

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in to a server and save the tokens (0600) under ~/.config/aitip.",
        discussion: "The password is read from the terminal without echo, or from standard input with --password-stdin.")

    @Option(help: "Server URL, e.g. http://127.0.0.1:8080 (default: AITIP_SERVER).") var server: String?
    @Option(help: "Username or email.") var username: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false

    func run() async throws {
        try await runClient {
            let client = try APIClient(server: server, requireAuth: false)
            let username = try self.username ?? Prompt.line("Username: ")
            let password = passwordStdin ? (readLine(strippingNewline: true) ?? "") : try Prompt.secret("Password: ")
            let grant = try await client.api.login(body: .json(.init(username: username, password: password))).ok.body.json
            try SavedCredentials(
                server: client.server, accessToken: grant.accessToken, refreshToken: grant.refreshToken,
                username: grant.user.username
            ).save()
            print("Signed in to \(client.server) as \(grant.user.username).")
        }
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "End the saved session and forget its tokens.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await runClient {
            let client = try APIClient(server: options.server)
            _ = try? await client.api.logout(body: .json(.init()))
            try SavedCredentials.remove()
            print("Signed out.")
        }
    }
}

struct WhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "Show who you are signed in as, with your organizations and roles.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await runClient {
            let client = try APIClient(server: options.server)
            let me = try await client.api.getMe().ok.body.json
            guard options.output == .table else { return try Output.show(me, format: options.output, columns: []) }
            print("\(me.user.username) <\(me.user.email)> via \(me.auth.method.rawValue) on \(client.server)")
            let rows = me.memberships.map { membership -> [String: Any] in
                ["org": membership.organization.slug, "id": membership.organization.id, "role": membership.role.rawValue]
            }
            print(Output.table(rows, columns: ["org", "role", "id"]), terminator: "")
        }
    }
}

enum Prompt {
    static func line(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw CLIError(message: "No input", exitCode: 2)
        }
        return line
    }

    static func secret(_ prompt: String) throws -> String {
        guard let pointer = getpass(prompt) else {
            throw CLIError(message: "Cannot read a password from the terminal; use --password-stdin", exitCode: 2)
        }
        return String(cString: pointer)
    }
}
