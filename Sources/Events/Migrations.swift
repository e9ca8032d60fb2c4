import Storage

/// Webhook subscriptions and their deliveries (the outbox the deliverer works through). Numbers continue the global
/// sequence (see App/AllMigrations).
package enum WebhookMigrations {
    package static let all: [Migration] = [
        Migration(28, "create_webhooks") { t in
            [
                """
                CREATE TABLE webhooks (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    name \(t.text) NOT NULL,
                    description \(t.text) NOT NULL DEFAULT '',
                    url \(t.text) NOT NULL,
                    events \(t.text) NOT NULL,
                    secret \(t.text),
                    status \(t.text) NOT NULL,
                    created_by \(t.uuid),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL
                )
                """,
                "CREATE INDEX webhooks_project ON webhooks (project_id)",
                """
                CREATE TABLE webhook_deliveries (
                    id \(t.uuid) PRIMARY KEY,
                    webhook_id \(t.uuid) NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
                    event \(t.text) NOT NULL,
                    payload \(t.text) NOT NULL,
                    status \(t.text) NOT NULL,
                    attempts \(t.integer) NOT NULL DEFAULT 0,
                    next_attempt_ms \(t.bigint) NOT NULL,
                    last_status \(t.integer),
                    last_error \(t.text),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL
                )
                """,
                "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_ms)",
            ]
        },
        // A webhook's latest deliveries are listed (GET /webhooks/{id}/deliveries).
        Migration(39, "index_webhook_deliveries_by_webhook") { _ in
            ["CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_ms)"]
        },
    ]
}
