import AITIPCore
import AITIPTestSupport
import App
import AsyncHTTPClient
import Foundation
import HTTPServer
import HTTPTypes
import NIOCore
import Testing

/// Inference services end to end: the real API, workload engine, local executor (sandboxed Python replicas serving
/// HTTP on their Unix socket), inference reconciler and gateway.
@Suite("Inference services and the gateway", .serialized)
struct InferenceTests {
    @Test(
        "a registered model version is deployed and answers through the gateway; scale 1 → 3 → 1; a killed replica is replaced",
        arguments: DatabaseKind.available)
    func lifecycle(_ kind: DatabaseKind) async throws {
        try await withInference(kind) { app, token, project in
            let code = try await app.replicaCode(token, project)
            let service = try await app.deploy(token, project, name: "echo", code: code)
            #expect(service["status"] as? String == "pending")
            #expect(service["model_uri"] as? String == "models:/echo-model/1")
            let id = try #require(service["id"] as? String)
            #expect(service["endpoint_url"] as? String == "/serve/\(id)/")
            try await app.waitForReady(id, token, replicas: 1)

            let answer = try await app.call(.post, "/serve/\(id)/predict", token: token, json: ["inputs": [1, 2, 3]])
            #expect(answer.status == 200, "\(answer.text)")
            #expect((answer["echo"] as? [String: Any])?["inputs"] as? [Int] == [1, 2, 3])
            #expect(answer.string("model") == "models:/echo-model/1")
            #expect(answer.string("path") == "/predict")
            #expect(answer.headers[HTTPField.Name("x-aitip-version")!] == "echo")
            #expect(answer.string("host") == "localhost", "the replica sees a host name, not the socket's path: \(answer.text)")
            let first = try #require(answer.string("replica"))

            let three = try await app.call(.post, "/api/v1/inference/services/\(id)/scale", token: token, json: ["replicas": 3])
            #expect(three.status == 200 && three["replicas"] as? Int == 3, "\(three.text)")
            try await app.waitForReady(id, token, replicas: 3)
            var seen: Set<String> = []
            for _ in 0..<60 {
                if let replica = try await app.call(.post, "/serve/\(id)/predict", token: token, json: [:]).string("replica") { seen.insert(replica) }
            }
            #expect(seen.count == 3, "least-outstanding with random ties spreads requests over every ready replica: \(seen)")

            #expect(try await app.call(.post, "/api/v1/inference/services/\(id)/scale", token: token, json: ["replicas": 1]).status == 200)
            try await eventually("scaled down to one replica") {
                let replicas = try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)["replica_list"] as? [[String: Any]] ?? []
                return replicas.count == 1 && replicas.first?["ready"] as? Bool == true
            }
            let survivor = try #require(try await app.call(.post, "/serve/\(id)/predict", token: token, json: [:]).string("replica"))

            // The replica dies: the reconciler notices, starts another, and the service answers again from the new one.
            _ = try await app.call(.get, "/serve/\(id)/crash", token: token)
            try await eventually("the dead replica is replaced") {
                let reply = try await app.call(.post, "/serve/\(id)/predict", token: token, json: [:])
                return reply.status == 200 && reply.string("replica") != survivor
            }
            #expect(survivor == first || seen.contains(survivor))
            // The crashed replica's log stays readable; the newest replica's is the default.
            let crashed = try await app.call(.get, "/api/v1/inference/services/\(id)/logs?replica=\(survivor)", token: token)
            #expect(crashed.status == 200 && crashed.text.contains("replica serving on /workspace/.aitip-serve.sock"), "\(crashed.text)")
            let newest = try await app.call(.get, "/api/v1/inference/services/\(id)/logs", token: token)
            #expect(newest.headers[HTTPField.Name("x-aitip-replica")!] != survivor)
            let foreign = try await app.call(.get, "/api/v1/inference/services/\(id)/logs?replica=\(UUID().uuidString)", token: token)
            #expect(foreign.status == 404)
            let view = try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)
            #expect(view["status"] as? String == "running" && view["health_status"] as? String == "healthy", "\(view.text)")

