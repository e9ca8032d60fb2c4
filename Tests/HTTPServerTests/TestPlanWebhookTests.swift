import AITIPCore
import AITIPTestSupport
import App
import Crypto
import Foundation
import HTTPTypes
import Testing

/// A plan's webhook: deliveries without an aitip credential run the plan only when they are signed with its secret,
/// coalesce while a run they started is going, and stop working when the secret is rotated or removed.
@Suite("Test plan webhooks")
struct TestPlanWebhookTests {
    static func signature(_ body: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    @Test(
        "a signed delivery runs the plan once while it runs; unsigned, mis-signed, replayed after rotation or removal, and unknown plans all get the same 401",
        arguments: DatabaseKind.available)
    func signedDeliveries(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            let created = try await app.call(
                .post, "/api/v1/test/plans", token: token,
                json: ["project_id": project, "name": "on-push", "config": ["command": "sleep 30", "cpu": 0.1]])
            #expect(created.status == 201, "\(created.text)")
            let plan = try #require(created.string("id"))
            let trigger = "/api/v1/test/plans/\(plan)/trigger"
            let push = #"{"ref": "refs/heads/main", "after": "0123abcd"}"#

            // No webhook yet: refused like a wrong signature.
            let early = try await app.call(
                .post, trigger, raw: push, headers: [HTTPField.Name("X-Hub-Signature-256")!: Self.signature(push, secret: "x")])
            #expect(early.status == 401 && early.headers[.contentType] == "application/problem+json", "\(early.text)")

            let made = try await app.call(.post, "/api/v1/test/plans/\(plan)/webhook", token: token)
            #expect(made.status == 201 && made.string("url") == trigger, "\(made.text)")
            let secret = try #require(made.string("secret"))
            #expect(secret.count >= 40)
            #expect(!(try await app.call(.get, "/api/v1/test/plans/\(plan)", token: token).text.contains(secret)), "the secret is shown once")

            let hub = HTTPField.Name("X-Hub-Signature-256")!
            for (headers, why) in [
                ([:], "unsigned"), ([hub: Self.signature(push + " ", secret: secret)], "signed over another body"),
                ([hub: "sha256=zz"], "not hex"),
                ([hub: Self.signature(push, secret: secret).replacingOccurrences(of: "sha256=", with: "sha1=")], "sha1"),
                ([HTTPField.Name("X-Gitlab-Token")!: secret + "x"], "wrong token"),
            ] as [(HTTPFields, String)] {
                let refused = try await app.call(.post, trigger, raw: push, headers: headers)
                #expect(refused.status == 401, "\(why): \(refused.text)")
            }
            let unknown = try await app.call(
                .post, "/api/v1/test/plans/\(UUID().uuidString.lowercased())/trigger", raw: push, headers: [hub: Self.signature(push, secret: secret)]
            )
            #expect(unknown.status == 401, "\(unknown.text)")
            #expect(try await app.call(.get, "/api/v1/test/executions?plan_id=\(plan)", token: token).items.isEmpty)

            let first = try await app.call(.post, trigger, raw: push, headers: [hub: Self.signature(push, secret: secret)])
            #expect(first.status == 202 && first.string("trigger_type") == "webhook", "\(first.text)")
            let execution = try #require(first.string("id"))
            // Another push while it runs, signed GitLab's way: the same execution, not a second one.
            let second = try await app.call(.post, trigger, raw: "{}", headers: [HTTPField.Name("X-Gitlab-Token")!: secret])
            #expect(second.status == 200 && second.string("id") == execution, "\(second.text)")
            #expect(try await app.call(.get, "/api/v1/test/executions?plan_id=\(plan)", token: token).items.count == 1)
            let audit = try await app.call(.get, "/api/v1/audit?action=test.submit&target_id=\(execution)", token: token).items
            #expect(audit.count == 1 && audit.first?["actor_id"] == nil, "\(audit)")

            // Rotated: the old secret no longer works; removed: none does.
            _ = try await app.call(.post, "/api/v1/test/executions/\(execution)/stop", token: token)
            let rotated = try await app.call(.post, "/api/v1/test/plans/\(plan)/webhook", token: token)
            let newSecret = try #require(rotated.string("secret"))
            #expect(newSecret != secret)
            let stale = try await app.call(.post, trigger, raw: push, headers: [hub: Self.signature(push, secret: secret)])
            #expect(stale.status == 401, "\(stale.text)")
            #expect(try await app.call(.delete, "/api/v1/test/plans/\(plan)/webhook", token: token).status == 204)
            let removed = try await app.call(.post, trigger, raw: push, headers: [hub: Self.signature(push, secret: newSecret)])
            #expect(removed.status == 401, "\(removed.text)")
        }
    }

    @Test("a plan whose owner has left the organization runs nothing from its webhook")
    func ownerLeft() async throws {
        try await withApp(.sqlite) { app in
            let admin = try await app.adminToken()
            let org = try await app.homeOrg(admin)
            let member = try await app.newMember(of: org, role: "member", by: admin)
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: member.token).items.first?["id"] as? String)
            let plan = try #require(
                try await app.call(
                    .post, "/api/v1/test/plans", token: member.token,
                    json: ["project_id": project, "name": "theirs", "config": ["command": "true", "cpu": 0.1]]
                ).string("id"))
            let secret = try #require(try await app.call(.post, "/api/v1/test/plans/\(plan)/webhook", token: member.token).string("secret"))
            let hub = HTTPField.Name("X-Hub-Signature-256")!
            let before = try await app.call(
                .post, "/api/v1/test/plans/\(plan)/trigger", raw: "{}", headers: [hub: Self.signature("{}", secret: secret)])
            #expect(before.status == 202, "\(before.text)")
            #expect(try await app.call(.delete, "/api/v1/orgs/\(org)/members/\(member.id)", token: admin).status == 204)
            _ = try await app.call(.post, "/api/v1/test/executions/\(try #require(before.string("id")))/stop", token: admin)
            let after = try await app.call(
                .post, "/api/v1/test/plans/\(plan)/trigger", raw: "{}", headers: [hub: Self.signature("{}", secret: secret)])
            #expect(after.status == 401, "\(after.text)")
        }
    }
}
