import ArgumentParser
import Foundation

/// Paging flags of list commands.
struct PageOptions: ParsableArguments {
    @Option(help: "Items per page (1–500).") var limit: Int?
    @Option(help: "The cursor printed after the previous page.") var cursor: String?

    var query: [String: String?] { ["limit": limit.map(String.init), "cursor": cursor] }
}

struct OrgsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orgs", abstract: "Organizations you belong to.",
        subcommands: [List.self, Get.self, Create.self, Delete.self])

    static let columns = ["id", "slug", "name", "plan", "created_at"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List your organizations.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        func run() async throws {
            try await ClientCall.show("/api/v1/orgs", query: page.query, options: options, columns: OrgsCommand.columns)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one organization.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Organization id.") var id: String
        func run() async throws {
            try await ClientCall.show("/api/v1/orgs/\(PathSegment.encode(id))", options: options)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organization (you become its owner).")
        @OptionGroup var options: ClientOptions
        @Option(help: "Display name.") var name: String
        @Option(help: "URL-safe slug (default: derived from the name).") var slug: String?
        func run() async throws {
            var body: [String: Any] = ["name": name]
            body["slug"] = slug
            try await ClientCall.create("/api/v1/orgs", body: body, options: options)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an organization with its projects (owners only).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Organization id.") var id: String
        func run() async throws {
            try await ClientCall.delete("/api/v1/orgs/\(PathSegment.encode(id))", options: options, done: "Deleted organization \(id).")
        }
    }
}

struct ProjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projects", abstract: "Projects of your organizations.",
        subcommands: [List.self, Get.self, Create.self, Delete.self])

    static let columns = ["id", "slug", "name", "org_id", "created_at"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List projects.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Only this organization's projects (id).") var org: String?
        func run() async throws {
            var query = page.query
            query["org_id"] = org
            try await ClientCall.show("/api/v1/projects", query: query, options: options, columns: ProjectsCommand.columns)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one project.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Project id.") var id: String
        func run() async throws {
            try await ClientCall.show("/api/v1/projects/\(PathSegment.encode(id))", options: options)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a project.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Display name.") var name: String
        @Option(help: "Organization id (needed when you belong to several).") var org: String?
        @Option(help: "URL-safe slug (default: derived from the name).") var slug: String?
        @Option(help: "What the project is for.") var description: String?
        func run() async throws {
            var body: [String: Any] = ["name": name]
            body["org_id"] = org
            body["slug"] = slug
            body["description"] = description
            try await ClientCall.create("/api/v1/projects", body: body, options: options)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a project.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Project id.") var id: String
        func run() async throws {
            try await ClientCall.delete("/api/v1/projects/\(PathSegment.encode(id))", options: options, done: "Deleted project \(id).")
        }
    }
}

struct APIKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-keys", abstract: "Your API keys: programmatic access with scopes such as training:read.",
        subcommands: [List.self, Create.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List your API keys (secrets are never shown again).")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        func run() async throws {
            try await ClientCall.show("/api/v1/auth/api-keys", query: page.query, options: options,
                                      columns: ["id", "name", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at"])
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key; the secret is printed once.",
            discussion: "Use it as AITIP_TOKEN=<key> or 'Authorization: Bearer <key>'.")
        @OptionGroup var options: ClientOptions
        @Option(help: "What the key is for.") var name: String
        @Option(help: "Organization id the key is bound to (needed when you belong to several).") var org: String?
        @Option(name: .customLong("scope"), help: "A permission such as training:read; repeat for several (default: * = your role).")
        var scopes: [String] = []
        @Option(name: .customLong("expires-in-days"), help: "Days until the key expires (default: never).") var expiresInDays: Int?
        func run() async throws {
            try await runClient {
                var client = try APIClient(server: options.server)
                var body: [String: Any] = ["name": name]
                body["org_id"] = org
                if !scopes.isEmpty { body["scopes"] = scopes }
                if let days = expiresInDays {
                    body["expires_at"] = Date().addingTimeInterval(Double(days) * 86_400).formatted(.iso8601)
                }
                let created = try await client.send(.POST, "/api/v1/auth/api-keys", body: body)
                try Output.print(created, format: options.output, columns: ["id", "name", "key", "scopes", "expires_at"])
                if options.output == .table { FileHandle.standardError.write(Data("Save the key now: it is not shown again.\n".utf8)) }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "API key id.") var id: String
        func run() async throws {
            try await ClientCall.delete("/api/v1/auth/api-keys/\(PathSegment.encode(id))", options: options, done: "Revoked API key \(id).")
        }
    }
}

enum PathSegment {
    static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? value
    }
}

/// The shapes every resource command shares: show a GET answer, create with a POST, delete.
enum ClientCall {
    static func show(_ path: String, query: [String: String?] = [:], options: ClientOptions, columns: [String] = []) async throws {
        try await runClient {
            var client = try APIClient(server: options.server)
            try Output.print(try await client.send(.GET, path, query: query), format: options.output, columns: columns)
        }
    }

    static func create(_ path: String, body: [String: Any], options: ClientOptions, columns: [String] = []) async throws {
        try await runClient {
            var client = try APIClient(server: options.server)
            try Output.print(try await client.send(.POST, path, body: body), format: options.output, columns: columns)
        }
    }

    static func delete(_ path: String, options: ClientOptions, done: String) async throws {
        try await runClient {
            var client = try APIClient(server: options.server)
            _ = try await client.send(.DELETE, path)
            print(done)
        }
    }
}
