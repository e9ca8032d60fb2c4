import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation

struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "A project's webhooks: registry and release events POSTed to a URL, signed as MLflow 3 signs them.",
        subcommands: [List.self, Create.self, Update.self, Delete.self, Test.self, Deliveries.self])

    static let columns = ["id", "name", "url", "status", "events", "has_secret"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The project's webhooks (the secrets are never shown).")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id.") var project: String
        func run() async throws {
            try await ClientCall.show(options, columns: WebhookCommand.columns) { api in
                try await api.listWebhooks(path: .init(projectId: project), query: .init(limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Subscribe a URL to events.",
            discussion: """
                Example:
                  aitip webhooks create --project P --name deploys --url https://ci.example.com/hooks/aitip \\
                    --event release.production --event release.rolled_back --secret "$HOOK_SECRET"
                Events: registered_model.created, model_version.created, model_version_tag.set|deleted,
                model_version_alias.created|deleted, release.created|updated|approved|rejected|deployed|resumed|promoted|
                production|paused|rolled_back|analysis|model_changed (docs/releases.md#notifications).
                """)
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Webhook name.") var name: String
        @Option(help: "Where to POST (http or https; a public address unless the server allows private ones).") var url: String
        @Option(help: "An event to send (repeatable).") var event: [String] = []
        @Option(help: "The HMAC-SHA256 key of X-MLflow-Signature.") var secret: String?
        @Option(help: "What it is for.") var description: String?
        func run() async throws {
            let events = try WebhookCommand.events(event)
            try await ClientCall.show(options, columns: WebhookCommand.columns) { api in
                let body = Components.Schemas.WebhookCreate(name: name, description: description, url: url, events: events, secret: secret)
                return try await api.createWebhook(path: .init(projectId: project), body: .json(body)).created.body.json
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a webhook (options left out stay as they are).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Webhook id.") var id: String
        @Option(help: "Where to POST.") var url: String?
        @Option(help: "An event to send (repeatable; replaces the list).") var event: [String] = []
        @Option(help: "A new secret (an empty one removes it).") var secret: String?
        @Flag(help: "Stop sending.") var disable = false
        @Flag(help: "Send again.") var enable = false
        func run() async throws {
            let events = event.isEmpty ? nil : try WebhookCommand.events(event)
            let status: Components.Schemas.WebhookUpdate.StatusPayload? = disable ? .disabled : enable ? .active : nil
            try await ClientCall.show(options, columns: WebhookCommand.columns) { api in
                let body = Components.Schemas.WebhookUpdate(url: url, events: events, secret: secret, status: status)
                return try await api.updateWebhook(path: .init(webhookId: id), body: .json(body)).ok.body.json
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a webhook and its queued deliveries.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Webhook id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted webhook \(id).") { api in
                _ = try await api.deleteWebhook(path: .init(webhookId: id)).noContent
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send an example event now and show what the receiver answered.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Webhook id.") var id: String
        @Option(help: "The event to send an example of (default: the webhook's first).") var event: String?
        func run() async throws {
            let chosen = try event.map { try WebhookCommand.events([$0])[0] }
            try await ClientCall.show(options, columns: ["success", "response_status", "error_message", "response_body"]) { api in
                try await api.testWebhook(path: .init(webhookId: id), body: .json(.init(event: chosen))).ok.body.json
            }
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The webhook's latest deliveries, newest first.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Webhook id.") var id: String
        @Option(help: "How many (default 50).") var limit: Int?
        func run() async throws {
            try await ClientCall.show(options, columns: ["id", "event", "status", "attempts", "last_status", "last_error", "created_at"]) { api in
                try await api.listWebhookDeliveries(path: .init(webhookId: id), query: .init(limit: limit)).ok.body.json
            }
        }
    }

    static func events(_ names: [String]) throws -> [Components.Schemas.WebhookEventName] {
        try names.map { name in
            guard let event = Components.Schemas.WebhookEventName(rawValue: name) else {
                throw ValidationError("'\(name)' is not a webhook event; see aitip webhooks create --help")
            }
            return event
        }
    }
}
