import AITIPAPI
import AITIPCore
import AITIPTestSupport
import Agent
import Foundation
import HTTPTypes
import Testing
import Yams

/// The agent API: every operation as a tool, run with the caller's own rights through the server's front door;
/// destructive and costly tools wait for a confirmation. (Asynchronous runs with a signed callback to a real receiver
/// are in pytests/mlflow/test_agent.py.)
@Suite("Agent")
struct AgentTests {
    @Test("every operation of openapi.yaml is a tool, with its area, risk, permission and parameters")
    func toolsFromTheSpec() async throws {
        try await withApp(.sqlite) { app in
            let token = try await app.adminToken()
            let listed = try await app.call(.get, "/api/v1/agent/tools", token: token)
            let tools = listed["tools"] as? [[String: Any]] ?? []
            let spec = try #require(try Yams.load(yaml: try APISpec.yaml()) as? [String: Any])
            let operations = (spec["paths"] as? [String: Any] ?? [:]).values.flatMap { item in
                (item as? [String: Any] ?? [:]).compactMap { ($0.value as? [String: Any])?["operationId"] as? String }
            }
            #expect(Set(tools.compactMap { $0["operation_id"] as? String }) == Set(operations), "every operation, once")
            #expect(tools.count == operations.count)
            func tool(_ name: String) -> [String: Any]? { tools.first { $0["name"] as? String == name } }
            let create = try #require(tool("release.create"))
            #expect(create["risk"] as? String == "write" && create["permission"] as? String == "release:write")
            let parameters = try #require(create["parameters"] as? [String: Any])
            #expect((parameters["required"] as? [String] ?? []).contains("project_id"), "\(parameters)")
            #expect((parameters["properties"] as? [String: Any])?["canary_stages"] != nil)
            #expect(tool("training.submit")?["risk"] as? String == "costly")
            #expect(tool("releases.rollback_release")?["risk"] as? String == "destructive")
            #expect(tool("releases.get_release")?["risk"] as? String == "read")
            let upload = try #require(tool("training.upload_training_code"))
            #expect(upload["executable"] as? Bool == false && (upload["not_executable"] as? String)?.contains("file") == true)
            #expect(tool("auth.login")?["executable"] as? Bool == false)
            #expect(tool("datasets.get_dataset_file_url") != nil, "an acronym is one word")
            let costly = try await app.call(.get, "/api/v1/agent/tools?risk=costly", token: token)["tools"] as? [[String: Any]] ?? []
            #expect(!costly.isEmpty && costly.allSatisfy { $0["risk"] as? String == "costly" })
        }
    }

