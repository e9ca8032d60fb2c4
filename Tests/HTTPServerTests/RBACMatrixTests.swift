import AITIPTestSupport
import Foundation
import HTTPTypes
import Testing

/// Every role × every identity endpoint and a sample of tracking ones × own and foreign organization. In the own organization a call succeeds
/// exactly when the role allows it (else 403); in a foreign one it is always 404.
@Suite("RBAC matrix")
struct RBACMatrixTests {
    enum Role: String, CaseIterable { case owner, admin, member, viewer }

    /// The world of one matrix run: organization A (ours, owned by admin) and B (another tenant's).
    struct World {
        var app: TestApp
        var ownerToken: String
        var orgA: String
        var projectA: String
        var tenantB: (org: String, token: String, userId: String)
        var projectB: String
        var users: [Role: (id: String, token: String)]
    }

    /// One call: what it targets is made fresh when the call would consume it (deletes, removals).
    struct Endpoint {
        var name: String
        var allowed: Set<Role>
        var success: Int
        var call: @Sendable (World, Role, _ foreign: Bool) async throws -> Int
    }

    static let everyone = Set(Role.allCases)
    static let managers: Set<Role> = [.owner, .admin]

    static let endpoints: [Endpoint] = [
        Endpoint(name: "GET /orgs/{id}", allowed: everyone, success: 200) { w, role, foreign in
            try await w.app.call(.get, "/api/v1/orgs/\(w.org(foreign))", token: w.token(role)).status
        },
        Endpoint(name: "PUT /orgs/{id}", allowed: managers, success: 200) { w, role, foreign in
            try await w.app.call(.put, "/api/v1/orgs/\(w.org(foreign))", token: w.token(role), json: ["plan": "pro"]).status
        },
        Endpoint(name: "DELETE /orgs/{id}", allowed: [.owner], success: 204) { w, role, foreign in
            // A disposable organization in which the caller has `role` (or, for foreign, none).
            let creator = foreign ? w.tenantB.token : w.ownerToken
            let created = try await w.app.call(.post, "/api/v1/orgs", token: creator, json: ["name": "Disposable \(UUID().uuidString.prefix(6))"])
            let (org, slug) = (try #require(created.string("id")), try #require(created.string("slug")))
            if !foreign && role != .owner { // the owner token created it and owns it already
                let invited = try await w.app.call(
                    .post, "/api/v1/orgs/\(org)/members", token: creator,
                    json: ["user_id": w.users[role]!.id, "role": role.rawValue])
                try #require(invited.status == 202, "\(invited.text)")
                let accepted = try await w.app.call(.post, "/api/v1/invitations/\(invited.string("id") ?? "")/accept", token: w.token(role))
                try #require(accepted.status == 200, "\(accepted.text)")
            }
            return try await w.app.call(.delete, "/api/v1/orgs/\(org)?confirm=\(slug)", token: w.token(role)).status
        },
        Endpoint(name: "GET /orgs/{id}/members", allowed: everyone, success: 200) { w, role, foreign in
            try await w.app.call(.get, "/api/v1/orgs/\(w.org(foreign))/members", token: w.token(role)).status
        },
        Endpoint(name: "POST /orgs/{id}/members", allowed: managers, success: 201) { w, role, foreign in
            let name = "n" + UUID().uuidString.prefix(8).lowercased()
            return try await w.app.call(
                .post, "/api/v1/orgs/\(w.org(foreign))/members", token: w.token(role),
                json: [
                    "username": name, "email": "\(name)@example.test", "password": "password-123", "role": "viewer",
                ]
            ).status
        },
        Endpoint(name: "PUT /orgs/{id}/members/{user}", allowed: managers, success: 200) { w, role, foreign in
            let target = try await w.freshMember(foreign: foreign)
            return try await w.app.call(
                .put, "/api/v1/orgs/\(w.org(foreign))/members/\(target)", token: w.token(role),
                json: ["role": "member"]
            ).status
        },
        Endpoint(name: "DELETE /orgs/{id}/members/{user}", allowed: managers, success: 204) { w, role, foreign in
            let target = try await w.freshMember(foreign: foreign)
            return try await w.app.call(.delete, "/api/v1/orgs/\(w.org(foreign))/members/\(target)", token: w.token(role)).status
        },
        Endpoint(name: "GET /projects?org_id", allowed: everyone, success: 200) { w, role, foreign in
            try await w.app.call(.get, "/api/v1/projects?org_id=\(w.org(foreign))", token: w.token(role)).status
        },
        Endpoint(name: "POST /projects", allowed: [.owner, .admin, .member], success: 201) { w, role, foreign in
            try await w.app.call(
                .post, "/api/v1/projects", token: w.token(role),
                json: ["org_id": w.org(foreign), "name": "P \(UUID().uuidString.prefix(8))"]
            ).status
        },
        Endpoint(name: "GET /projects/{id}", allowed: everyone, success: 200) { w, role, foreign in
            try await w.app.call(.get, "/api/v1/projects/\(foreign ? w.projectB : w.projectA)", token: w.token(role)).status
        },
        Endpoint(name: "PUT /projects/{id} (someone else's)", allowed: managers, success: 200) { w, role, foreign in
            let project = try await w.freshProject(foreign: foreign)
            return try await w.app.call(.put, "/api/v1/projects/\(project)", token: w.token(role), json: ["description": "changed"]).status
        },
        Endpoint(name: "DELETE /projects/{id} (someone else's)", allowed: managers, success: 204) { w, role, foreign in
            let project = try await w.freshProject(foreign: foreign)
            return try await w.app.call(.delete, "/api/v1/projects/\(project)", token: w.token(role)).status
        },
        Endpoint(name: "GET /projects/{id}/experiments", allowed: everyone, success: 200) { w, role, foreign in
            try await w.app.call(.get, "/api/v1/projects/\(foreign ? w.projectB : w.projectA)/experiments", token: w.token(role)).status
        },
        Endpoint(name: "POST /projects/{id}/experiments", allowed: [.owner, .admin, .member], success: 201) { w, role, foreign in
            try await w.app.call(
                .post, "/api/v1/projects/\(foreign ? w.projectB : w.projectA)/experiments", token: w.token(role),
                json: ["name": "E \(UUID().uuidString.prefix(8))"]
            ).status
        },
        Endpoint(name: "POST /runs/{id}/log", allowed: [.owner, .admin, .member], success: 204) { w, role, foreign in
            let run = try await w.freshRun(foreign: foreign)
            return try await w.app.call(
                .post, "/api/v1/runs/\(run)/log", token: w.token(role),
                json: ["metrics": [["key": "loss", "steps": [0, 1], "values": [0.5, 0.25]]]]
            ).status
        },
        Endpoint(name: "DELETE /runs/{id}", allowed: [.owner, .admin, .member], success: 204) { w, role, foreign in
            try await w.app.call(.delete, "/api/v1/runs/\(try await w.freshRun(foreign: foreign))", token: w.token(role)).status
        },
        Endpoint(name: "GET /projects/{id}/models", allowed: everyone, success: 200) { w, role, foreign in
            try await w.app.call(.get, "/api/v1/projects/\(foreign ? w.projectB : w.projectA)/models", token: w.token(role)).status
        },
        Endpoint(name: "GET /projects/{id}/datasets", allowed: everyone, success: 200) { w, role, foreign in
            try await w.app.call(.get, "/api/v1/projects/\(w.project(foreign))/datasets", token: w.token(role)).status
        },
        Endpoint(name: "POST /projects/{id}/datasets", allowed: [.owner, .admin, .member], success: 201) { w, role, foreign in
            try await w.app.call(
                .post, "/api/v1/projects/\(w.project(foreign))/datasets", token: w.token(role),
                json: ["name": "d-\(UUID().uuidString.prefix(8))", "format": "csv"]
            ).status
        },
        Endpoint(name: "GET /audit?org_id", allowed: managers, success: 200) { w, role, foreign in
            try await w.app.call(.get, "/api/v1/audit?org_id=\(w.org(foreign))", token: w.token(role)).status
        },
        Endpoint(name: "POST /auth/api-keys", allowed: everyone, success: 201) { w, role, foreign in
            try await w.app.call(.post, "/api/v1/auth/api-keys", token: w.token(role), json: ["name": "k", "org_id": w.org(foreign)]).status
        },
        Endpoint(name: "DELETE /auth/api-keys/{id} (someone else's)", allowed: managers, success: 200) { w, role, foreign in
            let key = try #require(
                try await w.app.call(
                    .post, "/api/v1/auth/api-keys", token: foreign ? w.tenantB.token : w.ownerToken,
                    json: ["name": "victim", "org_id": w.org(foreign)]
                ).string("id"))
            return try await w.app.call(.delete, "/api/v1/auth/api-keys/\(key)", token: w.token(role)).status
        },
    ]

