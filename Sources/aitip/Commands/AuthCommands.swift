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
            var client = try APIClient(server: server, requireAuth: false)
            let username = try self.username ?? Prompt.line("Username: ")
            let password = passwordStdin ? (readLine(strippingNewline: true) ?? "") : try Prompt.secret("Password: ")
            let answer = try await client.send(.POST, "/api/v1/auth/login", body: ["username": username, "password": password],
                                               authenticated: false) as? [String: Any]
            guard let access = answer?["access_token"] as? String else {
                throw CLIError(message: "The server did not return a token", exitCode: 1)
            }
            let user = answer?["user"] as? [String: Any]
            try SavedCredentials(server: client.server, accessToken: access, refreshToken: answer?["refresh_token"] as? String,
                                 username: user?["username"] as? String).save()
            print("Signed in to \(client.server) as \(user?["username"] as? String ?? username).")
        }
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "End the saved session and forget its tokens.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await runClient {
            var client = try APIClient(server: options.server)
            _ = try? await client.send(.POST, "/api/v1/auth/logout", body: [:])
            try SavedCredentials.remove()
            print("Signed out.")
        }
    }
}

struct WhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show who you are signed in as, with your organizations and roles.")

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await runClient {
            var client = try APIClient(server: options.server)
            let me = try await client.send(.GET, "/api/v1/auth/me")
            guard options.output == .table, let me = me as? [String: Any] else {
                return try Output.print(me, format: options.output, columns: [])
            }
            let user = me["user"] as? [String: Any] ?? [:]
            let auth = me["auth"] as? [String: Any] ?? [:]
            print("\(user["username"] ?? "") <\(user["email"] ?? "")> via \(auth["method"] ?? "") on \(client.server)")
            let rows = (me["memberships"] as? [[String: Any]] ?? []).map { membership -> [String: Any] in
                let org = membership["organization"] as? [String: Any] ?? [:]
                return ["org": org["slug"] ?? "", "id": org["id"] ?? "", "role": membership["role"] ?? ""]
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
        guard let pointer = getpass(prompt) else { throw CLIError(message: "Cannot read a password from the terminal; use --password-stdin", exitCode: 2) }
        return String(cString: pointer)
    }
}
