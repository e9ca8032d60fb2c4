import AITIPCore
import AITIPTestSupport
import Foundation
import HTTPTypes
import Testing

/// Findings 7 and 8 of the security review: membership needs consent; accounts have a password change and a
/// session list; browser sessions keep their refresh token out of scripts' reach; every answer carries the
/// security headers; a model version cannot point into another tenant's artifacts.
@Suite("Security review: accounts, membership and answers")
struct AccountAttackTests {
    @Test(
        "finding 7: an admin cannot add an existing account without its consent, learns nothing about it, and the invitee decides",
        arguments: DatabaseKind.available)
    func membershipNeedsConsent(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            // A stranger opens an organization (registration is open) and tries to pull the admin's account in.
            let stranger = try await app.newTenant()
            let known = try await app.call(
                .post, "/api/v1/orgs/\(stranger.org)/members", token: stranger.token, json: ["username": "admin", "role": "owner"])
            let unknown = try await app.call(
                .post, "/api/v1/orgs/\(stranger.org)/members", token: stranger.token,
                json: ["username": "nobody-here", "role": "owner"])
            #expect(known.status == 202 && unknown.status == 202, "\(known.text) \(unknown.text)")
            #expect(Set(known.json.keys) == Set(unknown.json.keys), "the same answer for a known and an unknown name")
            #expect(!known.text.contains("@"), "no email in the answer: \(known.text)")
            // Nothing changed for the admin until they answer.
            let admin = try await app.adminToken()
            let memberships = try await app.call(.get, "/api/v1/auth/me", token: admin)["memberships"] as? [[String: Any]] ?? []
            #expect(memberships.count == 1)
            let waiting = try await app.call(.get, "/api/v1/invitations", token: admin).items
            #expect(waiting.count == 1 && waiting.first?["role"] as? String == "owner")
            let invitation = try #require(waiting.first?["id"] as? String)
            // Someone else cannot answer it, nor can an API key of the invitee.
            #expect(try await app.call(.post, "/api/v1/invitations/\(invitation)/accept", token: stranger.token).status == 404)
            let key = try #require(try await app.call(.post, "/api/v1/auth/api-keys", token: admin, json: ["name": "k"]).string("key"))
            #expect(try await app.call(.post, "/api/v1/invitations/\(invitation)/accept", token: key).status == 403)
            // Declined: still one organization, and the invitation is spent.
            #expect(try await app.call(.post, "/api/v1/invitations/\(invitation)/decline", token: admin).status == 204)
            #expect(try await app.call(.post, "/api/v1/invitations/\(invitation)/accept", token: admin).status == 404)
            #expect((try await app.call(.get, "/api/v1/auth/me", token: admin)["memberships"] as? [[String: Any]])?.count == 1)
            let sent = try await app.call(.get, "/api/v1/orgs/\(stranger.org)/invitations", token: stranger.token).items
            #expect(Set(sent.compactMap { $0["status"] as? String }) == ["declined", "pending"])

            // Accepted: the admin is a member with the invited role; MLflow calls without a project still work (home organization).
            let again = try await app.call(
                .post, "/api/v1/orgs/\(stranger.org)/members", token: stranger.token, json: ["username": "admin", "role": "viewer"])
            let member = try await app.call(.post, "/api/v1/invitations/\(again.string("id") ?? "")/accept", token: admin)
            #expect(member.status == 200 && member.string("role") == "viewer")
            #expect((try await app.call(.get, "/api/v1/auth/me", token: admin)["memberships"] as? [[String: Any]])?.count == 2)
            let experiments = try await app.call(.post, "/api/2.0/mlflow/experiments/search", token: admin, json: ["max_results": 10])
            #expect(experiments.status == 200, "a user of two organizations keeps working in their own: \(experiments.text)")
            let actions = try await app.auditEntries(org: stranger.org, token: stranger.token).compactMap { $0["action"] as? String }
            #expect(actions.contains("member.invite") && actions.contains("member.join") && actions.contains("member.decline"))
        }
    }

    @Test("finding 8: a password change needs the current password and ends the other sessions", arguments: DatabaseKind.available)
    func passwordChange(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let here = try await app.login("admin", TestApp.adminPassword)
            let elsewhere = try await app.login("admin", TestApp.adminPassword)
            let sessions = try await app.call(.get, "/api/v1/auth/sessions", token: here.access).items
            #expect(sessions.count == 2 && sessions.filter { $0["current"] as? Bool == true }.count == 1)
            let wrong = try await app.call(
                .post, "/api/v1/auth/password", token: here.access,
                json: ["current_password": "not-it-at-all", "new_password": "a-new-password-1"])
            #expect(wrong.status == 403)
            let short = try await app.call(
                .post, "/api/v1/auth/password", token: here.access,
                json: ["current_password": TestApp.adminPassword, "new_password": "short"])
            #expect(short.status == 422)
            #expect(
                try await app.call(
                    .post, "/api/v1/auth/password", token: here.access,
                    json: ["current_password": TestApp.adminPassword, "new_password": "a-new-password-1"]
                ).status == 204)
            #expect(try await app.call(.get, "/api/v1/auth/me", token: here.access).status == 200, "the asking session stays")
            #expect(try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": elsewhere.refresh]).status == 401)
            #expect(try await app.call(.post, "/api/v1/auth/login", json: ["username": "admin", "password": TestApp.adminPassword]).status == 401)
            let basic = "Basic " + Data("admin:\(TestApp.adminPassword)".utf8).base64EncodedString()
            #expect(try await app.call(.get, "/api/2.0/mlflow/experiments/search", headers: [.authorization: basic]).status == 401)
            #expect(try await app.login("admin", "a-new-password-1").access.isEmpty == false)
        }
    }

    @Test("finding 8: a user sees their sessions and ends one; its refresh token stops working", arguments: DatabaseKind.available)
    func sessionsRevoked(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let mine = try await app.login("admin", TestApp.adminPassword)
            let lost = try await app.login("admin", TestApp.adminPassword)
            let other = try #require(
                try await app.call(.get, "/api/v1/auth/sessions", token: mine.access).items.first { $0["current"] as? Bool == false })
            let id = try #require(other["id"] as? String)
            let stranger = try await app.newTenant()
            #expect(try await app.call(.delete, "/api/v1/auth/sessions/\(id)", token: stranger.token).status == 404)
            #expect(try await app.call(.delete, "/api/v1/auth/sessions/\(id)", token: mine.access).status == 204)
            #expect(try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": lost.refresh]).status == 401)
            #expect(try await app.call(.get, "/api/v1/auth/me", token: lost.access).status == 401)
        }
    }

    @Test(
        "an API key acts inside its organization only: it cannot see or end its user's sessions, make them leave an organization, or list their keys of another organization",
        arguments: DatabaseKind.available)
    func keysStayInTheirLane(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let admin = try await app.adminToken()
            let home = try await app.homeOrg(admin)
            let other = try #require(try await app.call(.post, "/api/v1/orgs", token: admin, json: ["name": "Second"]).string("id"))
            _ = try await app.call(.post, "/api/v1/auth/api-keys", token: admin, json: ["name": "in-other", "org_id": other])
            let key = try #require(
                try await app.call(.post, "/api/v1/auth/api-keys", token: admin, json: ["name": "home", "org_id": home]).string("key"))
            #expect(try await app.call(.get, "/api/v1/auth/sessions", token: key).status == 403)
            let session = try #require(try await app.call(.get, "/api/v1/auth/sessions", token: admin).items.first?["id"] as? String)
            #expect(try await app.call(.delete, "/api/v1/auth/sessions/\(session)", token: key).status == 403)
            let me = try #require(try await app.call(.get, "/api/v1/auth/me", token: admin)["user"] as? [String: Any])
            let userId = try #require(me["id"] as? String)
            #expect(try await app.call(.delete, "/api/v1/orgs/\(home)/members/\(userId)", token: key).status == 403)
            let listed = try await app.call(.get, "/api/v1/auth/api-keys", token: key).items.compactMap { $0["name"] as? String }
            #expect(listed.contains("home") && !listed.contains("in-other"), "\(listed)")
        }
    }

    @Test("finding 8: a browser session keeps its refresh token in an HttpOnly cookie scoped to the auth routes")
    func sessionCookie() async throws {
        try await withApp(.sqlite) { app in
            let login = try await app.call(
                .post, "/api/v1/auth/login",
                json: ["username": "admin", "password": TestApp.adminPassword, "session_cookie": true])
            #expect(login.status == 200 && login["refresh_token"] == nil, "the page never sees the refresh token")
            let cookie = try #require(login.headers[.setCookie])
            for attribute in ["aitip_refresh=", "HttpOnly", "SameSite=Strict", "Path=/api/v1/auth"] {
                #expect(cookie.contains(attribute), "\(cookie)")
            }
            let value = String(cookie.split(separator: ";")[0])
            let refreshed = try await app.call(.post, "/api/v1/auth/refresh", json: [:], headers: [.cookie: value])
            #expect(refreshed.status == 200 && refreshed["refresh_token"] == nil && refreshed.headers[.setCookie] != nil)
            // The rotated cookie replaces the old one: the old value is now a reused token and ends the session.
            #expect(try await app.call(.post, "/api/v1/auth/refresh", json: [:], headers: [.cookie: value]).status == 401)
            let next = try await app.call(
                .post, "/api/v1/auth/login",
                json: ["username": "admin", "password": TestApp.adminPassword, "session_cookie": true])
            let nextCookie = String(try #require(next.headers[.setCookie]).split(separator: ";")[0])
            let token = try #require(next.string("access_token"))
            let out = try await app.call(.post, "/api/v1/auth/logout", token: token, headers: [.cookie: nextCookie])
            #expect(out.status == 204 && out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await app.call(.post, "/api/v1/auth/refresh", json: [:], headers: [.cookie: nextCookie]).status == 401)
            let secure = try await app.call(
                .post, "/api/v1/auth/login", json: ["username": "admin", "password": TestApp.adminPassword, "session_cookie": true],
                headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(secure.headers[.setCookie]?.contains("Secure") == true)
        }
    }

    @Test("finding 8: every answer carries nosniff, no-referrer, no framing and no-store; token answers are never cached")
    func securityHeaders() async throws {
        try await withApp(.sqlite) { app in
            let token = try await app.adminToken()
            let answers = [
                try await app.call(.post, "/api/v1/auth/login", json: ["username": "admin", "password": TestApp.adminPassword]),
                try await app.call(.get, "/api/v1/projects", token: token),
                try await app.call(.get, "/api/v1/projects"),
                try await app.call(.get, "/api/v1/no-such-route", token: token),
                try await app.call(.get, "/healthz"),
                try await app.call(.get, "/api/docs"),
                try await app.call(.get, "/"),
            ]
            for answer in answers {
                #expect(answer.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(answer.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                #expect(answer.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true, "\(answer.status)")
                #expect(answer.headers[.cacheControl] != nil)
            }
            #expect(answers[0].headers[.cacheControl] == "no-store" && answers[1].headers[.cacheControl] == "no-store")
        }
    }

    @Test("finding 8: a model version cannot take its files from another tenant's experiment", arguments: DatabaseKind.available)
    func registrySourceStaysInProject(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let victim = try await app.newTenant()
            let victimProject = try #require(
                try await app.call(.post, "/api/v1/projects", token: victim.token, json: ["name": "secret"]).string("id"))
            let experiment = try #require(
                try await app.call(
                    .post, "/api/v1/projects/\(victimProject)/experiments", token: victim.token,
                    json: ["name": "private"]
                ).string("id"))
            let admin = try await app.adminToken()
            _ = try await app.call(.post, "/api/2.0/mlflow/registered-models/create", token: admin, json: ["name": "thief"])
            let stolen = try await app.call(
                .post, "/api/2.0/mlflow/model-versions/create", token: admin,
                json: ["name": "thief", "source": "mlflow-artifacts:/\(experiment)/\(UUID().uuidString.lowercased())/artifacts/model"])
            #expect(stolen.status == 400, "\(stolen.text)")
        }
    }
}