    @Test("every role × endpoint × own/foreign organization gets exactly the expected answer", arguments: DatabaseKind.available)
    func matrix(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let world = try await World.make(app)
            var mismatches: [String] = []
            var unauthorizedSuccesses = 0
            var cases = 0
            for endpoint in Self.endpoints {
                for role in Role.allCases {
                    for foreign in [false, true] {
                        cases += 1
                        let expected = foreign ? 404 : (endpoint.allowed.contains(role) ? endpoint.success : 403)
                        let status = try await endpoint.call(world, role, foreign)
                        if status != expected {
                            mismatches.append("\(endpoint.name) as \(role)\(foreign ? " in foreign org" : ""): \(status), expected \(expected)")
                        }
                        if expected >= 400 && (200..<300).contains(status) { unauthorizedSuccesses += 1 }
                    }
                }
            }
            #expect(cases == Self.endpoints.count * 8)
            #expect(unauthorizedSuccesses == 0)
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        }
    }

    @Test("a member may change and delete the projects they created", arguments: DatabaseKind.available)
    func memberOwnsTheirProjects(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let owner = try await app.adminToken()
            let org = try await app.homeOrg(owner)
            let member = try await app.newMember(of: org, role: "member", by: owner)
            let project = try #require(
                try await app.call(
                    .post, "/api/v1/projects", token: member.token,
                    json: ["org_id": org, "name": "Mine"]
                ).string("id"))
            #expect(try await app.call(.put, "/api/v1/projects/\(project)", token: member.token, json: ["name": "Still mine"]).status == 200)
            #expect(try await app.call(.delete, "/api/v1/projects/\(project)", token: member.token).status == 204)
        }
    }

    @Test("API key scopes narrow the role, and a key works only in its own organization", arguments: DatabaseKind.available)
    func apiKeyScopes(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let owner = try await app.adminToken()
            let orgA = try await app.homeOrg(owner)
            let orgC = try #require(try await app.call(.post, "/api/v1/orgs", token: owner, json: ["name": "Second"]).string("id"))
            let key = try #require(
                try await app.call(
                    .post, "/api/v1/auth/api-keys", token: owner,
                    json: ["name": "read-only", "org_id": orgA, "scopes": ["projects:read"]]
                ).string("key"))
            #expect(try await app.call(.get, "/api/v1/projects?org_id=\(orgA)", token: key).status == 200)
            #expect(try await app.call(.post, "/api/v1/projects", token: key, json: ["name": "No"]).status == 403)
            #expect(try await app.call(.get, "/api/v1/orgs/\(orgA)", token: key).status == 403) // org:read not in scope
            #expect(try await app.call(.get, "/api/v1/projects?org_id=\(orgC)", token: key).status == 404)
            #expect(try await app.call(.get, "/api/v1/orgs/\(orgC)", token: key).status == 404)
            let listed = try await app.call(.get, "/api/v1/projects", token: key)
            #expect(listed.items.allSatisfy { $0["org_id"] as? String == orgA })

            // A viewer's key with write scopes still cannot write: role ∩ scopes.
            let viewer = try await app.newMember(of: orgA, role: "viewer", by: owner)
            let viewerKey = try #require(
                try await app.call(
                    .post, "/api/v1/auth/api-keys", token: viewer.token,
                    json: ["name": "wide", "scopes": ["projects:write", "projects:read"]]
                ).string("key"))
            #expect(try await app.call(.post, "/api/v1/projects", token: viewerKey, json: ["org_id": orgA, "name": "No"]).status == 403)
        }
    }

    @Test("owner-only rules: only owners grant owner; the last owner cannot leave or be demoted", arguments: DatabaseKind.available)
    func ownerRules(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let owner = try await app.adminToken()
            let org = try await app.homeOrg(owner)
            let me = try await app.call(.get, "/api/v1/auth/me", token: owner)
            let ownerId = try #require((me["user"] as? [String: Any])?["id"] as? String)
            let admin = try await app.newMember(of: org, role: "admin", by: owner)
            let viewer = try await app.newMember(of: org, role: "viewer", by: owner)
            #expect(try await app.call(.put, "/api/v1/orgs/\(org)/members/\(viewer.id)", token: admin.token, json: ["role": "owner"]).status == 403)
            #expect(try await app.call(.delete, "/api/v1/orgs/\(org)/members/\(ownerId)", token: admin.token).status == 403)
            #expect(try await app.call(.put, "/api/v1/orgs/\(org)/members/\(ownerId)", token: owner, json: ["role": "admin"]).status == 409)
            #expect(try await app.call(.delete, "/api/v1/orgs/\(org)/members/\(ownerId)", token: owner).status == 409)
            #expect(try await app.call(.put, "/api/v1/orgs/\(org)/members/\(viewer.id)", token: owner, json: ["role": "owner"]).status == 200)
            #expect(try await app.call(.put, "/api/v1/orgs/\(org)/members/\(ownerId)", token: owner, json: ["role": "admin"]).status == 200)
            // A viewer may leave on their own.
            let leaver = try await app.newMember(of: org, role: "viewer", by: viewer.token)
            #expect(try await app.call(.delete, "/api/v1/orgs/\(org)/members/\(leaver.id)", token: leaver.token).status == 204)
            #expect(try await app.call(.get, "/api/v1/orgs/\(org)", token: leaver.token).status == 404)
        }
    }
}

