import AITIPCore
import AITIPTestSupport
import App
import Foundation
import HTTPServer
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Testing

/// A response with its JSON decoded, for terse checks.
struct Reply {
    let status: Int
    let headers: HTTPFields
    let text: String

    /// The body as a JSON object; an empty body is an empty object, and anything else that is not a JSON object is a
    /// recorded failure (not an empty object, which would let `reply.string("x") == nil` pass for the wrong reason).
    var json: [String: Any] {
        if text.isEmpty { return [:] }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            Issue.record("the answer (\(status)) is not a JSON object: \(text.prefix(200))")
            return [:]
        }
        return object
    }
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
    subscript(key: String) -> Any? { json[key] }
    func string(_ key: String) -> String? { json[key] as? String }
}

/// The real router and services over a scratch database, driven through Hummingbird's router test client.
struct TestApp {
    static let adminPassword = "admin-password-1"

    let client: any TestClientProtocol
    let parts: AppParts
    let clock: MovableClock
    let kind: DatabaseKind
    /// The server's data directory (database, objects, jobs).
    let dataDirectory: String

    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: Any? = nil, raw: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
        } else if let raw {
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
            body = ByteBuffer(string: raw)
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    /// Sends raw bytes (e.g. a code package).
    func callBytes(_ method: HTTPRequest.Method, _ path: String, token: String, body: Data, contentType: String) async throws -> Reply {
        let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: contentType]
        let response = try await client.execute(uri: path, method: method, headers: headers, body: ByteBuffer(bytes: Array(body)))
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    func login(_ username: String, _ password: String) async throws -> (access: String, refresh: String) {
        let reply = try await call(.post, "/api/v1/auth/login", json: ["username": username, "password": password])
        try #require(reply.status == 200, "login of \(username) failed: \(reply.text)")
        return (try #require(reply.string("access_token")), try #require(reply.string("refresh_token")))
    }

    func adminToken() async throws -> String { try await login("admin", Self.adminPassword).access }

    /// The first organization the token's user belongs to.
    func homeOrg(_ token: String) async throws -> String {
        let me = try await call(.get, "/api/v1/auth/me", token: token)
        let memberships = try #require(me["memberships"] as? [[String: Any]])
        return try #require((memberships.first?["organization"] as? [String: Any])?["id"] as? String)
    }

    /// Creates an account as a member of `org` with `role` (by an owner or admin) and signs it in.
    func newMember(of org: String, role: String, by token: String) async throws -> (id: String, token: String) {
        let name = "u" + UUID().uuidString.prefix(8).lowercased()
        let reply = try await call(
            .post, "/api/v1/orgs/\(org)/members", token: token,
            json: [
                "username": name, "email": "\(name)@example.test", "password": "password-\(name)", "role": role,
            ])
        try #require(reply.status == 201, "adding \(role) failed: \(reply.text)")
        return (try #require(reply.string("user_id")), try await login(name, "password-\(name)").access)
    }

    /// Registers a separate tenant: a new user who owns a new organization.
    func newTenant() async throws -> (org: String, token: String, userId: String) {
        let name = "t" + UUID().uuidString.prefix(8).lowercased()
        let reply = try await call(
            .post, "/api/v1/auth/register",
            json: [
                "username": name, "email": "\(name)@example.test", "password": "password-\(name)",
            ])
        try #require(reply.status == 201, "register failed: \(reply.text)")
        let org = try #require((reply["organization"] as? [String: Any])?["id"] as? String)
        let userId = try #require((reply["user"] as? [String: Any])?["id"] as? String)
        return (org, try await login(name, "password-\(name)").access, userId)
    }

    func auditEntries(org: String, token: String, query: String = "") async throws -> [[String: Any]] {
        let reply = try await call(.get, "/api/v1/audit?org_id=\(org)&limit=500\(query)", token: token)
        try #require(reply.status == 200, "audit read failed: \(reply.text)")
        return reply.items
    }
}

extension TestApp {
    /// Runs `body` against a second server on this app's database and data directory, as after a restart (its own
    /// gateway, health checks and caches; the same signing keys, so tokens stay valid).
    func restarted(settings: [String: String] = [:], _ body: @Sendable (TestApp) async throws -> Void) async throws {
        let url: String =
            switch parts.database.url {
            case .sqlite(let path): "sqlite://\(path)"
            case .postgres(let url): url
            }
        var values = [
            "database_url": url, "data_dir": dataDirectory, "bcrypt_cost": "4", "admin_password": Self.adminPassword,
            "registration": "open", "rate_limit": "0", "login_rate_limit": "0",
        ]
        values.merge(settings) { $1 }
        let clock = MovableClock()
        let parts = try await AppParts.assemble(try AppConfig(values: values), logger: TestEnvironment.logger, clock: clock)
        do {
            let app = Application(router: try parts.router(), logger: TestEnvironment.logger)
            try await app.test(.router) { client in
                try await body(TestApp(client: client, parts: parts, clock: clock, kind: kind, dataDirectory: dataDirectory))
            }
        } catch {
            await parts.database.shutdown()
            throw error
        }
        await parts.database.shutdown()
    }
}

/// Waits for `condition` (polled every 50 ms) instead of sleeping for a guessed time; fails the test after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("waited \(timeout) for: \(what)")
    throw CancellationError()
}

/// Runs `body` against a fresh app on a fresh database of `kind`. `settings` override the test defaults
/// (open registration, bcrypt cost 4, a known admin password).
/// `live`: a real socket with the WebSocket upgrade, as `aitip serve` runs it (the default drives the router directly).
func withApp(
    _ kind: DatabaseKind, settings: [String: String] = [:], live: Bool = false,
    _ body: @Sendable (TestApp) async throws -> Void
) async throws {
    let scratch = try await ScratchDatabase.make(kind, migratedWith: AllMigrations.list)
    var values = [
        "database_url": scratch.url, "data_dir": scratch.dataDirectory, "bcrypt_cost": "4",
        "admin_password": TestApp.adminPassword, "registration": "open", "rate_limit": "0",
        "login_rate_limit": "0",
    ]
    values.merge(settings) { $1 }
    let clock = MovableClock()
    let parts = try await AppParts.assemble(try AppConfig(values: values), logger: TestEnvironment.logger, clock: clock)
    do {
        if live {
            let app = Application(
                router: try parts.router(),
                server: serverBuilder(parts.dependencies),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestEnvironment.logger)
            try await app.test(.live) { client in
                try await body(TestApp(client: client, parts: parts, clock: clock, kind: kind, dataDirectory: scratch.dataDirectory))
            }
        } else {
            let app = Application(router: try parts.router(), logger: TestEnvironment.logger)
            try await app.test(.router) { client in
                try await body(TestApp(client: client, parts: parts, clock: clock, kind: kind, dataDirectory: scratch.dataDirectory))
            }
        }
    } catch {
        // A failed test may leave jobs running: they must not outlive it.
        try? await parts.engine.killActiveAttempts()
        await parts.database.shutdown()
        await scratch.drop()
        throw error
    }
    try? await parts.engine.killActiveAttempts()
    await parts.database.shutdown()
    await scratch.drop()
}
