import AITIPCore
import Foundation
import Identity
import SQLKit
import Storage

/// Webhooks of a project (MLflow 3's registry webhooks, and the release pipeline's transitions): who may manage them is
/// `release:*` in the project, as for the registry and the releases whose events they carry. Managed through MLflow's
/// API (`/api/2.0/mlflow/webhooks`) and aitip's (`/api/v1/projects/{id}/webhooks`, `/api/v1/webhooks/{id}`). Events are queued in the same transaction as the change they announce
/// (`enqueue`), so a committed change is announced and a rolled-back one is not; `WebhookDeliverer` sends them.
package struct WebhookService: Sendable {
    package struct Configuration: Sendable {
        /// Whether webhooks may reach loopback, private and other non-public addresses (webhook_allow_private).
        package var allowPrivateAddresses: Bool
        /// How long one delivery may wait for its answer.
        package var timeoutSeconds: Int64

        package init(allowPrivateAddresses: Bool = false, timeoutSeconds: Int64 = 30) {
            self.allowPrivateAddresses = allowPrivateAddresses
            self.timeoutSeconds = timeoutSeconds
        }
    }

    /// What a create or an update sets; nil leaves a field as it is (an update) or at its default (a create).
    package struct Input: Sendable {
        package var name: String?
        package var description: String?
        package var url: String?
        package var events: [String]?
        package var secret: String?
        package var status: Webhook.Status?

        package init(
            name: String? = nil, description: String? = nil, url: String? = nil, events: [String]? = nil, secret: String? = nil,
            status: Webhook.Status? = nil
        ) {
            self.name = name
            self.description = description
            self.url = url
            self.events = events
            self.secret = secret
            self.status = status
        }
    }

    package struct TestResult: Sendable {
        package var success: Bool
        package var responseStatus: Int?
        package var responseBody: String
        package var errorMessage: String?
    }

    let database: Database
    let clock: any Clock
    let audit: AuditLog
    package let configuration: Configuration

    package init(database: Database, clock: any Clock, audit: AuditLog, configuration: Configuration = .init()) {
        self.database = database
        self.clock = clock
        self.audit = audit
        self.configuration = configuration
    }

    package func create(_ input: Input, in scope: ProjectScope, caller: Caller) async throws -> Webhook {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .releaseWrite, on: scope.policyResource)
        let now = clock.now().epochMilliseconds
        var webhook = Webhook(
            id: IDGenerator.uuidV7(), orgId: scope.orgId, projectId: scope.projectId, name: "", description: "", url: "", events: "[]",
            secret: nil, status: .active, createdBy: principal.userId, createdMs: now, updatedMs: now)
        try apply(input, to: &webhook, creating: true)
        let created = webhook
        try await database.transaction { sql in
            try await sql.insert(created, into: "webhooks")
            try await audit.record(
                on: sql, caller, orgId: scope.orgId, action: "webhook.create", targetType: "webhook", targetId: created.id.lowercasedString,
                detail: "\(created.name): \(created.eventNames.joined(separator: ", "))")
        }
        return created
    }

    /// The project's webhooks, oldest first, a page at a time (`more`: another page follows).
    package func list(in scope: ProjectScope, limit: Int, offset: Int, caller: Caller) async throws -> (webhooks: [Webhook], more: Bool) {
        try Policy.authorize(try caller.requirePrincipal(), .releaseRead, on: scope.policyResource)
        let limit = min(max(limit, 1), 1_000)
        let rows = try await database.read { sql in
            try await sql.select().column("*").from("webhooks").where("project_id", .equal, scope.projectId).orderBy("created_ms").orderBy("id")
                .limit(limit + 1).offset(max(offset, 0)).all(decoding: Webhook.self)
        }
        return (Array(rows.prefix(limit)), rows.count > limit)
    }

    package func webhook(_ id: UUID, caller: Caller) async throws -> Webhook {
        try await authorized(id, .releaseRead, caller: caller)
    }

    package func update(_ id: UUID, _ input: Input, caller: Caller) async throws -> Webhook {
        var webhook = try await authorized(id, .releaseWrite, caller: caller)
        try apply(input, to: &webhook, creating: false)
        webhook.updatedMs = clock.now().epochMilliseconds
        let changed = webhook
        try await database.transaction { sql in
            try await sql.updateRow(changed, in: "webhooks", id: changed.id)
            try await audit.record(
                on: sql, caller, orgId: changed.orgId, action: "webhook.update", targetType: "webhook", targetId: changed.id.lowercasedString)
        }
        return changed
    }

    package func delete(_ id: UUID, caller: Caller) async throws {
        let webhook = try await authorized(id, .releaseDelete, caller: caller)
        try await database.transaction { sql in
            try await sql.delete(from: "webhooks").where("id", .equal, webhook.id).run()
            try await audit.record(
                on: sql, caller, orgId: webhook.orgId, action: "webhook.delete", targetType: "webhook", targetId: webhook.id.lowercasedString)
        }
    }

    /// Sends an example of `event` (the webhook's first event by default) now and reports the answer.
    package func test(_ id: UUID, event: String?, caller: Caller) async throws -> TestResult {
        let webhook = try await authorized(id, .releaseWrite, caller: caller)
        let chosen = event ?? webhook.eventNames.first ?? "registered_model.created"
        guard WebhookEvents.supported.contains(chosen) else { throw AppError.badRequest("'\(chosen)' is not a webhook event") }
        let payload = String(decoding: try JSONEncoder().encode(WebhookEvents.example(chosen)), as: UTF8.self)
        let answer = await WebhookDeliverer.post(
            webhook, deliveryId: IDGenerator.random().lowercasedString, event: chosen, payload: payload, now: clock.now(),
            configuration: configuration)
        try await database.transaction { sql in
            try await audit.record(
                on: sql, caller, orgId: webhook.orgId, action: "webhook.test", targetType: "webhook", targetId: webhook.id.lowercasedString,
                detail: answer.status.map { "answered \($0)" } ?? "no answer")
        }
        return TestResult(
            success: (answer.status ?? 600) < 400, responseStatus: answer.status, responseBody: answer.body, errorMessage: answer.error)
    }

    /// The webhook's latest deliveries, newest first (at most `limit`): what was sent, and what came back.
    package func deliveries(of id: UUID, limit: Int, caller: Caller) async throws -> [WebhookDelivery] {
        let webhook = try await authorized(id, .releaseRead, caller: caller)
        return try await database.read { sql in
            try await sql.select().column("*").from("webhook_deliveries").where("webhook_id", .equal, webhook.id).orderBy("created_ms", .descending)
                .orderBy("id", .descending).limit(min(max(limit, 1), 1_000)).all(decoding: WebhookDelivery.self)
        }
    }

    /// Queues `event` for every active webhook of the project that subscribes to it, on the caller's transaction.
    package static func enqueue(_ event: String, data: [String: JSONValue], projectId: UUID, nowMs: Int64, on sql: any SQLDatabase) async throws {
        let subscribed = try await sql.select().column("*").from("webhooks").where("project_id", .equal, projectId)
            .where("status", .equal, Webhook.Status.active.rawValue).all(decoding: Webhook.self)
            .filter { $0.eventNames.contains(event) }
        guard !subscribed.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = String(decoding: try encoder.encode(data), as: UTF8.self)
        for webhook in subscribed {
            try await sql.insert(
                WebhookDelivery(
                    id: IDGenerator.uuidV7(), webhookId: webhook.id, event: event, payload: payload, status: .pending, attempts: 0,
                    nextAttemptMs: nowMs, lastStatus: nil, lastError: nil, createdMs: nowMs, updatedMs: nowMs),
                into: "webhook_deliveries")
        }
    }

    /// The webhook, once the caller may act on it; one they cannot see answers 404, as one that does not exist.
    private func authorized(_ id: UUID, _ permission: Permission, caller: Caller) async throws -> Webhook {
        let principal = try caller.requirePrincipal()
        guard
            let webhook = try await database.read({ sql in
                try await sql.select().column("*").from("webhooks").where("id", .equal, id).first(decoding: Webhook.self)
            }),
            principal.visibleOrgIds.contains(webhook.orgId)
        else {
            throw AppError(.notFound, "Webhook with ID \(id.lowercasedString) not found")
        }
        try Policy.authorize(principal, permission, on: Policy.Resource(kind: "Webhook", orgId: webhook.orgId, projectId: webhook.projectId))
        return webhook
    }

    private func apply(_ input: Input, to webhook: inout Webhook, creating: Bool) throws(AppError) {
        var validator = Validator()
        if creating || input.name != nil {
            webhook.name = validator.requireText(input.name, "name", maxLength: 256)
        }
        if let description = input.description {
            webhook.description = validator.optionalText(description, "description", maxLength: 1_000) ?? ""
        }
        if creating || input.url != nil {
            do { webhook.url = try OutboundURL.validate(input.url ?? "", allowPrivate: configuration.allowPrivateAddresses).absoluteString } catch {
                validator.add("url", error.detail)
            }
        }
        if creating || input.events != nil {
            let events = input.events ?? []
            if events.isEmpty { validator.add("events", "must name at least one event") }
            for event in events where !WebhookEvents.supported.contains(event) {
                validator.add(
                    "events", "'\(event)' is not a webhook event; one of \((WebhookEvents.registry + WebhookEvents.release).joined(separator: ", "))")
            }
            webhook.events = Webhook.encode(Array(Set(events)).sorted())
        }
        if let secret = input.secret {
            if secret.count > 1_000 { validator.add("secret", "must be at most 1000 characters") }
            webhook.secret = secret.isEmpty ? nil : secret
        }
        if let status = input.status { webhook.status = status }
        try validator.finish()
    }
}