extension RBACMatrixTests.World {
    static func make(_ app: TestApp) async throws -> Self {
        let owner = try await app.adminToken()
        let orgA = try await app.homeOrg(owner)
        let tenantB = try await app.newTenant()
        var users: [RBACMatrixTests.Role: (id: String, token: String)] = [:]
        let me = try await app.call(.get, "/api/v1/auth/me", token: owner)
        users[.owner] = (try #require((me["user"] as? [String: Any])?["id"] as? String), owner)
        for role in [RBACMatrixTests.Role.admin, .member, .viewer] {
            users[role] = try await app.newMember(of: orgA, role: role.rawValue, by: owner)
        }
        let projectA = try #require(try await app.call(.post, "/api/v1/projects", token: owner, json: ["org_id": orgA, "name": "A"]).string("id"))
        let projectB = try #require(
            try await app.call(
                .post, "/api/v1/projects", token: tenantB.token,
                json: ["org_id": tenantB.org, "name": "B"]
            ).string("id"))
        return .init(app: app, ownerToken: owner, orgA: orgA, projectA: projectA, tenantB: tenantB, projectB: projectB, users: users)
    }

    func org(_ foreign: Bool) -> String { foreign ? tenantB.org : orgA }
    func project(_ foreign: Bool) -> String { foreign ? projectB : projectA }
    func token(_ role: RBACMatrixTests.Role) -> String { users[role]!.token }

