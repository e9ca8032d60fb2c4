import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SQLKit
import Storage
import Testing

/// The organizations, people, keys and things one matrix run calls with and on. Organization A is the bootstrap
/// organization, owned by `admin`, with one member of each role; the stranger owns organization B. Things the calls
/// read are made once; things a call consumes (deletes, stops, accepts) are made fresh for each call by A's owner.
final class AccessWorld {
    struct Person {
        var id: String
        var username: String
        var password: String
        var token: String
    }

    let app: TestApp
    let orgA: String
    let orgASlug: String
    /// Organization A's `default` project: the project of MLflow's unscoped prefixes.
    let projectA: String
    var people: [AccessMatrix.Who: Person] = [:]
    private var keys: [String: (with: String, without: String)] = [:]
    private var sharedThings: [String: String] = [:]
    let fingerprint: DatabaseFingerprint

    var ownerToken: String { people[.owner]!.token }

    init(_ app: TestApp) async throws {
        self.app = app
        let owner = try await app.login("admin", TestApp.adminPassword)
        orgA = try await app.homeOrg(owner.access)
        orgASlug = try #require(try await app.call(.get, "/api/v1/orgs/\(orgA)", token: owner.access).string("slug"))
        let projects = try await app.call(.get, "/api/v1/projects?org_id=\(orgA)", token: owner.access).items
        projectA = try #require(projects.first { $0["slug"] as? String == "default" }?["id"] as? String)
        fingerprint = try await DatabaseFingerprint.make(app.parts.database)
        let me = try await app.call(.get, "/api/v1/auth/me", token: owner.access)
        people[.owner] = Person(
            id: try #require((me["user"] as? [String: Any])?["id"] as? String), username: "admin", password: TestApp.adminPassword,
            token: owner.access)
        for who in [AccessMatrix.Who.admin, .member, .viewer] {
            people[who] = try await newPerson(in: orgA, role: who.rawValue)
        }
        let name = "stranger" + UUID().uuidString.prefix(6).lowercased()
        let registered = try await app.call(
            .post, "/api/v1/auth/register", json: ["username": name, "email": "\(name)@example.test", "password": "password-\(name)"])
        try #require(registered.status == 201, "\(registered.text)")
        people[.stranger] = Person(
            id: try #require((registered["user"] as? [String: Any])?["id"] as? String), username: name, password: "password-\(name)",
            token: try await app.login(name, "password-\(name)").access)
    }

    /// A new account with `role` in `org`, signed in.
    func newPerson(in org: String, role: String) async throws -> Person {
        let name = "p" + UUID().uuidString.prefix(8).lowercased()
        let reply = try await app.call(
            .post, "/api/v1/orgs/\(org)/members", token: ownerToken,
            json: ["username": name, "email": "\(name)@example.test", "password": "password-\(name)", "role": role])
        try #require(reply.status == 201, "adding a \(role) failed: \(reply.text)")
        return Person(
            id: try #require(reply.string("user_id")), username: name, password: "password-\(name)",
            token: try await app.login(name, "password-\(name)").access)
    }

    /// The credential `who` calls with; for keys, A's owner's keys scoped to (or to everything but) `permission`.
    func token(_ who: AccessMatrix.Who, permission: String) async throws -> String? {
        switch who {
        case .anonymous: return nil
        case .keyWithScope: return try await keyPair(org: orgA, permission: permission).with
        case .keyWithoutScope: return try await keyPair(org: orgA, permission: permission).without
        default: return people[who]!.token
        }
    }

    /// Keys of A's owner in `org`: one holding exactly the permission, one holding every other permission that does not
    /// imply it. For routes
    /// that need no permission: a key holding everything, and one holding a single unrelated permission.
    func keyPair(org: String, permission: String, creator: String? = nil) async throws -> (with: String, without: String) {
        let cacheKey = "\(org) \(permission)"
        if let found = keys[cacheKey] { return found }
        let scopes: (with: [String], without: [String])
        if let needed = Permission(permission) {
            // Any change scope of an area brings its read, so a key without a read holds nothing of that area.
            let without = Permission.all.filter { needed.action == .read ? $0.area != needed.area : $0 != needed }
            scopes = ([needed.description], without.map(\.description).sorted())
        } else {
            scopes = (["*"], ["projects:read"])
        }
        func create(_ list: [String]) async throws -> String {
            let reply = try await app.call(
                .post, "/api/v1/auth/api-keys", token: creator ?? ownerToken, json: ["name": "matrix", "org_id": org, "scopes": list])
            try #require(reply.status == 201, "creating a key failed: \(reply.text)")
            return try #require(reply.string("key"))
        }
        let pair = (try await create(scopes.with), try await create(scopes.without))
        keys[cacheKey] = pair
        return pair
    }

