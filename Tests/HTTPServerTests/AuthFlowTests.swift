import AITIPTestSupport
import Foundation
import Testing

@Suite("Authentication: register, login, refresh rotation, logout, API keys")
struct AuthFlowTests {
    @Test(
        "register creates an account that owns a new organization with a default project; closed registration refuses",
        arguments: DatabaseKind.available)
    func register(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let ok = try await app.call(
                .post, "/api/v1/auth/register",
                json: [
                    "username": "Alice", "email": "Alice@Example.com",
                    "password": "correct horse",
                ])
            #expect(ok.status == 201)
            #expect((ok["user"] as? [String: Any])?["username"] as? String == "alice")
            #expect((ok["organization"] as? [String: Any])?["slug"] as? String == "alice")
            let duplicate = try await app.call(
                .post, "/api/v1/auth/register",
                json: [
                    "username": "alice", "email": "other@example.com",
                    "password": "correct horse",
                ])
            #expect(duplicate.status == 409)
            let invalid = try await app.call(.post, "/api/v1/auth/register", json: ["username": "x", "email": "nope", "password": "short"])
            #expect(invalid.status == 422)
            let fields = Set((invalid["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
            #expect(fields == ["username", "email", "password"])
            let alice = try await app.login("alice@example.com", "correct horse").access
            // The organization starts with its `default` project, so the MLflow client's plain URI works at once.
            let projects = try await app.call(.get, "/api/v1/projects?limit=50", token: alice).items
            #expect(projects.map { $0["slug"] as? String } == ["default"])
            let experiment = try await app.call(.post, "/api/2.0/mlflow/experiments/create", token: alice, json: ["name": "first"])
            #expect(experiment.status == 200, "\(experiment.text)")
        }
        try await withApp(kind, settings: ["registration": "closed"]) { app in
            let refused = try await app.call(
                .post, "/api/v1/auth/register",
                json: [
                    "username": "bob", "email": "bob@example.com",
                    "password": "correct horse",
                ])
            #expect(refused.status == 403)
        }
    }

    @Test("wrong credentials are refused with the same answer for unknown users", arguments: DatabaseKind.available)
    func loginFailures(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let wrong = try await app.call(.post, "/api/v1/auth/login", json: ["username": "admin", "password": "wrong-password"])
            let unknown = try await app.call(.post, "/api/v1/auth/login", json: ["username": "ghost", "password": "wrong-password"])
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect(wrong.string("detail") == unknown.string("detail"))
            #expect(wrong.headers[.wwwAuthenticate] != nil)
        }
    }

    @Test("refresh rotates tokens; reusing an old refresh token revokes the whole session", arguments: DatabaseKind.available)
    func refreshRotationAndReuse(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let first = try await app.login("admin", TestApp.adminPassword)
            let rotated = try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": first.refresh])
            #expect(rotated.status == 200)
            let second = try #require(rotated.string("refresh_token"))
            let secondAccess = try #require(rotated.string("access_token"))
            #expect(second != first.refresh)
            #expect(try await app.call(.get, "/api/v1/auth/me", token: secondAccess).status == 200)

            // The first token comes back: a thief or a replay. Everything of this session stops working.
            let reuse = try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": first.refresh])
            #expect(reuse.status == 401)
            #expect(try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": second]).status == 401)
            #expect(try await app.call(.get, "/api/v1/auth/me", token: secondAccess).status == 401)
            #expect(try await app.call(.get, "/api/v1/auth/me", token: first.access).status == 401)

            // Other sessions of the same user are untouched.
            let other = try await app.login("admin", TestApp.adminPassword)
            #expect(try await app.call(.get, "/api/v1/auth/me", token: other.access).status == 200)
            let audit = try await app.auditEntries(org: try await app.homeOrg(other.access), token: other.access)
            #expect(
                audit.contains { $0["action"] as? String == "auth.refresh_reuse_detected" } == false,
                "reuse detection is filed without an organization; it must not leak into org listings")
        }
    }

    @Test("logout ends the session: its access and refresh tokens stop working", arguments: DatabaseKind.available)
    func logout(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let session = try await app.login("admin", TestApp.adminPassword)
            #expect(try await app.call(.post, "/api/v1/auth/logout", token: session.access).status == 204)
            #expect(try await app.call(.get, "/api/v1/projects", token: session.access).status == 401)
            #expect(try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": session.refresh]).status == 401)
        }
    }

    @Test("access tokens expire; the refresh token then gets a new one", arguments: DatabaseKind.available)
    func accessTokenExpiry(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let session = try await app.login("admin", TestApp.adminPassword)
            app.clock.advance(by: 15 * 60 + 1)
            let expired = try await app.call(.get, "/api/v1/auth/me", token: session.access)
            #expect(expired.status == 401)
            let renewed = try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": session.refresh])
            #expect(renewed.status == 200)
            let renewedAccess = try #require(renewed.string("access_token"))
            #expect(try await app.call(.get, "/api/v1/auth/me", token: renewedAccess).status == 200)
            #expect(try await app.call(.get, "/api/v1/auth/me", token: "not.a.jwt").status == 401)
        }
    }

    @Test("API keys: shown once, stored hashed, usable until revoked or expired", arguments: DatabaseKind.available)
    func apiKeys(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let created = try await app.call(.post, "/api/v1/auth/api-keys", token: token, json: ["name": "ci", "scopes": ["projects:read"]])
            #expect(created.status == 201)
            let key = try #require(created.string("key"))
            let keyId = try #require(created.string("id"))
            #expect(key.hasPrefix("aitip_"))
            #expect(created["scopes"] as? [String] == ["projects:read"])

            let listed = try await app.call(.get, "/api/v1/auth/api-keys", token: token)
            #expect(listed.items.count == 1)
            #expect(listed.items.first?["key"] == nil)
            #expect(!listed.text.contains(key))

            #expect(try await app.call(.get, "/api/v1/projects", token: key).status == 200)
            let me = try await app.call(.get, "/api/v1/auth/me", token: key)
            #expect((me["auth"] as? [String: Any])?["method"] as? String == "api_key")
            let keyAfterUse = try await app.call(.get, "/api/v1/auth/api-keys", token: token)
            #expect(keyAfterUse.items.first?["last_used_at"] != nil)

            // The stored row holds a SHA-256 digest, never the key.
            let stored = try await app.parts.database.read { sql in
                try await sql.raw("SELECT key_hash FROM api_keys").all().map { try $0.decode(column: "key_hash", as: String.self) }
            }
            #expect(stored.count == 1 && stored[0].count == 64 && !stored[0].contains(key))

            #expect(try await app.call(.delete, "/api/v1/auth/api-keys/\(keyId)", token: token).status == 200)
            #expect(try await app.call(.get, "/api/v1/projects", token: key).status == 401)
        }
    }

    @Test("an expired API key is refused", arguments: DatabaseKind.available)
    func expiredKey(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let expiry = ISO8601DateFormatter().string(from: app.clock.now().addingTimeInterval(3600))
            let created = try await app.call(.post, "/api/v1/auth/api-keys", token: token, json: ["name": "short", "expires_at": expiry])
            let key = try #require(created.string("key"))
            #expect(try await app.call(.get, "/api/v1/projects", token: key).status == 200)
            app.clock.advance(by: 3601)
            #expect(try await app.call(.get, "/api/v1/projects", token: key).status == 401)
            let fresh = try await app.adminToken() // the first access token expired with the clock too
            let past = ISO8601DateFormatter().string(from: app.clock.now().addingTimeInterval(-10))
            #expect(try await app.call(.post, "/api/v1/auth/api-keys", token: fresh, json: ["name": "x", "expires_at": past]).status == 422)
            let badScope = try await app.call(.post, "/api/v1/auth/api-keys", token: fresh, json: ["name": "x", "scopes": ["training:fly"]])
            #expect(badScope.status == 422)
        }
    }

    @Test("an API key can mint only keys as narrow as itself")
    func keyMintingKeys() async throws {
        try await withApp(.sqlite) { app in
            let token = try await app.adminToken()
            let narrow = try #require(
                try await app.call(
                    .post, "/api/v1/auth/api-keys", token: token,
                    json: ["name": "n", "scopes": ["api_keys:write", "projects:read"]]
                ).string("key"))
            #expect(
                try await app.call(.post, "/api/v1/auth/api-keys", token: narrow, json: ["name": "m", "scopes": ["projects:read"]]).status == 201)
            #expect(
                try await app.call(.post, "/api/v1/auth/api-keys", token: narrow, json: ["name": "w", "scopes": ["projects:write"]]).status == 403)
            #expect(try await app.call(.post, "/api/v1/orgs", token: narrow, json: ["name": "Nope"]).status == 403)
        }
    }
}