    func freshMember(foreign: Bool) async throws -> String {
        let name = "m" + UUID().uuidString.prefix(8).lowercased()
        let reply = try await app.call(
            .post, "/api/v1/orgs/\(org(foreign))/members", token: foreign ? tenantB.token : ownerToken,
            json: ["username": name, "email": "\(name)@example.test", "password": "password-123", "role": "viewer"])
        return try #require(reply.string("user_id"), "\(reply.text)")
    }

    /// A run in a new experiment of project A (or B), created by that organization's owner.
    func freshRun(foreign: Bool) async throws -> String {
        let owner = foreign ? tenantB.token : ownerToken
        let experiment = try await app.call(
            .post, "/api/v1/projects/\(foreign ? projectB : projectA)/experiments", token: owner,
            json: ["name": "R \(UUID().uuidString.prefix(8))"])
        let run = try await app.call(
            .post, "/api/v1/experiments/\(try #require(experiment.string("id"), "\(experiment.text)"))/runs",
            token: owner, json: [:])
        return try #require(run.string("id"), "\(run.text)")
    }

    func freshProject(foreign: Bool) async throws -> String {
        let reply = try await app.call(
            .post, "/api/v1/projects", token: foreign ? tenantB.token : ownerToken,
            json: ["org_id": org(foreign), "name": "F \(UUID().uuidString.prefix(8))"])
        return try #require(reply.string("id"), "\(reply.text)")
    }
}

@Suite("Credential cache")
struct PrincipalCacheTests {
    @Test("a change made through this server applies to the very next request", arguments: DatabaseKind.available)
    func localChangesApplyAtOnce(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let owner = try await app.adminToken()
            let org = try await app.homeOrg(owner)
            let admin = try await app.newMember(of: org, role: "admin", by: owner)
            #expect(try await app.call(.get, "/api/v1/audit?org_id=\(org)", token: admin.token).status == 200)
            #expect(try await app.call(.put, "/api/v1/orgs/\(org)/members/\(admin.id)", token: owner, json: ["role": "viewer"]).status == 200)
            #expect(try await app.call(.get, "/api/v1/audit?org_id=\(org)", token: admin.token).status == 403)
        }
    }

    @Test("a change made elsewhere (another replica) applies once the cache entry expires", arguments: DatabaseKind.available)
    func remoteChangesApplyAfterTTL(kind: DatabaseKind) async throws {
        try await withApp(kind, settings: ["auth_cache_ttl": "1"]) { app in
            let owner = try await app.adminToken()
            let org = try await app.homeOrg(owner)
            let admin = try await app.newMember(of: org, role: "admin", by: owner)
            #expect(try await app.call(.get, "/api/v1/audit?org_id=\(org)", token: admin.token).status == 200)
            // Another replica demotes the admin: the row changes under this server's feet.
            try await app.parts.database.transaction { sql in
                try await sql.raw("UPDATE org_members SET role = 'viewer' WHERE user_id = \(bind: UUID(uuidString: admin.id)!)").run()
            }
            #expect(try await app.call(.get, "/api/v1/audit?org_id=\(org)", token: admin.token).status == 200)
            app.clock.advance(by: 1.5)
            #expect(try await app.call(.get, "/api/v1/audit?org_id=\(org)", token: admin.token).status == 403)
        }
    }
}