    @Test(
        "a tool runs with exactly the caller's rights: an admin's read succeeds, a viewer's write is refused by the operation itself",
        arguments: DatabaseKind.available)
    func callersRights(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let projects = try await app.call(
                .post, "/api/v1/agent/execute", token: token, json: ["tool": "projects.list_projects", "params": ["limit": 5]])
            #expect(projects.status == 200 && projects.string("status") == "succeeded" && projects["http_status"] as? Int == 200, "\(projects.text)")
            #expect(((projects["result"] as? [String: Any])?["items"] as? [Any])?.isEmpty == false)
            let org = try await app.homeOrg(token)
            let viewer = try await app.newMember(of: org, role: "viewer", by: token)
            let refused = try await app.call(
                .post, "/api/v1/agent/execute", token: viewer.token,
                json: ["tool": "projects.create_project", "params": ["org_id": org, "name": "by-agent"]])
            #expect(refused.string("status") == "failed" && refused["http_status"] as? Int == 403, "\(refused.text)")
            // The same with a viewer's API key (its scopes can be no more than the role).
            let viewerKey = try #require(
                try await app.call(.post, "/api/v1/auth/api-keys", token: viewer.token, json: ["name": "agent", "scopes": ["projects:read"]])
                    .string("key"))
            let byKey = try await app.call(
                .post, "/api/v1/agent/execute", token: viewerKey,
                json: ["tool": "projects.create_project", "params": ["org_id": org, "name": "by-agent"]])
            #expect(byKey.string("status") == "failed" && byKey["http_status"] as? Int == 403, "\(byKey.text)")
            let names = try await app.call(.get, "/api/v1/projects?limit=500", token: token).items.compactMap { $0["name"] as? String }
            #expect(!names.contains("by-agent"), "nothing was created")
            // Someone else's execution is not there for them.
            let id = try #require(projects.string("execution_id"))
            #expect(try await app.call(.get, "/api/v1/agent/executions/\(id)", token: viewer.token).status == 404)
            #expect(try await app.call(.get, "/api/v1/agent/executions/\(id)", token: token).string("status") == "succeeded")
            let mine = try await app.call(.get, "/api/v1/agent/executions", token: token).items.compactMap { $0["execution_id"] as? String }
            #expect(mine.first == id, "newest first: \(mine)")
            #expect(
                try await app.call(.get, "/api/v1/agent/executions", token: viewer.token).items.allSatisfy { $0["execution_id"] as? String != id })
            // Arguments a tool does not take, and callbacks to private addresses, are refused before anything runs.
            let unknown = try await app.call(
                .post, "/api/v1/agent/execute", token: token, json: ["tool": "projects.list_projects", "params": ["drop": "table"]])
            #expect(unknown.status == 422 && unknown.text.contains("params.drop"), "\(unknown.text)")
            let privateCallback = try await app.call(
                .post, "/api/v1/agent/execute", token: token,
                json: ["tool": "projects.list_projects", "async": true, "callback_url": "http://169.254.169.254/latest"])
            #expect(privateCallback.status == 422 && privateCallback.text.contains("callback_url"), "\(privateCallback.text)")
            #expect(try await app.call(.post, "/api/v1/agent/execute", token: token, json: ["tool": "nope.nothing"]).status == 422)
        }
    }

    @Test("a destructive tool waits for its confirmation token, which confirms only that call, once", arguments: DatabaseKind.available)
    func confirmation(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let key = try #require(
                try await app.call(.post, "/api/v1/auth/api-keys", token: token, json: ["name": "doomed", "scopes": ["projects:read"]]).string("id"))
            let other = try #require(
                try await app.call(.post, "/api/v1/auth/api-keys", token: token, json: ["name": "kept", "scopes": ["projects:read"]]).string("id"))
            let asked = try await app.call(
                .post, "/api/v1/agent/execute", token: token, json: ["tool": "api_keys.revoke_api_key", "params": ["key_id": key]])
            #expect(asked.string("status") == "awaiting_confirmation" && asked["confirmation_required"] as? Bool == true, "\(asked.text)")
            let confirmation = try #require(asked.string("confirmation_token"))
            let before = try await app.call(.get, "/api/v1/auth/api-keys", token: token).items.first { $0["id"] as? String == key }
            #expect(before != nil && before?["revoked_at"] == nil, "not revoked before it is confirmed")
            let swapped = try await app.call(
                .post, "/api/v1/agent/execute", token: token,
                json: ["tool": "api_keys.revoke_api_key", "params": ["key_id": other], "confirmation_token": confirmation])
            #expect(swapped.status == 422 && swapped.text.contains("other arguments"), "\(swapped.text)")
            let done = try await app.call(
                .post, "/api/v1/agent/execute", token: token,
                json: ["tool": "api_keys.revoke_api_key", "params": ["key_id": key], "confirmation_token": confirmation])
            #expect(done.string("status") == "succeeded" && done.string("execution_id") == asked.string("execution_id"), "\(done.text)")
            let again = try await app.call(
                .post, "/api/v1/agent/execute", token: token,
                json: ["tool": "api_keys.revoke_api_key", "params": ["key_id": key], "confirmation_token": confirmation])
            #expect(again.status == 422, "a token confirms once: \(again.text)")
            let keys = try await app.call(.get, "/api/v1/auth/api-keys", token: token).items
            let revoked = keys.first { $0["id"] as? String == key }
            #expect(revoked == nil || revoked?["revoked_at"] != nil, "\(keys)")
            #expect(keys.contains { $0["id"] as? String == other })
            // The same token sent twice at once runs the call once.
            let raced = try #require(
                try await app.call(.post, "/api/v1/auth/api-keys", token: token, json: ["name": "raced", "scopes": ["projects:read"]]).string("id"))
            let racedToken = try #require(
                try await app.call(
                    .post, "/api/v1/agent/execute", token: token, json: ["tool": "api_keys.revoke_api_key", "params": ["key_id": raced]]
                )
                .string("confirmation_token"))
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await app.call(
                            .post, "/api/v1/agent/execute", token: token,
                            json: ["tool": "api_keys.revoke_api_key", "params": ["key_id": raced], "confirmation_token": racedToken]
                        ).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }.sorted()
            }
            #expect(statuses == [200, 422], "one run, one refusal: \(statuses)")
            let audit = try await app.call(.get, "/api/v1/audit?limit=200", token: token).text
            #expect(audit.contains("agent.execute") && audit.contains("api_keys.revoke_api_key"))
        }
    }

    @Test(
        "an organization's policy holds an agent's call until enough people (not the asker, not a key) approve it; a rejection ends it",
        arguments: DatabaseKind.available)
    func approvals(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let org = try await app.homeOrg(token)
            let admin = try await app.newMember(of: org, role: "admin", by: token)
            let member = try await app.newMember(of: org, role: "member", by: token)
            let malformed = try await app.call(
                .put, "/api/v1/orgs/\(org)", token: token, json: ["settings": ["agent_approval": ["risks": ["sometimes"], "required": 0]]])
            #expect(malformed.status == 422 && malformed.text.contains("settings.agent_approval.risks"), "\(malformed.text)")
            #expect(malformed.text.contains("settings.agent_approval.required"))
            let policy = ["risks": ["destructive"], "tools": ["projects.create_project"], "required": 2] as [String: Any]
            #expect(try await app.call(.put, "/api/v1/orgs/\(org)", token: token, json: ["settings": ["agent_approval": policy]]).status == 200)

            let call: [String: Any] = ["tool": "projects.create_project", "params": ["org_id": org, "name": "approved-by-two"]]
            let asked = try await app.call(.post, "/api/v1/agent/execute", token: member.token, json: call)
            #expect(asked.string("status") == "awaiting_approval" && asked["approval_required"] as? Bool == true, "\(asked.text)")
            #expect(asked["approvals_required"] as? Int == 2 && asked.string("org_id") == org)
            let id = try #require(asked.string("execution_id"))
            let confirmation = try #require(asked.string("confirmation_token"))
            var confirmed = call
            confirmed["confirmation_token"] = confirmation
            let early = try await app.call(.post, "/api/v1/agent/execute", token: member.token, json: confirmed)
            #expect(early.status == 409 && early.text.contains("0 of 2"), "\(early.text)")

            #expect(try await app.call(.post, "/api/v1/agent/executions/\(id)/approve", token: member.token).status == 403, "not the asker")
            let adminKey = try #require(
                try await app.call(
                    .post, "/api/v1/auth/api-keys", token: admin.token, json: ["name": "bot", "scopes": ["agent:approve", "agent:read"]]
                )
                .string("key"))
            let byKey = try await app.call(.post, "/api/v1/agent/executions/\(id)/approve", token: adminKey)
            #expect(byKey.status == 403 && byKey.text.contains("person"), "\(byKey.text)")
            let pending = try await app.call(.get, "/api/v1/agent/approvals", token: admin.token).items
            #expect(pending.map { $0["execution_id"] as? String } == [id] && pending.first?["requested_by"] as? String == member.id, "\(pending)")
            #expect(try await app.call(.get, "/api/v1/agent/approvals", token: member.token).status == 403)

            let first = try await app.call(.post, "/api/v1/agent/executions/\(id)/approve", token: token, json: ["comment": "fine"])
            #expect(first.string("status") == "awaiting_approval" && (first["approvals"] as? [Any])?.count == 1, "\(first.text)")
            #expect(try await app.call(.post, "/api/v1/agent/executions/\(id)/approve", token: token).status == 409, "one decision each")
            let second = try await app.call(.post, "/api/v1/agent/executions/\(id)/approve", token: admin.token)
            #expect(second.string("status") == "awaiting_confirmation", "\(second.text)")
            let ran = try await app.call(.post, "/api/v1/agent/execute", token: member.token, json: confirmed)
            #expect(ran.string("status") == "succeeded" && ran["http_status"] as? Int == 201, "\(ran.text)")
            #expect(
                try await app.call(.get, "/api/v1/projects?limit=500", token: token).items.contains { $0["name"] as? String == "approved-by-two" })

            let refusedCall: [String: Any] = ["tool": "projects.create_project", "params": ["org_id": org, "name": "rejected"]]
            let again = try await app.call(.post, "/api/v1/agent/execute", token: member.token, json: refusedCall)
            let rejected = try await app.call(
                .post, "/api/v1/agent/executions/\(try #require(again.string("execution_id")))/reject", token: admin.token,
                json: ["comment": "not now"])
            #expect(rejected.string("status") == "rejected" && rejected.string("error")?.contains("not now") == true, "\(rejected.text)")
            var late = refusedCall
            late["confirmation_token"] = again.string("confirmation_token")
            let refused = try await app.call(.post, "/api/v1/agent/execute", token: member.token, json: late)
            #expect(refused.status == 422 && refused.text.contains("rejected by"), "\(refused.text)")
            #expect(try await app.call(.get, "/api/v1/projects?limit=500", token: token).items.allSatisfy { $0["name"] as? String != "rejected" })
            // A read is not held.
            let read = try await app.call(.post, "/api/v1/agent/execute", token: member.token, json: ["tool": "projects.list_projects"])
            #expect(read.string("status") == "succeeded", "\(read.text)")
            let audit = try await app.call(.get, "/api/v1/audit?limit=200", token: token).text
            #expect(audit.contains("agent.approve") && audit.contains("agent.reject"))
        }
    }

    @Test(
        "WS /ws/agent/stream: the caller's executions as they change (no one else's), commands answered as the REST calls",
        arguments: DatabaseKind.available)
    func stream(_ kind: DatabaseKind) async throws {
        try await withApp(kind, live: true) { app in
            let token = try await app.adminToken()
            let org = try await app.homeOrg(token)
            let viewer = try await app.newMember(of: org, role: "viewer", by: token)
            let theirs = try #require(
                try await app.call(.post, "/api/v1/agent/execute", token: viewer.token, json: ["tool": "projects.list_projects"]).string(
                    "execution_id"))
            let mine = try #require(
                try await app.call(.post, "/api/v1/agent/execute", token: token, json: ["tool": "projects.list_projects"]).string("execution_id"))
            let received = MessageBox()
            try await app.client.ws("/ws/agent/stream?since_ms=0", configuration: .init(additionalHeaders: [.authorization: "Bearer \(token)"])) {
                inbound, outbound, _ in
                try await outbound.write(.text(#"{"type": "ping", "ref": 1}"#))
                try await outbound.write(.text(#"{"type": "drop tables"}"#))
                try await outbound.write(
                    .text(
                        #"{"type": "execute", "ref": "new", "async": true, "tool": "projects.create_project", "params": {"org_id": "\#(org)", "name": "streamed"}}"#
                    ))
                var created: String?
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                    else {
                        continue
                    }
                    received.append(object)
                    if object["type"] as? String == "reply", object["ref"] as? String == "new" {
                        created = (object["body"] as? [String: Any])?["execution_id"] as? String
                    }
                    let execution = object["execution"] as? [String: Any]
                    if let created, execution?["execution_id"] as? String == created, execution?["status"] as? String == "succeeded" { break }
                }
            }
            let messages = received.items
            func of(_ type: String) -> [[String: Any]] { messages.filter { $0["type"] as? String == type } }
            #expect(of("pong").first?["ref"] as? Int == 1, "\(messages)")
            #expect((of("error").first?["detail"] as? String)?.contains("not a command") == true, "\(messages)")
            let reply = try #require(of("reply").first)
            #expect(reply["http_status"] as? Int == 200 && (reply["body"] as? [String: Any])?["status"] as? String == "queued", "\(reply)")
            let seen = of("execution").compactMap { ($0["execution"] as? [String: Any])?["execution_id"] as? String }
            #expect(seen.contains(mine) && !seen.contains(theirs), "only the caller's executions: \(seen)")
            let finished = of("execution").last?["execution"] as? [String: Any]
            #expect(((finished?["result"] as? [String: Any])?["name"] as? String) == "streamed", "\(finished ?? [:])")
            await #expect(throws: (any Error).self) { try await app.webSocketMessages("/ws/agent/stream", headers: [:]) }
        }
    }
}

