import AITIPTestSupport
import Foundation
import HTTPTypes
import Testing

/// Rules the access matrix (AccessMatrix/) does not derive from declarations: a member's own projects, how API key
/// scopes combine with roles, and the owners' rules.
@Suite("RBAC rules")
struct RBACRuleTests {
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

            // A change scope includes the read of its own area, and nothing of another.
            let writer = try #require(
                try await app.call(
                    .post, "/api/v1/auth/api-keys", token: owner, json: ["name": "logger", "org_id": orgA, "scopes": ["experiments:write"]]
                ).string("key"))
            let project = try #require(try await app.call(.get, "/api/v1/projects?org_id=\(orgA)", token: owner).items.first?["id"] as? String)
            #expect(try await app.call(.get, "/api/v1/projects/\(project)/experiments", token: writer).status == 200)
            #expect(try await app.call(.post, "/api/v1/projects/\(project)/experiments", token: writer, json: ["name": "Logged"]).status == 201)
            #expect(try await app.call(.get, "/api/v1/projects/\(project)/datasets", token: writer).status == 403)
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