            // Stopped: out of the gateway at once, replicas drained and stopped.
            let stopped = try await app.call(.post, "/api/v1/inference/services/\(id)/stop", token: token)
            #expect(stopped["status"] as? String == "stopped")
            #expect(try await app.call(.post, "/serve/\(id)/predict", token: token, json: [:]).status == 503)
            try await eventually("the replicas of a stopped service end") {
                (try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)["replica_list"] as? [[String: Any]] ?? []).isEmpty
            }
            #expect(try await app.call(.delete, "/api/v1/inference/services/\(id)", token: token).status == 204)
            #expect(try await app.call(.get, "/api/v1/inference/services/\(id)", token: token).status == 404)
        }
    }

    @Test(
        "a 90/10 canary split holds within ±3 % over 2,000 requests; a header routes to its canary; consecutive canaries leak nothing",
        arguments: DatabaseKind.available)
    func canaries(_ kind: DatabaseKind) async throws {
        try await withInference(kind) { app, token, project in
            let code = try await app.replicaCode(token, project)
            let stable = try #require(try await app.deploy(token, project, name: "stable", code: code)["id"] as? String)
            let canary = try #require(
                try await app.deploy(token, project, name: "canary-a", code: code, extra: ["parent_service_id": stable, "traffic_percentage": 10])[
                    "id"] as? String)
            try await app.waitForReady(stable, token, replicas: 1)
            try await app.waitForReady(canary, token, replicas: 1)

            var counts: [String: Int] = [:]
            for _ in 0..<2_000 {
                let reply = try await app.call(.post, "/serve/\(stable)/predict", token: token, json: [:])
                try #require(reply.status == 200, "\(reply.text)")
                counts[reply.string("service") ?? "?", default: 0] += 1
            }
            let share = Double(counts["canary-a"] ?? 0) / 2_000
            #expect(abs(share - 0.10) <= 0.03, "canary share \(share) of 2,000 requests: \(counts)")
            #expect(counts.keys.sorted() == ["canary-a", "stable"])
            let metrics = try await app.call(.get, "/api/v1/inference/services/\(stable)/metrics", token: token)
            let versions = metrics["versions"] as? [[String: Any]] ?? []
            #expect(versions.first { $0["name"] as? String == "canary-a" }?["traffic_share"] as? Int == 10, "\(metrics.text)")
            #expect(versions.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } == 2_000, "\(metrics.text)")

            // A/B by header: the header's requests all go to the canary that matches it, the rest keep the split.
            let header = try await app.call(
                .put, "/api/v1/inference/services/\(canary)", token: token, json: ["route_header": ["name": "X-Variant", "value": "b"]])
            #expect(header.status == 200, "\(header.text)")
            for _ in 0..<50 {
                let reply = try await app.call(
                    .post, "/serve/\(stable)/predict", token: token, json: [:], headers: [HTTPField.Name("X-Variant")!: "b"])
                #expect(reply.string("service") == "canary-a")
            }

            // Consecutive canaries: once the first is deleted (the call has returned), no request reaches it.
            #expect(try await app.call(.delete, "/api/v1/inference/services/\(canary)", token: token).status == 204)
            let next = try #require(
                try await app.deploy(token, project, name: "canary-b", code: code, extra: ["parent_service_id": stable, "traffic_percentage": 50])[
                    "id"] as? String)
            var after: [String: Int] = [:]
            for _ in 0..<300 {
                let reply = try await app.call(
                    .post, "/serve/\(stable)/predict", token: token, json: [:], headers: [HTTPField.Name("X-Variant")!: "b"])
                after[reply.string("service") ?? "status \(reply.status)", default: 0] += 1
            }
            #expect(after["canary-a"] == nil, "a deleted canary took requests: \(after)")
            try await app.waitForReady(next, token, replicas: 1)
            try await eventually("the new canary takes its share") {
                try await app.call(.post, "/serve/\(stable)/predict", token: token, json: [:]).string("service") == "canary-b"
            }
            // Shares cannot add up to more than 100 %.
            let greedy = try await app.call(
                .post, "/api/v1/inference/services", token: token,
                json: app.serviceBody(project, name: "greedy", code: code).merging(["parent_service_id": stable, "traffic_percentage": 60]) { $1 })
            #expect(greedy.status == 422 && greedy.text.contains("more than 100"), "\(greedy.text)")
            #expect(try await app.call(.delete, "/api/v1/inference/services/\(stable)", token: token).status == 409)
            // A stopped stable service's endpoint answers nothing, its canaries' share included; a canary still answers at its own.
            #expect(try await app.call(.post, "/api/v1/inference/services/\(stable)/stop", token: token).status == 200)
            #expect(try await app.call(.post, "/serve/\(stable)/predict", token: token, json: [:]).status == 503)
            #expect(try await app.call(.post, "/serve/\(next)/predict", token: token, json: [:]).string("service") == "canary-b")
        }
    }

    @Test(
        "invoking needs inference:invoke in the service's project; the caller's credentials never reach the replica; bad input is refused",
        arguments: DatabaseKind.available)
    func access(_ kind: DatabaseKind) async throws {
        try await withInference(kind) { app, token, project in
            let code = try await app.replicaCode(token, project)
            let id = try #require(try await app.deploy(token, project, name: "guarded", code: code)["id"] as? String)
            try await app.waitForReady(id, token, replicas: 1)

            #expect(try await app.call(.post, "/serve/\(id)/predict", json: [:]).status == 401)
            let readOnly = try #require(
                try await app.call(.post, "/api/v1/auth/api-keys", token: token, json: ["name": "reader", "scopes": ["inference:read"]]).string("key")
            )
            let refused = try await app.call(.post, "/serve/\(id)/predict", token: readOnly, json: [:])
            #expect(refused.status == 403 && refused.text.contains("inference:invoke"), "\(refused.text)")
            let invoker = try #require(
                try await app.call(.post, "/api/v1/auth/api-keys", token: token, json: ["name": "invoker", "scopes": ["inference:invoke"]]).string(
                    "key"))
            let allowed = try await app.call(.post, "/serve/\(id)/predict", token: invoker, json: [:])
            #expect(allowed.status == 200, "\(allowed.text)")
            #expect(allowed["authorization"] is NSNull, "the replica saw the caller's credentials: \(allowed.text)")
            let stranger = try await app.newTenant()
            #expect(try await app.call(.post, "/serve/\(id)/predict", token: stranger.token, json: [:]).status == 404)
            #expect(try await app.call(.get, "/api/v1/inference/services/\(id)", token: stranger.token).status == 404)
            #expect(try await app.call(.post, "/serve/\(UUID().uuidString.lowercased())/predict", token: token, json: [:]).status == 404)

            for (body, field) in [
                (["runtime": "triton"], "runtime"), (["model": "models:/nope/1"], "model"), (["model": "runs:/x/model"], "model"),
                (["name": "Bad Name"], "name"), (["replicas": 5, "max_replicas": 2], "replicas"),
                // The mlflow runtime serves MLflow models only, and owns the command.
                (["runtime": "mlflow", "runtime_config": [String: Any]()], "has no MLmodel file"),
                (["runtime": "mlflow", "runtime_config": ["command": "exec sh"]], "aitip sets the command"),
                (["runtime": "mlflow", "runtime_config": ["python": "python3 -c evil"]], "runtime_config.python"),
                // Found by the API fuzzer: a negative maximum once trapped the server while checking it.
                (["min_replicas": 3_204_695, "replicas": -1691, "max_replicas": -1_205_876], "max_replicas"),
                (["traffic_percentage": 30], "traffic_percentage"), (["runtime_config": ["health_path": "/x"]], "runtime_config"),
            ] as [([String: Any], String)] {
                let reply = try await app.call(
                    .post, "/api/v1/inference/services", token: token,
                    json: app.serviceBody(project, name: "bad", code: code).merging(body) { $1 })
                #expect(reply.status == 422 || reply.status == 400, "\(body): \(reply.text)")
                #expect(reply.text.contains(field), "\(body): \(reply.text)")
            }
            // A per-service rate limit: beyond it the gateway answers 429 with Retry-After, and the replica sees nothing.
            let limited = try await app.call(.put, "/api/v1/inference/services/\(id)", token: token, json: ["rate_limit_rps": 2])
            #expect(limited.status == 200 && limited["rate_limit_rps"] as? Double == 2, "\(limited.text)")
            let before = try await app.forwardedRequests(id, token)
            var replies: [Reply] = []
            for _ in 0..<8 { replies.append(try await app.call(.post, "/serve/\(id)/predict", token: invoker, json: [:])) }
            let passed = replies.filter { $0.status == 200 }.count
            let refusal = try #require(replies.first { $0.status == 429 }, "no request was refused: \(replies.map(\.status))")
            #expect(passed >= 2 && passed < 8, "\(replies.map(\.status))")
            #expect(Int(refusal.headers[.retryAfter] ?? "") ?? 0 >= 1 && refusal.text.contains("rate_limit_rps"), "\(refusal.text)")
            #expect(try await app.forwardedRequests(id, token) == before + passed, "refused requests reached the replica")
            for bad in [-1, 1e-300, 1e300] {
                #expect(try await app.call(.put, "/api/v1/inference/services/\(id)", token: token, json: ["rate_limit_rps": bad]).status == 422)
            }
            let unlimited = try await app.call(.put, "/api/v1/inference/services/\(id)", token: token, json: ["rate_limit_rps": 0])
            #expect(unlimited.status == 200 && unlimited["rate_limit_rps"] == nil, "\(unlimited.text)")
            for _ in 0..<8 { #expect(try await app.call(.post, "/serve/\(id)/predict", token: invoker, json: [:]).status == 200) }

            let negative = try await app.call(
                .put, "/api/v1/inference/services/\(id)", token: token, json: ["min_replicas": 4, "max_replicas": -3])
            #expect(negative.status == 422 && negative.text.contains("max_replicas"), "\(negative.text)")
            let list = try await app.call(.get, "/api/v1/inference/services?project_id=\(project)", token: token)
            #expect(list.items.map { $0["name"] as? String } == ["guarded"], "nothing half-created: \(list.text)")
            #expect(list.items.first?["max_replicas"] as? Int == 10, "the refused update changed nothing: \(list.text)")
            let duplicate = try await app.call(
                .post, "/api/v1/inference/services", token: token, json: app.serviceBody(project, name: "guarded", code: code))
            #expect(duplicate.status == 409)
        }
    }

    @Test(
        "autoscaling on concurrency: a sustained load adds replicas up to the maximum; they go once the load has stayed low for the window",
        arguments: DatabaseKind.available)
    func autoscaling(_ kind: DatabaseKind) async throws {
        try await withInference(kind) { app, token, project in
            let code = try await app.replicaCode(token, project)
            let id = try #require(
                try await app.deploy(
                    token, project, name: "elastic", code: code,
                    extra: [
                        "min_replicas": 1, "max_replicas": 3,
                        "autoscaling": ["metric": "concurrency", "target": 1, "scale_down_window_seconds": 3],
                    ])["id"] as? String)
            try await app.waitForReady(id, token, replicas: 1)
            // Four callers at once, each request taking a second: four replicas' worth, capped at three.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let deadline = ContinuousClock.now + .seconds(10)
                        while ContinuousClock.now < deadline {
                            _ = try await app.call(.post, "/serve/\(id)/slow", token: token, json: [:])
                        }
                    }
                }
                try await eventually("the autoscaler adds replicas, and they become ready while the load lasts", timeout: .seconds(10)) {
                    let view = try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)
                    let ready = (view["replica_list"] as? [[String: Any]] ?? []).filter { $0["ready"] as? Bool == true }
                    return view["replicas"] as? Int == 3 && ready.count == 3
                }
                try await group.waitForAll()
            }
            try await eventually("the replicas go once the load has stayed low for the window", timeout: .seconds(20)) {
                try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)["replicas"] as? Int == 1
            }
            let org = try await app.homeOrg(token)
            let decisions = try await app.auditEntries(org: org, token: token, query: "&action=inference.autoscale")
            #expect(decisions.count >= 2, "every change is audited with its figures: \(decisions)")
            #expect(decisions.contains { ($0["detail"] as? String)?.contains("to 3 replicas (concurrency") == true }, "\(decisions)")
        }
    }

    @Test(
        "shadow traffic: a shadow canary gets a copy of its share of the requests, answers no caller, and is measured like any version",
        arguments: DatabaseKind.available)
    func shadowTraffic(_ kind: DatabaseKind) async throws {
        try await withInference(kind) { app, token, project in
            let code = try await app.replicaCode(token, project)
            let live = try #require(try await app.deploy(token, project, name: "live", code: code)["id"] as? String)
            let shadow = try #require(
                try await app.deploy(
                    token, project, name: "mirror", code: code, extra: ["parent_service_id": live, "traffic_percentage": 100, "shadow": true]
                )["id"] as? String)
            try await app.waitForReady(live, token, replicas: 1)
            try await app.waitForReady(shadow, token, replicas: 1)
            for _ in 0..<40 {
                let reply = try await app.call(.post, "/serve/\(live)/predict", token: token, json: [:])
                #expect(reply.status == 200 && reply.string("service") == "live", "\(reply.text)")
            }
            try await eventually("every request was copied to the shadow (its answers dropped)") {
                try await app.forwardedRequests(shadow, token) == 40
            }
            #expect(try await app.forwardedRequests(live, token) == 40)
            // A shadow's share is of copies: a live canary may still take all the requests, and a shadow cannot have a route.
            let allIn = try await app.call(
                .post, "/api/v1/inference/services", token: token,
                json: app.serviceBody(project, name: "all-in", code: code).merging(["parent_service_id": live, "traffic_percentage": 100]) { $1 })
            #expect(allIn.status == 201, "\(allIn.text)")
            let routed = try await app.call(
                .put, "/api/v1/inference/services/\(shadow)", token: token, json: ["route_header": ["name": "X-Variant", "value": "b"]])
            #expect(routed.status == 422 && routed.text.contains("shadow"), "\(routed.text)")
            let promoted = try await app.call(.put, "/api/v1/inference/services/\(shadow)", token: token, json: ["shadow": false])
            #expect(promoted.status == 422 && promoted.text.contains("more than 100"), "\(promoted.text)")
            let stable = try await app.call(
                .post, "/api/v1/inference/services", token: token,
                json: app.serviceBody(project, name: "lonely", code: code).merging(["shadow": true]) { $1 })
            #expect(stable.status == 422 && stable.text.contains("shadow"), "\(stable.text)")
            #expect(try await app.call(.get, "/api/v1/inference/services/\(shadow)", token: token)["shadow"] as? Bool == true)
        }
    }

    @Test(
        "scale to zero: with min_replicas 0 an idle service gives up its replica; the next request waits while one starts, and is answered",
        arguments: DatabaseKind.available)
    func scaleToZero(_ kind: DatabaseKind) async throws {
        try await withInference(kind) { app, token, project in
            let code = try await app.replicaCode(token, project)
            let id = try #require(
                try await app.deploy(
                    token, project, name: "sleepy", code: code,
                    extra: [
                        "min_replicas": 0, "max_replicas": 2, "replicas": 1,
                        "autoscaling": ["metric": "rps", "target": 50, "scale_down_window_seconds": 2],
                    ])["id"] as? String)
            try await app.waitForReady(id, token, replicas: 1)
            let first = try await app.call(.post, "/serve/\(id)/predict", token: token, json: [:])
            #expect(first.status == 200, "\(first.status) \(first.text)")
            try await eventually("two seconds without a request take the service to zero replicas", timeout: .seconds(20)) {
                let view = try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)
                let live = (view["replica_list"] as? [[String: Any]] ?? []).filter {
                    !["succeeded", "failed", "cancelled"].contains($0["state"] as? String ?? "")
                }
                return view["replicas"] as? Int == 0 && live.isEmpty && view["status"] as? String == "running"
            }
            // The request is held while a replica starts and becomes ready, then answered by it.
            let answer = try await app.call(.post, "/serve/\(id)/predict", token: token, json: [:])
            #expect(answer.status == 200, "\(answer.text)")
            let view = try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)
            #expect(view["replicas"] as? Int == 1)
            let org = try await app.homeOrg(token)
            let decisions = try await app.auditEntries(org: org, token: token, query: "&action=inference.autoscale").compactMap {
                $0["detail"] as? String
            }
            #expect(decisions.contains("from 1 to 0 replicas (no request for 2 s)"), "\(decisions)")
            #expect(decisions.contains("from 0 to 1 replicas (a request is waiting)"), "\(decisions)")
        }
    }

    @Test(
        "after a server restart the running replica is adopted and checked again, not started twice, and answers",
        arguments: DatabaseKind.available)
    func restart(_ kind: DatabaseKind) async throws {
        try await withApp(kind, settings: TrainingJobTests.settings) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            let (id, replica) = try await runInferenceWorkers(app) {
                let code = try await app.replicaCode(token, project)
                let id = try #require(try await app.deploy(token, project, name: "durable", code: code)["id"] as? String)
                try await app.waitForReady(id, token, replicas: 1)
                return (id, try #require(try await app.call(.post, "/serve/\(id)/predict", token: token, json: [:]).string("replica")))
            }
            // A new server on the same database and data directory: nothing of the first one's memory is left.
            try await app.restarted(settings: TrainingJobTests.settings) { second in
                try await runInferenceWorkers(second) {
                    try await second.waitForReady(id, token, replicas: 1)
                    let answer = try await second.call(.post, "/serve/\(id)/predict", token: token, json: [:])
                    #expect(answer.status == 200 && answer.string("replica") == replica, "the adopted replica answers: \(answer.text)")
                    let replicas = try await second.call(.get, "/api/v1/inference/services/\(id)", token: token)["replica_list"] as? [[String: Any]]
                    #expect(replicas?.map { $0["workload_id"] as? String } == [replica])
                }
            }
        }
    }

    @Test(
        "a streamed answer passes through the gateway chunk by chunk; the metrics stream over a WebSocket and refuse strangers",
        arguments: DatabaseKind.available)
    func streaming(_ kind: DatabaseKind) async throws {
        try await withInference(kind, live: true) { app, token, project in
            let code = try await app.replicaCode(token, project)
            let id = try #require(try await app.deploy(token, project, name: "streamer", code: code)["id"] as? String)
            try await app.waitForReady(id, token, replicas: 1)
            let port = try #require(app.client.port)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/serve/\(id)/stream")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var chunks = response.body.makeAsyncIterator()
            var received = ""
            // The replica holds its second event until /release is called: a gateway that buffered would never
            // hand over the first one, and this loop would time out.
            while !received.contains("data: first") {
                guard let chunk = try await chunks.next() else { break }
                received += String(buffer: chunk)
            }
            #expect(received == "data: first\n\n")
            #expect(try await app.call(.get, "/serve/\(id)/release", token: token).status == 200)
            while let chunk = try await chunks.next() { received += String(buffer: chunk) }
            #expect(received == "data: first\n\ndata: second\n\n")

            // WS /ws/inference/{id}/metrics: the metrics as GET answers them, a message per interval, until deleted.
            let snapshots = MessageBox()
            try await app.client.ws(
                "/ws/inference/\(id)/metrics?interval_ms=250", configuration: .init(additionalHeaders: [.authorization: "Bearer \(token)"])
            ) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                    else { continue }
                    snapshots.append(object)
                    if snapshots.items.count == 3 { break }
                }
            }
            #expect(snapshots.items.count == 3)
            let versions = snapshots.items.last?["versions"] as? [[String: Any]] ?? []
            #expect(versions.first?["name"] as? String == "streamer" && (versions.first?["requests"] as? Int ?? 0) >= 2, "\(snapshots.items)")
            let stranger = try await app.newTenant()
            await #expect(throws: (any Error).self) {
                try await app.webSocketMessages("/ws/inference/\(id)/metrics", headers: [.authorization: "Bearer \(stranger.token)"])
            }
        }
    }
}

