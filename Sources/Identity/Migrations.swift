import Storage

/// The identity tables. Numbers are global across modules (App assembles one ordered list); never edit a shipped one.
package enum IdentityMigrations {
    package static let all: [Migration] = [
        Migration(1, "create_organizations") { t in
            [
                """
                CREATE TABLE organizations (
                    id \(t.uuid) PRIMARY KEY,
                    name \(t.text) NOT NULL,
                    slug \(t.text) NOT NULL UNIQUE,
                    plan \(t.text) NOT NULL DEFAULT 'free',
                    settings \(t.json) NOT NULL DEFAULT '{}',
                    quota \(t.json) NOT NULL DEFAULT '{}',
                    created_at \(t.legacyTimestamp) NOT NULL,
                    updated_at \(t.legacyTimestamp) NOT NULL
                )
                """
            ]
        },
        Migration(2, "create_users") { t in
            [
                """
                CREATE TABLE users (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) REFERENCES organizations(id) ON DELETE SET NULL,
                    email \(t.text) NOT NULL UNIQUE,
                    username \(t.text) NOT NULL UNIQUE,
                    password_hash \(t.text),
                    settings \(t.json) NOT NULL DEFAULT '{}',
                    last_login_at \(t.legacyTimestamp),
                    created_at \(t.legacyTimestamp) NOT NULL,
                    updated_at \(t.legacyTimestamp) NOT NULL
                )
                """
            ]
        },
        // Roles are per organization (design §6.1), so they live on the membership, not on the user.
        Migration(3, "create_org_members") { t in
            [
                """
                CREATE TABLE org_members (
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    user_id \(t.uuid) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    role \(t.text) NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
                    created_at \(t.legacyTimestamp) NOT NULL,
                    PRIMARY KEY (org_id, user_id)
                )
                """,
                "CREATE INDEX org_members_user ON org_members (user_id)",
            ]
        },
        Migration(4, "create_api_keys") { t in
            [
                """
                CREATE TABLE api_keys (
                    id \(t.uuid) PRIMARY KEY,
                    user_id \(t.uuid) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    name \(t.text) NOT NULL,
                    prefix \(t.text) NOT NULL,
                    key_hash \(t.text) NOT NULL UNIQUE,
                    permissions \(t.json) NOT NULL DEFAULT '[]',
                    expires_at \(t.legacyTimestamp),
                    last_used_at \(t.legacyTimestamp),
                    revoked_at \(t.legacyTimestamp),
                    created_at \(t.legacyTimestamp) NOT NULL
                )
                """,
                "CREATE INDEX api_keys_user ON api_keys (user_id, id)",
                "CREATE INDEX api_keys_org ON api_keys (org_id)",
            ]
        },
        Migration(5, "create_projects") { t in
            [
                """
                CREATE TABLE projects (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    owner_id \(t.uuid) REFERENCES users(id) ON DELETE SET NULL,
                    name \(t.text) NOT NULL,
                    slug \(t.text) NOT NULL,
                    description \(t.text),
                    settings \(t.json) NOT NULL DEFAULT '{}',
                    created_at \(t.legacyTimestamp) NOT NULL,
                    updated_at \(t.legacyTimestamp) NOT NULL,
                    UNIQUE (org_id, slug)
                )
                """
            ]
        },
        Migration(6, "create_refresh_sessions") { t in
            [
                """
                CREATE TABLE refresh_sessions (
                    id \(t.uuid) PRIMARY KEY,
                    user_id \(t.uuid) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    token_hash \(t.text) NOT NULL,
                    generation \(t.integer) NOT NULL,
                    client_address \(t.text),
                    user_agent \(t.text),
                    created_at \(t.legacyTimestamp) NOT NULL,
                    rotated_at \(t.legacyTimestamp) NOT NULL,
                    expires_at \(t.legacyTimestamp) NOT NULL,
                    revoked_at \(t.legacyTimestamp),
                    revoked_reason \(t.text)
                )
                """,
                "CREATE INDEX refresh_sessions_user ON refresh_sessions (user_id)",
            ]
        },
        // No foreign keys: the audit trail outlives the organizations, users and keys it mentions.
        Migration(7, "create_audit_log") { t in
            [
                """
                CREATE TABLE audit_log (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid),
                    actor_id \(t.uuid),
                    actor_name \(t.text),
                    api_key_id \(t.uuid),
                    action \(t.text) NOT NULL,
                    target_type \(t.text) NOT NULL,
                    target_id \(t.text),
                    request_id \(t.text) NOT NULL,
                    client_address \(t.text),
                    outcome \(t.text) NOT NULL,
                    status_code \(t.integer),
                    detail \(t.text),
                    created_at \(t.legacyTimestamp) NOT NULL
                )
                """,
                "CREATE INDEX audit_log_org ON audit_log (org_id, id)",
                "CREATE INDEX audit_log_actor ON audit_log (actor_id, id)",
            ]
        },
        // Server-wide secrets (the JWT signing key) live in the database so every replica shares them.
        Migration(8, "create_server_settings") { t in
            [
                """
                CREATE TABLE server_settings (
                    key \(t.text) PRIMARY KEY,
                    value \(t.text) NOT NULL,
                    created_at \(t.legacyTimestamp) NOT NULL
                )
                """
            ]
        },
        // Access tokens name their key (`kid`) so keys can rotate; the one secret kept in server_settings becomes
        // the key "initial" (tokens without a kid were signed with it) and leaves server_settings.
        Migration(23, "create_signing_keys") { t in
            [
                """
                CREATE TABLE signing_keys (
                    kid \(t.text) PRIMARY KEY,
                    secret \(t.text) NOT NULL,
                    created_at \(t.legacyTimestamp) NOT NULL,
                    retired_at \(t.legacyTimestamp)
                )
                """,
                "INSERT INTO signing_keys (kid, secret, created_at) SELECT 'initial', value, created_at FROM server_settings WHERE key = 'jwt_signing_secret'",
                "DELETE FROM server_settings WHERE key = 'jwt_signing_secret'",
            ]
        },
        // Adding an existing account to an organization needs that person's consent: admins invite, the invitee
        // accepts. No foreign key to users: an invitation names whoever the admin typed, account or not.
        Migration(24, "create_invitations") { t in
            [
                """
                CREATE TABLE invitations (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    invitee \(t.text) NOT NULL,
                    role \(t.text) NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
                    invited_by \(t.uuid),
                    status \(t.text) NOT NULL,
                    created_at \(t.legacyTimestamp) NOT NULL,
                    expires_at \(t.legacyTimestamp) NOT NULL,
                    responded_at \(t.legacyTimestamp)
                )
                """,
                "CREATE INDEX invitations_invitee ON invitations (invitee, status)",
                "CREATE INDEX invitations_org ON invitations (org_id, id)",
            ]
        },
        // One time convention for every module (Storage/README.md): the identity tables' times become epoch
        // milliseconds in `*_ms` columns, values kept to the millisecond.
        Migration(26, "identity_times_in_epoch_milliseconds") { t in
            [
                ("organizations", "created", true), ("organizations", "updated", true),
                ("users", "last_login", false), ("users", "created", true), ("users", "updated", true),
                ("org_members", "created", true),
                ("api_keys", "expires", false), ("api_keys", "last_used", false), ("api_keys", "revoked", false),
                ("api_keys", "created", true),
                ("projects", "created", true), ("projects", "updated", true),
                ("refresh_sessions", "created", true), ("refresh_sessions", "rotated", true),
                ("refresh_sessions", "expires", true), ("refresh_sessions", "revoked", false),
                ("audit_log", "created", true),
                ("server_settings", "created", true),
                ("signing_keys", "created", true), ("signing_keys", "retired", false),
                ("invitations", "created", true), ("invitations", "expires", true), ("invitations", "responded", false),
            ].flatMap { table, time, required in
                t.epochMillisecondsReplacing(table, "\(time)_at", with: "\(time)_ms", required: required)
            }
        },
    ]
}
