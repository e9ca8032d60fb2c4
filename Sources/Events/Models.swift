import AITIPCore
import Foundation

/// A subscription: events of one project POSTed to a URL, signed with the secret when there is one.
package struct Webhook: Sendable, Codable, Equatable {
    package enum Status: String, Sendable, Codable, CaseIterable {
        case active = "ACTIVE", disabled = "DISABLED"
    }

    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var name: String
    package var description: String
    package var url: String
    /// JSON list of event names (`model_version.created`).
    package var events: String
    /// The HMAC key of the signatures; never returned by the API.
    package var secret: String?
    package var status: Status
    package var createdBy: UUID?
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, description, url, events, secret, status
        case orgId = "org_id", projectId = "project_id", createdBy = "created_by", createdMs = "created_ms", updatedMs = "updated_ms"
    }

    package var eventNames: [String] { (try? JSONDecoder().decode([String].self, from: Data(events.utf8))) ?? [] }

    static func encode(_ events: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(events)) ?? Data("[]".utf8), as: UTF8.self)
    }
}

/// One event on its way to one webhook: delivered at least once (a receiver tells retries apart by the delivery id,
/// sent as `X-MLflow-Delivery-Id`), retried with growing pauses while the receiver is unreachable or answers 408,
/// 429 or 5xx, abandoned after `WebhookDeliverer.maxAttempts`.
package struct WebhookDelivery: Sendable, Codable, Equatable {
    package enum Status: String, Sendable, Codable { case pending, delivered, failed }

    package var id: UUID
    package var webhookId: UUID
    package var event: String
    /// The event's `data` as JSON text.
    package var payload: String
    package var status: Status
    package var attempts: Int
    package var nextAttemptMs: Int64
    package var lastStatus: Int?
    package var lastError: String?
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, event, payload, status, attempts
        case webhookId = "webhook_id", nextAttemptMs = "next_attempt_ms", lastStatus = "last_status", lastError = "last_error"
        case createdMs = "created_ms", updatedMs = "updated_ms"
    }
}

/// The events a webhook may subscribe to, as `entity.action` (MLflow 3's names). The registry's are the ones MLflow
/// defines for registered models and versions; MLflow's prompt events have no counterpart here (no prompt registry).
package enum WebhookEvents {
    package static let registry: [String] = [
        "registered_model.created", "model_version.created", "model_version_tag.set", "model_version_tag.deleted",
        "model_version_alias.created", "model_version_alias.deleted",
    ]

    /// A release's transitions (Sources/Release): one event per timeline entry that changes what the release does —
    /// `release.analysis` carries the analysis's passed and inconclusive verdicts, a failed one is `release.rolled_back`.
    package static let release: [String] = [
        "release.created", "release.updated", "release.approved", "release.rejected", "release.deployed", "release.resumed",
        "release.promoted", "release.production", "release.paused", "release.rolled_back", "release.analysis", "release.model_changed",
    ]

    package static let supported: Set<String> = Set(registry + release)

    /// An example `data` for a test delivery, in the shape of the real event's.
    package static func example(_ event: String) -> [String: JSONValue] {
        if event.hasPrefix("release.") {
            return [
                "release_id": .string("0190f1e2-0000-7000-8000-000000000000"), "name": .string("example_release"), "version": .string("1.0"),
                "kind": .string(String(event.dropFirst("release.".count))), "from_status": .string("canary"), "status": .string("canary"),
                "stage": .number(2), "canary_percentage": .number(20), "model": .string("models:/example_model/2"), "actor": .string("aitip"),
                "detail": .string("An example release event"),
            ]
        }
        let base: [String: JSONValue] = ["name": .string("example_model")]
        switch event {
        case "registered_model.created":
            return base.merging(["tags": .object(["example_key": .string("example_value")]), "description": .string("An example registered model")]) {
                $1
            }
        case "model_version.created":
            return base.merging([
                "version": .string("1"), "source": .string("models:/m-0123456789abcdef"), "run_id": .string("example-run-id"),
                "tags": .object(["example_key": .string("example_value")]), "description": .string("An example model version"),
            ]) { $1 }
        case "model_version_tag.set":
            return base.merging(["version": .string("1"), "key": .string("example_key"), "value": .string("example_value")]) { $1 }
        case "model_version_tag.deleted":
            return base.merging(["version": .string("1"), "key": .string("example_key")]) { $1 }
        case "model_version_alias.created":
            return base.merging(["alias": .string("example_alias"), "version": .string("1")]) { $1 }
        default:
            return base.merging(["alias": .string("example_alias")]) { $1 }
        }
    }
}
