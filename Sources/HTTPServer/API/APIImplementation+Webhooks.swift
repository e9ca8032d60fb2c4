import AITIPAPI
import AITIPCore
import Events
import Foundation
import OpenAPIRuntime

/// A project's webhooks through aitip's API: the same subscriptions as MLflow's webhook API manages (Events'
/// `WebhookService`), with the release events the MLflow client's event types cannot name.
extension APIImplementation {
    var webhooks: WebhookService { dependencies.webhooks }

    func listWebhooks(_ input: Operations.ListWebhooks.Input) async throws -> Operations.ListWebhooks.Output {
        let scope = try await tracking.project(.id(try Parse.id(input.path.projectId, "project_id")), permission: .releaseRead, caller: caller)
        let offset = try Cursor.parse(input.query.cursor)?.int(0) ?? 0
        let page = try await webhooks.list(in: scope, limit: try PageRequest.limit(input.query.limit), offset: offset, caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: page.webhooks.map(Components.Schemas.Webhook.init),
                        nextCursor: page.more ? Cursor(offset: offset + page.webhooks.count).text : nil))))
    }

    func createWebhook(_ input: Operations.CreateWebhook.Input) async throws -> Operations.CreateWebhook.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let scope = try await tracking.project(.id(try Parse.id(input.path.projectId, "project_id")), permission: .releaseRead, caller: caller)
        let created = try await webhooks.create(
            .init(
                name: body.name, description: body.description, url: body.url, events: body.events.map(\.rawValue), secret: body.secret,
                status: body.status.flatMap { Webhook.Status(rawValue: $0.rawValue) }),
            in: scope, caller: caller)
        return .created(.init(body: .json(.init(created))))
    }

    func getWebhook(_ input: Operations.GetWebhook.Input) async throws -> Operations.GetWebhook.Output {
        .ok(.init(body: .json(.init(try await webhooks.webhook(try Parse.id(input.path.webhookId, "webhook_id"), caller: caller)))))
    }

    func updateWebhook(_ input: Operations.UpdateWebhook.Input) async throws -> Operations.UpdateWebhook.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let updated = try await webhooks.update(
            try Parse.id(input.path.webhookId, "webhook_id"),
            .init(
                name: body.name, description: body.description, url: body.url, events: body.events?.map(\.rawValue), secret: body.secret,
                status: body.status.flatMap { Webhook.Status(rawValue: $0.rawValue) }),
            caller: caller)
        return .ok(.init(body: .json(.init(updated))))
    }

    func deleteWebhook(_ input: Operations.DeleteWebhook.Input) async throws -> Operations.DeleteWebhook.Output {
        try await webhooks.delete(try Parse.id(input.path.webhookId, "webhook_id"), caller: caller)
        return .noContent(.init())
    }

    func testWebhook(_ input: Operations.TestWebhook.Input) async throws -> Operations.TestWebhook.Output {
        var event: String?
        if case .json(let body) = input.body { event = body.event?.rawValue }
        let result = try await webhooks.test(try Parse.id(input.path.webhookId, "webhook_id"), event: event, caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        success: result.success, responseStatus: result.responseStatus, responseBody: result.responseBody,
                        errorMessage: result.errorMessage))))
    }

    func listWebhookDeliveries(_ input: Operations.ListWebhookDeliveries.Input) async throws -> Operations.ListWebhookDeliveries.Output {
        let deliveries = try await webhooks.deliveries(
            of: try Parse.id(input.path.webhookId, "webhook_id"), limit: try PageRequest.limit(input.query.limit), caller: caller)
        return .ok(.init(body: .json(.init(items: deliveries.map(Components.Schemas.WebhookDelivery.init)))))
    }
}

extension Components.Schemas.Webhook {
    init(_ webhook: Webhook) {
        self.init(
            id: webhook.id.lowercasedString, projectId: webhook.projectId.lowercasedString, name: webhook.name, description: webhook.description,
            url: webhook.url, events: webhook.eventNames.compactMap(Components.Schemas.WebhookEventName.init(rawValue:)),
            status: StatusPayload(rawValue: webhook.status.rawValue) ?? .active, hasSecret: webhook.secret != nil,
            createdBy: webhook.createdBy?.lowercasedString, createdAt: Date(epochMilliseconds: webhook.createdMs),
            updatedAt: Date(epochMilliseconds: webhook.updatedMs))
    }
}

extension Components.Schemas.WebhookDelivery {
    init(_ delivery: WebhookDelivery) {
        let payload = (try? JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data(delivery.payload.utf8))) ?? .init()
        self.init(
            id: delivery.id.lowercasedString, event: delivery.event,
            payload: .init(additionalProperties: payload), status: StatusPayload(rawValue: delivery.status.rawValue) ?? .pending,
            attempts: delivery.attempts, nextAttemptAt: delivery.status == .pending ? Date(epochMilliseconds: delivery.nextAttemptMs) : nil,
            lastStatus: delivery.lastStatus, lastError: delivery.lastError, createdAt: Date(epochMilliseconds: delivery.createdMs),
            updatedAt: Date(epochMilliseconds: delivery.updatedMs))
    }
}
