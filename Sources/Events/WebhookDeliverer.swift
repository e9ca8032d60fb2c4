import AITIPCore
import Crypto
import Foundation
import Logging
import SQLKit
import Storage

/// Sends queued webhook deliveries, on one server per database (the holder of the `webhooks` lease): due deliveries
/// every second, up to 8 at once. A delivery answered 2xx is done; no answer, 408, 429 or 5xx is tried again after
/// 1, 2, 4 … 64 seconds, `maxAttempts` times in all; any other answer ends it as failed (the receiver refused it).
/// Requests are signed as MLflow signs them (`X-MLflow-Signature: v1,<base64 HMAC-SHA256 of
/// "<delivery id>.<timestamp>.<body>">`), so receivers written for MLflow's webhooks verify them unchanged.
package struct WebhookDeliverer: Sendable {
    package static let maxAttempts = 8
    static let batch = 32
    static let concurrency = 8

    let database: Database
    let clock: any Clock
    let configuration: WebhookService.Configuration
    let lease: LeaderLease
    let logger: Logger

    package init(database: Database, clock: any Clock, configuration: WebhookService.Configuration, logger: Logger) {
        self.database = database
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        lease = LeaderLease(name: "webhooks", database: database, clock: clock, seconds: 60)
    }

    /// Delivers until cancelled.
    package func run() async {
        while !Task.isCancelled {
            var sent = 0
            do {
                // The holder renews every 20 s, not every round; the others try to take it each second.
                if try await lease.renewIfDue() { sent = try await deliverDue() }
            } catch {
                logger.warning("webhooks: a delivery round failed; retried in a second", metadata: ["error": "\(error)"])
            }
            if sent < Self.batch { try? await Task.sleep(for: .seconds(1)) }
        }
        let lease = self.lease
        try? await Task { try await lease.release() }.value
    }

    /// One round: the deliveries due now, sent and recorded. Returns how many were attempted.
    package func deliverDue() async throws -> Int {
        let now = clock.now()
        let due = try await database.read { sql in
            try await sql.select().column("*").from("webhook_deliveries").where("status", .equal, WebhookDelivery.Status.pending.rawValue)
                .where("next_attempt_ms", .lessThanOrEqual, now.epochMilliseconds).orderBy("next_attempt_ms").limit(Self.batch)
                .all(decoding: WebhookDelivery.self)
        }
        guard !due.isEmpty else { return 0 }
        let webhookIds = Array(Set(due.map(\.webhookId)))
        let webhooks = try await database.read { sql in
            try await sql.select().column("*").from("webhooks").where("id", .in, webhookIds).all(decoding: Webhook.self)
        }
        let byId = Dictionary(uniqueKeysWithValues: webhooks.map { ($0.id, $0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for delivery in due {
                if running == Self.concurrency {
                    try await group.next()
                    running -= 1
                }
                group.addTask { try await attempt(delivery, webhook: byId[delivery.webhookId]) }
                running += 1
            }
            try await group.waitForAll()
        }
        return due.count
    }

    private func attempt(_ delivery: WebhookDelivery, webhook: Webhook?) async throws {
        var next = delivery
        next.attempts += 1
        if let webhook, webhook.status == .active {
            let answer = await Self.post(
                webhook, deliveryId: delivery.id.lowercasedString, event: delivery.event, payload: delivery.payload, now: clock.now(),
                configuration: configuration)
            next.lastStatus = answer.status
            next.lastError = answer.error
            switch answer.status {
            case let code? where (200..<300).contains(code):
                next.status = .delivered
            case let code? where code != 408 && code != 429 && code < 500:
                next.status = .failed
            default:
                if next.attempts >= Self.maxAttempts {
                    next.status = .failed
                } else {
                    next.nextAttemptMs = clock.now().epochMilliseconds + 1_000 << Int64(next.attempts - 1)
                }
            }
            if next.status != .delivered {
                logger.info(
                    "webhooks: delivery not accepted",
                    metadata: [
                        "webhook": "\(webhook.id.lowercasedString)", "delivery": "\(delivery.id.lowercasedString)", "attempt": "\(next.attempts)",
                        "status": "\(answer.status.map(String.init) ?? "none")", "outcome": "\(next.status.rawValue)",
                    ])
            }
        } else {
            next.status = .failed
            next.lastError = "The webhook was disabled before this event could be sent"
        }
        next.updatedMs = clock.now().epochMilliseconds
        let recorded = next
        try await database.transaction { sql in try await sql.updateRow(recorded, in: "webhook_deliveries", id: recorded.id) }
    }

    /// One POST of an event, signed when the webhook has a secret. The body is MLflow's:
    /// `{"entity", "action", "timestamp" (ISO 8601, UTC), "data"}`.
    static func post(
        _ webhook: Webhook, deliveryId: String, event: String, payload: String, now: Date, configuration: WebhookService.Configuration
    ) async -> OutboundPost.Answer {
        await post(
            to: webhook.url, secret: webhook.secret, deliveryId: deliveryId, event: event, payload: payload, now: now, configuration: configuration)
    }

    /// The same POST to any URL a user gave (a release's deploy step): signed and sent under the same rules (public
    /// addresses only unless allowed, no redirect, no proxy, a bounded answer).
    package static func post(
        to url: String, secret: String?, deliveryId: String, event: String, payload: String, now: Date,
        configuration: WebhookService.Configuration
    ) async -> OutboundPost.Answer {
        let parts = event.split(separator: ".", maxSplits: 1).map(String.init)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let body =
            #"{"entity":"\#(parts.first ?? event)","action":"\#(parts.last ?? "")","timestamp":"\#(formatter.string(from: now))","data":\#(payload)}"#
        let timestamp = String(Int64(now.timeIntervalSince1970))
        var headers = [
            ("Content-Type", "application/json"), ("User-Agent", "aitip-webhooks"), ("X-MLflow-Delivery-Id", deliveryId),
            ("X-MLflow-Timestamp", timestamp),
        ]
        if let secret {
            headers.append(("X-MLflow-Signature", signature(secret: secret, deliveryId: deliveryId, timestamp: timestamp, body: body)))
        }
        return await OutboundPost.send(
            to: url, body: body, headers: headers, allowPrivate: configuration.allowPrivateAddresses,
            timeoutSeconds: configuration.timeoutSeconds)
    }

    package static func signature(secret: String, deliveryId: String, timestamp: String, body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(deliveryId).\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Drops delivered and failed deliveries older than `days` (the maintenance sweep).
    package static func dropFinished(olderThan days: Int64, database: Database, now: Date) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "webhook_deliveries").where("status", .notEqual, WebhookDelivery.Status.pending.rawValue)
                .where("updated_ms", .lessThan, now.epochMilliseconds - days * 86_400_000).run()
        }
    }
}
