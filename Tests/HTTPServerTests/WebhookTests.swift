import AITIPCore
import AITIPTestSupport
import Events
import Foundation
import HTTPTypes
import SQLKit
import Testing

/// Registry webhooks through the MLflow API: who may manage them, what they may reach, when events are queued. (The
/// real client creates them and a real receiver checks deliveries, signatures and retries in pytests/mlflow.)
@Suite("Events")
struct WebhookTests {
    static let api = "/api/2.0/mlflow"

    @Test(
        "addresses a webhook may not reach by default",
        arguments: [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
            "255.255.255.255", "192.0.2.10", "::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
            "64:ff9b::a00:1", "2001:db8::1",
        ])
    func privateAddresses(address: String) throws {
        #expect(try #require(IPBytes(address)).isPublic == false)
        #expect(throws: AppError.self) {
            try OutboundURL.validate("http://\(address.contains(":") ? "[\(address)]" : address)/hook", allowPrivate: false)
        }
    }

    @Test("public addresses, names and URL forms")
    func publicAddresses() throws {
        for address in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "172.32.0.1", "100.128.0.1"] {
            #expect(try #require(IPBytes(address)).isPublic, "\(address)")
        }
        #expect(IPBytes("hooks.example.com") == nil)
        _ = try OutboundURL.validate("https://hooks.example.com/aitip?x=1", allowPrivate: false)
        _ = try OutboundURL.validate("http://127.0.0.1:9/hook", allowPrivate: true)
        for bad in ["ftp://example.com/", "file:///etc/passwd", "https://user:pass@example.com/", "http:///nohost", "not a url", "gopher://x"] {
            #expect(throws: AppError.self, "\(bad)") { try OutboundURL.validate(bad, allowPrivate: true) }
        }
    }

    @Test("signatures are MLflow's: v1, base64 HMAC-SHA256 of delivery id, timestamp and body")
    func signature() {
        // python3: "v1," + base64(hmac.new(b"whsec", b'd-1.1700000000.{"a":1}', sha256).digest())
        #expect(
            WebhookDeliverer.signature(secret: "whsec", deliveryId: "d-1", timestamp: "1700000000", body: #"{"a":1}"#)
                == "v1,lfgwuxi7VfLFpEfOs47qtOLXDhvghvmJm8flIv6Ie6g=")
    }

    @Test("by default a webhook cannot reach this machine or a private network, even through a name", arguments: DatabaseKind.available)
    func refusedTargets(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let literal = try await app.call(
                .post, "\(Self.api)/webhooks", token: token,
                json: [
                    "name": "metadata", "url": "http://169.254.169.254/latest/meta-data",
                    "events": [["entity": "MODEL_VERSION", "action": "CREATED"]],
                ])
            #expect(literal.status == 400 && literal.text.contains("private or reserved"), "\(literal.text)")
            // A name is checked where it leads when a request is sent: localhost is loopback.
            let named = try await app.call(
                .post, "\(Self.api)/webhooks", token: token,
                json: [
                    "name": "local", "url": "http://localhost:9/hook", "events": [["entity": "REGISTERED_MODEL", "action": "CREATED"]], "secret": "x",
                ])
            let id = try #require((named["webhook"] as? [String: Any])?["webhook_id"] as? String, "\(named.text)")
            #expect((named["webhook"] as? [String: Any])?["secret"] == nil, "the secret is never returned")
            let test = try await app.call(.post, "\(Self.api)/webhooks/\(id)/test", token: token, json: [:])
            let result = try #require(test["result"] as? [String: Any], "\(test.text)")
            #expect(result["success"] as? Bool == false)
            #expect((result["error_message"] as? String)?.contains("private or reserved address") == true, "\(result)")
        }
    }

    @Test("events are queued for the project's active subscribers only, with the change, and bad input is refused", arguments: DatabaseKind.available)
    func queuing(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            func create(_ name: String, _ events: [[String: String]], token: String, status: String = "ACTIVE") async throws -> Reply {
                try await app.call(
                    .post, "\(Self.api)/webhooks", token: token,
                    json: ["name": name, "url": "https://hooks.example.com/\(name)", "events": events, "status": status])
            }
            let versions = [["entity": "MODEL_VERSION", "action": "CREATED"]]
            let created = try await create("active", versions, token: token)
            let active = try #require(created["webhook"] as? [String: Any], "\(created.text)")
            _ = try await create("off", versions, token: token, status: "DISABLED")
            _ = try await create("aliases", [["entity": "MODEL_VERSION_ALIAS", "action": "CREATED"]], token: token)
            let stranger = try await app.newTenant()
            _ = try await create("theirs", versions, token: stranger.token)

            #expect(try await create("bad", [["entity": "PROMPT", "action": "CREATED"]], token: token).status == 400)
            #expect(try await create("bad", [], token: token).status == 400)
            #expect(try await create("", versions, token: token).status == 400)
            let activeId = try #require(active["webhook_id"] as? String)
            #expect(try await app.call(.get, "\(Self.api)/webhooks/\(activeId)", token: stranger.token).status == 404)

            _ = try await app.call(.post, "\(Self.api)/registered-models/create", token: token, json: ["name": "hooked"])
            let experimentReply = try await app.call(.post, "\(Self.api)/experiments/create", token: token, json: ["name": "wh"])
            let experiment = try #require(experimentReply.string("experiment_id"))
            let run = try await app.call(.post, "\(Self.api)/runs/create", token: token, json: ["experiment_id": experiment])
            let runId = try #require((run["run"] as? [String: Any]).flatMap { ($0["info"] as? [String: Any])?["run_id"] as? String })
            let version = try await app.call(
                .post, "\(Self.api)/model-versions/create", token: token, json: ["name": "hooked", "source": "runs:/\(runId)/model", "run_id": runId])
            #expect(version.status == 200, "\(version.text)")
            // A refused change queues nothing.
            #expect(
                try await app.call(.post, "\(Self.api)/model-versions/create", token: token, json: ["name": "hooked", "source": "s3://x/y"]).status
                    == 400)

            let queued = try await app.parts.database.read { sql in
                try await sql.raw(
                    "SELECT w.name AS name, d.event AS event, d.payload AS payload FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
                ).all().map {
                    (
                        try $0.decode(column: "name", as: String.self), try $0.decode(column: "event", as: String.self),
                        try $0.decode(column: "payload", as: String.self)
                    )
                }
            }
            #expect(queued.map(\.0) == ["active"] && queued.map(\.1) == ["model_version.created"], "\(queued)")
            let first = try #require(queued.first)
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(first.2.utf8)) as? [String: Any])
            #expect(payload["name"] as? String == "hooked" && payload["version"] as? String == "1" && payload["run_id"] as? String == runId)
        }
    }
}