/// The natural-language reading, on the phrasings kept in Fixtures/agent-phrasings.json: every area, the design's own
/// example among them. Each must read as its intent with exactly its arguments and the names it refers to.
@Suite("Agent: natural language")
struct AgentLanguageTests {
    struct Phrasing: Decodable {
        var say: String
        var intent: String
        var params: [String: JSONValue]?
        var references: [String: String]?
        var project: String?
    }

    static let phrasings: [Phrasing] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/agent-phrasings.json")
        return (try? JSONDecoder().decode([Phrasing].self, from: Data(contentsOf: file))) ?? []
    }()

    @Test("the LLM mode offers a model the tools the words are about, and reads its call back with names as references")
    func languageModelReading() throws {
        let registry = try ToolRegistry(specYAML: try APISpec.yaml())
        let offered = LanguageModel.candidates(for: "scale the inference service churn-api to 3 replicas", among: registry.tools).map(\.name)
        #expect(offered.count <= 24 && offered.contains("inference.scale_inference_service"), "\(offered)")
        #expect(!offered.contains { registry.tool(named: $0)?.notExecutable != nil }, "only tools an agent may run")
        let tool = try #require(registry.tool(named: "inference.scale_inference_service"))
        let id = UUID().uuidString
        let (named, ignored) = AgentService.reading(tool, ["service_id": .string("churn-api"), "replicas": .number(3), "force": .bool(true)])
        #expect(named.references["service_id"]?.kind == .service && named.references["service_id"]?.name == "churn-api")
        #expect(named.arguments == ["replicas": .number(3)])
        #expect(ignored == ["force"])
        let (given, _) = AgentService.reading(tool, ["service_id": .string(id)])
        #expect(given.arguments == ["service_id": .string(id)] && given.references.isEmpty, "an id is kept as given")
    }

    @Test("at least 40 phrasings over every area read as their intent and arguments (accuracy printed)")
    func phrasings() throws {
        let phrasings = Self.phrasings
        #expect(phrasings.count >= 40)
        let registry = try ToolRegistry(specYAML: try APISpec.yaml())
        var right = 0
        for phrasing in phrasings {
            #expect(registry.tool(named: phrasing.intent) != nil, "the fixture names a tool that exists: \(phrasing.intent)")
            let reading = IntentParser.read(phrasing.say)
            let references = (reading?.references ?? [:]).mapValues { "\($0.kind.rawValue):\($0.name)" }
            let correct =
                reading?.intent == phrasing.intent && reading?.arguments == (phrasing.params ?? [:]) && references == (phrasing.references ?? [:])
                && reading?.project == phrasing.project
            #expect(correct, "\"\(phrasing.say)\" → \(String(describing: reading))")
            if correct { right += 1 }
        }
        print("agent natural language: \(right) of \(phrasings.count) phrasings read right")
        #expect(IntentParser.read("the weather in Paris tomorrow") == nil, "words no rule reads are not guessed at")
    }

    @Test("a plan looks names up as the caller and asks for what is missing; with execute it runs", arguments: DatabaseKind.available)
    func plans(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            let dataset = try #require(
                try await app.call(.post, "/api/v1/projects/\(project)/datasets", token: token, json: ["name": "reviews", "format": "csv"]).string(
                    "id"))
            let lineage = try await app.call(
                .post, "/api/v1/agent/natural-language", token: token,
                json: ["message": "show me the lineage of dataset reviews", "context": ["project_id": project], "execute": true])
            #expect(lineage.string("intent") == "datasets.get_dataset_lineage", "\(lineage.text)")
            #expect((lineage["params"] as? [String: Any])?["dataset_id"] as? String == dataset)
            #expect((lineage["execution"] as? [String: Any])?["status"] as? String == "succeeded", "\(lineage.text)")
            let unknown = try await app.call(
                .post, "/api/v1/agent/natural-language", token: token,
                json: ["message": "what versions does dataset nothere have", "context": ["project_id": project], "execute": true])
            #expect(unknown.string("intent") == "datasets.list_dataset_versions" && unknown["execution"] == nil, "\(unknown.text)")
            #expect((unknown["questions"] as? [String])?.first?.contains("no dataset named nothere") == true, "\(unknown.text)")
            let training = try await app.call(
                .post, "/api/v1/agent/natural-language", token: token,
                json: ["message": "Train a Llama-2 model on my customer service dataset using 4 A100 GPUs", "context": ["project_id": project]])
            #expect(training.string("intent") == "training.submit" && training["confirmation_required"] as? Bool == true, "\(training.text)")
            #expect((training["missing"] as? [String])?.contains("entrypoint") == true, "what it was not told, it asks: \(training.text)")
            #expect((training["params"] as? [String: Any])?["project_id"] as? String == project)
            let viewer = try await app.newMember(of: try await app.homeOrg(token), role: "viewer", by: token)
            let hidden = try await app.call(
                .post, "/api/v1/agent/natural-language", token: viewer.token,
                json: ["message": "what versions does dataset reviews have", "context": ["project_id": UUID().uuidString]])
            #expect((hidden["questions"] as? [String])?.isEmpty == false && hidden["execution"] == nil, "\(hidden.text)")
            let nonsense = try await app.call(.post, "/api/v1/agent/natural-language", token: token, json: ["message": "the weather in Paris"])
            #expect(nonsense["understood"] as? Bool == false, "\(nonsense.text)")
        }
    }
}