    /// Something made once and reused by every read.
    func shared(_ name: String, _ make: () async throws -> String) async throws -> String {
        if let found = sharedThings[name] { return found }
        let made = try await make()
        sharedThings[name] = made
        return made
    }

    /// POST as A's owner; the id of what was created.
    @discardableResult
    func create(_ path: String, _ body: [String: Any], field: String = "id", token: String? = nil) async throws -> String {
        let reply = try await app.call(.post, path, token: token ?? ownerToken, json: body)
        try #require((200..<300).contains(reply.status), "fixture \(path) failed: \(reply.status) \(reply.text)")
        return try #require(reply.string(field), "fixture \(path): no \(field) in \(reply.text)")
    }

    static func unique(_ prefix: String) -> String { prefix + "-" + UUID().uuidString.prefix(8).lowercased() }

    /// Sends one request with a request id of the test's choosing, so the audit entry it wrote can be found.
    func send(_ method: HTTPRequest.Method, _ request: AccessMatrix.Request, token: String?, requestId: String) async throws -> Reply {
        var headers = request.headers
        headers[HTTPField.Name("X-Request-Id")!] = requestId
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        switch request.body {
        case .none: break
        case .json(let object):
            headers[.contentType] = "application/json"
            body = ByteBuffer(data: try JSONSerialization.data(withJSONObject: object))
        case .bytes(let data, let contentType):
            headers[.contentType] = contentType
            body = ByteBuffer(bytes: Array(data))
        }
        let response = try await app.client.execute(uri: request.path, method: method, headers: headers, body: body)
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    /// The audit entries one request wrote.
    func auditEntries(requestId: String) async throws -> [(actor: String?, action: String, targetType: String, outcome: String)] {
        try await app.parts.database.read { sql in
            try await sql.raw(
                "SELECT actor_id, action, target_type, outcome FROM audit_log WHERE request_id = \(bind: requestId)"
            ).all().map { row in
                (
                    try row.decodeNil(column: "actor_id") ? nil : try row.uuid("actor_id").uuidString.lowercased(),
                    try row.decode(column: "action", as: String.self), try row.decode(column: "target_type", as: String.self),
                    try row.decode(column: "outcome", as: String.self)
                )
            }
        }
    }
}

extension AccessMatrix {
    /// Calls every operation as every caller and collects what differs from the declarations.
    static func run(_ operations: [Operation], in world: AccessWorld, recipe: (Operation, Who, AccessWorld) async throws -> Request?) async throws
        -> [String]
    {
        var failures: [String] = []
        for operation in operations {
            for who in Who.allCases {
                guard let request = try await recipe(operation, who, world) else {
                    failures.append("\(operation.name): no recipe; add one to the access matrix")
                    break
                }
                guard operation.reaches(request.path) else {
                    failures.append("\(operation.name): the recipe's path \(request.path) is not \(operation.template)")
                    break
                }
                let token: String?
                if case .some(let override) = request.token {
                    token = override
                } else {
                    token = try await world.token(who, permission: operation.permission)
                }
                let before = operation.isMutation ? try await world.fingerprint.take(world.app.parts.database) : [:]
                let requestId = UUID().uuidString.lowercased()
                let reply = try await world.send(operation.method, request, token: token, requestId: requestId)
                let expected = expected(operation, who)
                let label = "\(operation.name) as \(who.rawValue)"
                if reply.status != expected {
                    failures.append("\(label): \(reply.status), expected \(expected): \(reply.text.prefix(160))")
                    continue
                }
                guard operation.isMutation else { continue }
                let entries = try await world.auditEntries(requestId: requestId)
                if (200..<300).contains(reply.status) {
                    let actor = operation.isPublic ? nil : request.actor ?? world.people[who.isKey ? .owner : who]?.id
                    let good =
                        entries.count == 1 && entries[0].outcome == "success" && !entries[0].action.isEmpty
                        && !entries[0].targetType.isEmpty && (actor == nil || entries[0].actor == actor)
                    if !good {
                        failures.append("\(label): accepted, but audited as \(entries) (want one success entry by \(actor ?? "the subject"))")
                    }
                } else {
                    let changed = DatabaseFingerprint.changedTables(before, try await world.fingerprint.take(world.app.parts.database))
                    if !changed.isEmpty { failures.append("\(label): refused with \(reply.status), yet changed \(changed)") }
                    let wanted = who == .anonymous ? 0 : 1
                    if entries.count != wanted || (wanted == 1 && entries[0].outcome == "success") {
                        failures.append("\(label): refused with \(reply.status), audited as \(entries) (want \(wanted) denial)")
                    }
                }
            }
        }
        return failures
    }
}