/// A fresh app with its workload engine, inference reconciler and gateway running, the admin's token and project.
func withInference(
    _ kind: DatabaseKind, live: Bool = false, _ body: @Sendable (TestApp, String, String) async throws -> Void
) async throws {
    try await withApp(kind, settings: TrainingJobTests.settings, live: live) { app in
        let token = try await app.adminToken()
        let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
        try await runInferenceWorkers(app) { try await body(app, token, project) }
    }
}

/// Runs `body` while the app's engine, inference reconciler and gateway run, then stops them as a shutdown does
/// (replicas keep running).
func runInferenceWorkers<Result: Sendable>(_ app: TestApp, _ body: @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.parts.engine.run() }
        group.addTask { await app.parts.inferenceReconciler.run() }
        group.addTask { await app.parts.dependencies.inference.gateway.run() }
        do {
            let result = try await body()
            group.cancelAll()
            try? await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

extension TestApp {
    /// A replica server (Python's standard library only): `/health`, `POST /…` echoes the body with who answered,
    /// `/stream` sends one event, waits for `/release`, sends another; `/crash` exits.
    static let replicaServer = #"""
        import http.server, json, os, socketserver, threading, time
        SOCKET = os.environ["AITIP_SERVE_SOCKET"]
        released = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def address_string(self): return "gateway"
            def reply(self, code, payload):
                body = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def chunk(self, data):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            def do_GET(self):
                if self.path == "/health": return self.reply(200, {"ok": True})
                if self.path == "/release":
                    released.set()
                    return self.reply(200, {})
                if self.path == "/crash": os._exit(3)
                if self.path == "/stream":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.chunk(b"data: first\n\n")
                    released.wait(60)
                    self.chunk(b"data: second\n\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.reply(404, {"error": "no such path"})
            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/slow": time.sleep(1)
                if os.environ.get("REPLICA_FAILS") == "1": return self.reply(500, {"error": "injected"})
                self.reply(200, {
                    "replica": os.environ["AITIP_WORKLOAD_ID"], "service": os.environ["AITIP_SERVICE_NAME"],
                    "model": os.environ["AITIP_MODEL_URI"], "path": self.path, "echo": json.loads(data or b"null"),
                    "authorization": self.headers.get("Authorization"), "host": self.headers.get("Host")})

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True
            def get_request(self):
                connection, _ = self.socket.accept()
                return connection, ("gateway", 0)

        if os.path.exists(SOCKET): os.unlink(SOCKET)
        print("replica serving on", SOCKET, flush=True)
        Server(SOCKET, Handler).serve_forever()
        """#

    /// Registers `echo-model` version 1 (unless told not to) and uploads the replica server; answers the code
    /// package's sha256.
    func replicaCode(_ token: String, _ project: String, registering: Bool = true) async throws -> String {
        if registering { try await registerEchoModel(token) }
        let package = try CodeArchiveFixture.make(["serve.py": Self.replicaServer])
        let uploaded = try await callBytes(
            .post, "/api/v1/training/code?project_id=\(project)", token: token, body: package, contentType: "application/gzip")
        return try #require(uploaded.string("sha256"), "\(uploaded.text)")
    }

    private func registerEchoModel(_ token: String) async throws {
        let experiment = try #require(
            try await call(.post, "/api/2.0/mlflow/experiments/create", token: token, json: ["name": "serving"]).string("experiment_id"))
        let run = try #require(
            ((try await call(.post, "/api/2.0/mlflow/runs/create", token: token, json: ["experiment_id": experiment])["run"] as? [String: Any])?[
                "info"]
                as? [String: Any])?["run_id"] as? String)
        try #require(try await call(.post, "/api/2.0/mlflow/registered-models/create", token: token, json: ["name": "echo-model"]).status == 200)
        try #require(
            try await call(
                .post, "/api/2.0/mlflow/model-versions/create", token: token,
                json: ["name": "echo-model", "source": "runs:/\(run)/model", "run_id": run]
            ).status == 200)
    }

    /// The requests the gateway forwarded to the service's own replicas, from its metrics.
    func forwardedRequests(_ id: String, _ token: String) async throws -> Int {
        let metrics = try await call(.get, "/api/v1/inference/services/\(id)/metrics", token: token)
        let versions = metrics["versions"] as? [[String: Any]] ?? []
        return versions.first { $0["service_id"] as? String == id }?["requests"] as? Int ?? 0
    }

    func serviceBody(_ project: String, name: String, code: String) -> [String: Any] {
        [
            "project_id": project, "name": name, "model": "models:/echo-model/1", "runtime": "process",
            "runtime_config": ["command": "exec python3 serve.py", "health_path": "/health", "code_archive": code],
            "resources": ["cpu": 0.1, "memory_mib": 128],
        ]
    }

    func deploy(_ token: String, _ project: String, name: String, code: String, extra: [String: Any] = [:]) async throws -> [String: Any] {
        let reply = try await call(
            .post, "/api/v1/inference/services", token: token, json: serviceBody(project, name: name, code: code).merging(extra) { $1 })
        try #require(reply.status == 201, "deploy failed: \(reply.text)")
        return reply.json
    }

    /// Waits until the service has `replicas` replicas, all ready.
    func waitForReady(_ id: String, _ token: String, replicas: Int) async throws {
        try await eventually("service \(id) has \(replicas) ready replicas", timeout: .seconds(60)) {
            let view = try await call(.get, "/api/v1/inference/services/\(id)", token: token)
            let list = view["replica_list"] as? [[String: Any]] ?? []
            return list.count == replicas && list.allSatisfy { $0["ready"] as? Bool == true } && view["status"] as? String == "running"
        }
    }
}
