import Storage

/// The table behind `IdempotencyMiddleware`. Numbers continue the global sequence (App/AllMigrations).
package enum HTTPServerMigrations {
    package static let all: [Migration] = [
        Migration(20, "create_idempotency_keys") { t in
            [
                """
                CREATE TABLE idempotency_keys (
                    user_id \(t.uuid) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    key \(t.text) NOT NULL,
                    fingerprint \(t.text) NOT NULL,
                    status \(t.integer),
                    content_type \(t.text),
                    location \(t.text),
                    body \(t.blob),
                    created_ms \(t.bigint) NOT NULL,
                    PRIMARY KEY (user_id, key)
                )
                """,
                "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms)",
            ]
        }
    ]
}
