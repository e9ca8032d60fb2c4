import AITIPCore
import Events
import Foundation
import HTTPServer
import Hummingbird
import Tracking

/// MLflow 3's webhook API (`/api/2.0/mlflow/webhooks…`), for the registry events of the call's project. Events are
/// written as MLflow's protobuf JSON writes them (`{"entity": "MODEL_VERSION", "action": "CREATED"}`) and stored as
/// `model_version.created`.
struct MLflowWebhookHandlers: Sendable {
    let tracking: TrackingService
    let webhooks: WebhookService

    func register(on groups: MLflowRouteGroups) {
        let route = groups.on
        route(.post, "webhooks") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            let webhook = try await webhooks.create(try Self.input(call, creating: true), in: scope, caller: call.caller)
            return try MLflowResponse.json(["webhook": MLWebhook(webhook)])
        }
        route(.get, "webhooks") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            let offset = try OffsetPageToken.decode(call.string("page_token"))
            let page = try await webhooks.list(in: scope, limit: try call.int("max_results", default: 100), offset: offset, caller: call.caller)
            return try MLflowResponse.json(
                MLWebhookPage(
                    webhooks: page.webhooks.map(MLWebhook.init),
                    next_page_token: page.more ? OffsetPageToken.encode(offset + page.webhooks.count) : nil))
        }
        route(.get, "webhooks/:webhook_id") { call in
            try MLflowResponse.json(["webhook": MLWebhook(try await webhooks.webhook(try Self.id(call), caller: call.caller))])
        }
        route(.patch, "webhooks/:webhook_id") { call in
            let webhook = try await webhooks.update(try Self.id(call), try Self.input(call, creating: false), caller: call.caller)
            return try MLflowResponse.json(["webhook": MLWebhook(webhook)])
        }
        route(.delete, "webhooks/:webhook_id") { call in
            try await webhooks.delete(try Self.id(call), caller: call.caller)
            return MLflowResponse.empty()
        }
        route(.post, "webhooks/:webhook_id/test") { call in
            let event = try (call.fields["event"] as? [String: Any]).map(Self.eventName)
            let result = try await webhooks.test(try Self.id(call), event: event, caller: call.caller)
            return try MLflowResponse.json(
                [
                    "result": MLTestResult(
                        success: result.success, response_status: result.responseStatus, response_body: result.responseBody,
                        error_message: result.errorMessage)
                ])
        }
    }

    static func id(_ call: MLflowCall) throws -> UUID {
        let text = try call.pathParameter("webhook_id")
        return try MLflowCall.uuid(text, what: "Webhook with ID \(text)")
    }

    static func input(_ call: MLflowCall, creating: Bool) throws -> WebhookService.Input {
        var status: Webhook.Status?
        if let text = call.string("status") {
            guard let parsed = Webhook.Status(rawValue: text.uppercased()) else { throw MLflowCall.invalid("status", text) }
            status = parsed
        }
        let events: [String]? = call.fields["events"] == nil && !creating ? nil : try call.objects("events").map(eventName)
        return WebhookService.Input(
            name: call.string("name"), description: call.string("description"), url: call.string("url"), events: events,
            secret: call.string("secret"), status: status)
    }

    /// `{"entity": "MODEL_VERSION", "action": "CREATED"}` (or lower case) → `model_version.created`.
    static func eventName(_ object: [String: Any]) throws -> String {
        guard let entity = object["entity"] as? String else { throw MLflowCall.missing("events.entity") }
        guard let action = object["action"] as? String else { throw MLflowCall.missing("events.action") }
        return "\(entity.lowercased()).\(action.lowercased())"
    }
}

struct MLWebhookEvent: Encodable {
    var entity: String
    var action: String
}

struct MLWebhook: Encodable {
    var webhook_id: String
    var name: String
    var description: String
    var url: String
    var events: [MLWebhookEvent]
    var status: String
    var creation_timestamp: Int64
    var last_updated_timestamp: Int64

    init(_ webhook: Webhook) {
        webhook_id = webhook.id.lowercasedString
        name = webhook.name
        description = webhook.description
        url = webhook.url
        events = webhook.eventNames.map { name in
            let parts = name.split(separator: ".", maxSplits: 1).map { $0.uppercased() }
            return MLWebhookEvent(entity: parts.first ?? "", action: parts.last ?? "")
        }
        status = webhook.status.rawValue
        creation_timestamp = webhook.createdMs
        last_updated_timestamp = webhook.updatedMs
    }
}

struct MLWebhookPage: Encodable {
    var webhooks: [MLWebhook]
    var next_page_token: String?
}

struct MLTestResult: Encodable {
    var success: Bool
    var response_status: Int?
    var response_body: String
    var error_message: String?
}
