import AITIPCore
import AITIPTestSupport
import Foundation
import Testing

/// Editing the registry through the native API (what the console's model page sends): one change per request,
/// refused changes leave the model as it was, and every change is audited.
@Suite("Registry editing")
struct RegistryEditTests {
    @Test("descriptions, tags and aliases change one at a time; refused changes change nothing", arguments: DatabaseKind.available)
    func edits(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let org = try await app.homeOrg(token)
            let project = try #require(
                try await app.call(.get, "/api/v1/projects?limit=500", token: token).items.first { $0["slug"] as? String == "default" }?["id"]
                    as? String)
            let experiment = try #require(
                try await app.call(.post, "/api/2.0/mlflow/experiments/create", token: token, json: ["name": "registry"]).string("experiment_id"))
            let run = try #require(
                ((try await app.call(.post, "/api/2.0/mlflow/runs/create", token: token, json: ["experiment_id": experiment])["run"] as? [String: Any])?[
                    "info"] as? [String: Any])?["run_id"] as? String)
            #expect(try await app.call(.post, "/api/2.0/mlflow/registered-models/create", token: token, json: ["name": "ranker"]).status == 200)
            #expect(
                try await app.call(
                    .post, "/api/2.0/mlflow/model-versions/create", token: token,
                    json: ["name": "ranker", "source": "runs:/\(run)/model", "run_id": run]
                ).status == 200)
            let model = "/api/v1/projects/\(project)/models/ranker"

            let described = try await app.call(.patch, model, token: token, json: ["description": "ranks results"])
            #expect((described["model"] as? [String: Any])?["description"] as? String == "ranks results", "\(described.text)")
            let tagged = try await app.call(.put, "\(model)/versions/1/tags/validated", token: token, json: ["value": "yes"])
            #expect(((tagged["versions"] as? [[String: Any]])?.first?["tags"] as? [String: String])?["validated"] == "yes", "\(tagged.text)")
            let aliased = try await app.call(.put, "\(model)/aliases/champion", token: token, json: ["version": 1])
            #expect(((aliased["model"] as? [String: Any])?["aliases"] as? [String: String])?["champion"] == "1", "\(aliased.text)")

            for (method, path, body, status) in [
                ("PUT", "\(model)/aliases/latest", ["version": 1], 400), // reserved in models:/ URIs
                ("PUT", "\(model)/aliases/v2", ["version": 1], 400),
                ("PUT", "\(model)/aliases/champion", ["version": 9], 404), // no such version: champion stays on v1
                ("PATCH", "\(model)/versions/9", ["description": "x"], 404),
                ("PATCH", model, ["description": String(repeating: "x", count: 10_001)], 400),
                ("PUT", "\(model)/tags/..%2Fescape", ["value": "x"], 422), // a field error: the tag key
                ("PATCH", "/api/v1/projects/\(project)/models/nope", ["description": "x"], 404),
            ] as [(String, String, [String: Any], Int)] {
                let reply = try await app.call(.init(method)!, path, token: token, json: body)
                #expect(reply.status == status, "\(method) \(path): \(reply.text)")
            }
            let after = try await app.call(.get, model, token: token)
            let detail = try #require(after["model"] as? [String: Any])
            #expect(detail["description"] as? String == "ranks results" && (detail["aliases"] as? [String: String]) == ["champion": "1"])
            #expect((detail["tags"] as? [String: String]) == [:])

            // The run lists what was registered from it.
            let fromRun = try await app.call(.get, "/api/v1/runs/\(run)/model-versions", token: token).items
            #expect(fromRun.count == 1 && fromRun.first?["model_name"] as? String == "ranker" && fromRun.first?["project_id"] as? String == project)
            #expect(((fromRun.first?["version"] as? [String: Any])?["aliases"] as? [String]) == ["champion"], "\(fromRun)")

            let removed = try await app.call(.delete, "\(model)/aliases/champion", token: token)
            #expect(((removed["model"] as? [String: Any])?["aliases"] as? [String: String]) == [:])
            let actions = try await app.auditEntries(org: org, token: token, query: "&outcome=success").compactMap { $0["action"] as? String }
            for action in ["model.update", "model_version.update", "model.set_alias", "model.delete_alias"] {
                #expect(actions.contains(action), "\(action) not in \(actions)")
            }

            // A viewer reads the registry but cannot change it.
            let viewer = try await app.newMember(of: org, role: "viewer", by: token)
            #expect(try await app.call(.get, model, token: viewer.token).status == 200)
            #expect(try await app.call(.patch, model, token: viewer.token, json: ["description": "mine"]).status == 403)
        }
    }
}
