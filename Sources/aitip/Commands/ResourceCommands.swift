import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation

/// Paging flags of list commands.
struct PageOptions: ParsableArguments {
    @Option(help: "Items per page (1–500).") var limit: Int?
    @Option(help: "The cursor printed after the previous page.") var cursor: String?
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
            try await ClientCall.show(options, columns: OrgsCommand.columns) { api in
                try await api.listOrgs(query: .init(limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one organization.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Organization id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getOrg(path: .init(orgId: id)).ok.body.json }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organization (you become its owner).")
        @OptionGroup var options: ClientOptions
        @Option(help: "Display name.") var name: String
        @Option(help: "URL-safe slug (default: derived from the name).") var slug: String?
        func run() async throws {
            try await ClientCall.show(options) { api in
                try await api.createOrg(body: .json(.init(name: name, slug: slug))).created.body.json
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an organization with every project, run, dataset and key in it (owners only; irreversible).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Organization id.") var id: String
        @Option(help: "The organization's slug, repeated to confirm.") var confirm: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted organization \(id).") { api in
                _ = try await api.deleteOrg(path: .init(orgId: id), query: .init(confirm: confirm)).noContent
            }
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
            try await ClientCall.show(options, columns: ProjectsCommand.columns) { api in
                try await api.listProjects(query: .init(orgId: org, limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one project.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Project id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getProject(path: .init(projectId: id)).ok.body.json }
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
            try await ClientCall.show(options) { api in
                try await api.createProject(body: .json(.init(orgId: org, name: name, slug: slug, description: description))).created.body.json
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a project.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Project id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted project \(id).") { api in
                _ = try await api.deleteProject(path: .init(projectId: id)).noContent
            }
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
            try await ClientCall.show(options, columns: ["id", "name", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at"]) { api in
                try await api.listApiKeys(query: .init(limit: page.limit, cursor: page.cursor)).ok.body.json
            }
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
            let request = Components.Schemas.ApiKeyCreate(
                name: name, orgId: org, scopes: scopes.isEmpty ? nil : scopes,
                expiresAt: expiresInDays.map { Date().addingTimeInterval(Double($0) * 86_400) })
            try await ClientCall.show(options, columns: ["id", "name", "key", "scopes", "expires_at"]) { api in
                try await api.createApiKey(body: .json(request)).created.body.json
            }
            if options.output == .table { FileHandle.standardError.write(Data("Save the key now: it is not shown again.\n".utf8)) }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "API key id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Revoked API key \(id).") { api in _ = try await api.revokeApiKey(path: .init(keyId: id)).ok }
        }
    }
}

/// The shapes every client command shares: one call of the generated client, its answer printed or a line saying
/// what was done.
enum ClientCall {
    static func show(_ options: ClientOptions, columns: [String] = [], _ call: (Client) async throws -> some Encodable) async throws {
        try await runClient {
            let client = try APIClient(server: options.server)
            try Output.show(try await call(client.api), format: options.output, columns: columns)
        }
    }

    static func perform(_ options: ClientOptions, done: String, _ call: (Client) async throws -> Void) async throws {
        try await runClient {
            let client = try APIClient(server: options.server)
            try await call(client.api)
            print(done)
        }
    }
}
