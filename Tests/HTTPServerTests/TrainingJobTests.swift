import AITIPCore
import AITIPTestSupport
import App
import Foundation
import HTTPServer
import HTTPTypes
import HummingbirdWSTesting
import SQLKit
import Testing

/// Training jobs end to end: the real API, scheduler loop and local executor (real child processes) on a node
/// with 4 simulated a100 GPUs.
@Suite("Training jobs and the workload engine", .serialized)
struct TrainingJobTests {
    static let settings = ["simulate_gpus": "a100:4", "grace_period": "1", "scheduler_tick_ms": "50"]

    @Test("lifecycle: queued → admitted → starting → running → succeeded, with logs, SSE, metrics, events, delete", arguments: DatabaseKind.available)
    func lifecycle(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let job = try await app.submit(
                token, project, name: "hello", gpus: 2,
                entrypoint:
                    "echo start; echo aitip.metric loss=0.5 step=1; echo aitip.metric loss=0.25 step=2; echo gpus=$CUDA_VISIBLE_DEVICES config=$AITIP_JOB_CONFIG",
                extra: ["config": ["lr": 0.1], "framework": "sklearn"])
            #expect(job.status == "queued")
            let done = try await app.waitFor(job.id, token, ["succeeded"])
            #expect(done["exit_code"] as? Int == 0)
            #expect((done["placement"] as? [[String: Any]])?.first?["gpu_indices"] as? [Int] == [0, 1])
            let log = try await app.call(.get, "/api/v1/training/jobs/\(job.id)/logs", token: token)
            #expect(log.text.contains("gpus=0,1 config={\"lr\":0.1}"))
            let events = try await app.call(.get, "/api/v1/training/jobs/\(job.id)/logs?follow=true", token: token)
            #expect(events.headers[.contentType]?.hasPrefix("text/event-stream") == true)
            #expect(events.text.contains("event: line\ndata: start\n"))
            #expect(events.text.hasSuffix("event: end\ndata: succeeded\n\n"))
            let resumed = try await app.call(
                .get, "/api/v1/training/jobs/\(job.id)/logs?follow=true", token: token, headers: [.init("Last-Event-ID")!: "6"])
            #expect(!resumed.text.contains("data: start\n") && resumed.text.contains("data: aitip.metric loss=0.5 step=1"))
            let metrics = try await app.call(.get, "/api/v1/training/jobs/\(job.id)/metrics", token: token)
            let loss = try #require((metrics["metrics"] as? [String: Any])?["loss"] as? [[String: Any]])
            #expect(loss.map { $0["value"] as? Double } == [0.5, 0.25])
            let transitions = try await app.call(.get, "/api/v1/training/jobs/\(job.id)/events", token: token).items.map { $0["to"] as? String ?? "" }
            #expect(transitions == ["pending", "queued", "admitted", "starting", "running", "succeeded"])
            #expect(try await app.call(.delete, "/api/v1/training/jobs/\(job.id)", token: token).status == 204)
            #expect(try await app.call(.get, "/api/v1/training/jobs/\(job.id)", token: token).status == 404)
            let actions = try await app.auditEntries(org: try await app.homeOrg(token), token: token).map { $0["action"] as? String ?? "" }
            #expect(actions.contains("training.submit") && actions.contains("training.delete"))
        }
    }

    @Test(
        "Idempotency-Key: a repeat gets the first job back; a different request with the key is refused; failures and expiry free it",
        arguments: DatabaseKind.available)
    func idempotentSubmission(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            func submit(_ body: String, key: String) async throws -> Reply {
                try await app.call(.post, "/api/v1/training/jobs", token: token, raw: body, headers: [.init("Idempotency-Key")!: key])
            }
            func claim(_ key: String, _ change: String) async throws {
                try await app.parts.database.transaction { sql in
                    try await sql.raw(SQLQueryString("UPDATE idempotency_keys SET \(unsafeRaw: change) WHERE key = '\(unsafeRaw: key)'")).run()
                }
            }
            let once =
                #"{"project_id":"\#(project)","name":"once","entrypoint":"true","resources":{"gpu_type":"a100","gpu_count":1,"cpu":0.1,"memory_mib":64}}"#
            let first = try await submit(once, key: "submit-1")
            #expect(first.status == 201 && first.headers[.init("Idempotency-Replayed")!] == nil)
            let repeated = try await submit(once, key: "submit-1")
            #expect(repeated.status == 201 && repeated.string("id") == first.string("id"))
            #expect(repeated.headers[.init("Idempotency-Replayed")!] == "true")
            let jobs = try await app.call(.get, "/api/v1/training/jobs?project_id=\(project)", token: token).items
            #expect(jobs.filter { $0["name"] as? String == "once" }.count == 1)

            let twice = once.replacingOccurrences(of: #""name":"once""#, with: #""name":"twice""#)
            let reused = try await submit(twice, key: "submit-1")
            #expect(reused.status == 422 && reused.text.contains("different request"))
            #expect(try await submit(once, key: "has space").status == 400)

            // A request that fails frees its key for the corrected one.
            let incomplete = #"{"project_id":"\#(project)","name":"twice"}"#
            #expect(try await submit(incomplete, key: "submit-2").status == 422)
            let corrected = try await submit(twice, key: "submit-2")
            #expect(corrected.status == 201 && corrected.string("id") != first.string("id"))

            // While the first request with a key is still being answered, a repeat is told to wait.
            try await claim("submit-1", "status = NULL")
            let early = try await submit(once, key: "submit-1")
            #expect(early.status == 409 && early.text.contains("still being processed"))
            // After the key expired, the same request is new work.
            try await claim("submit-1", "created_ms = 0")
            let later = try await submit(once, key: "submit-1")
            #expect(later.status == 201 && later.string("id") != first.string("id") && later.headers[.init("Idempotency-Replayed")!] == nil)
        }
    }

    @Test("bad input gets a clear error and creates nothing", arguments: DatabaseKind.available)
    func badInput(_ kind: DatabaseKind) async throws {
        try await withEngine(kind, settings: ["max_code_bytes": "2048"]) { app, token, project in
            func submit(_ body: [String: Any]) async throws -> Reply {
                try await app.call(.post, "/api/v1/training/jobs", token: token, json: body.merging(["project_id": project]) { $1 })
            }
            let missing = try await submit(["name": "x"])
            #expect(missing.status == 422 && missing.text.contains("entrypoint"))
            let unknownType = try await submit(["name": "x", "entrypoint": "true", "resources": ["gpu_type": "tpu", "gpu_count": 1]])
            #expect(unknownType.status == 400 && unknownType.text.contains("no node has GPUs of type 'tpu'"))
            let tooBig = try await submit(["name": "x", "entrypoint": "true", "resources": ["gpu_type": "a100", "gpu_count": 8]])
            #expect(tooBig.status == 400 && tooBig.text.contains("can never be scheduled"))
            let reserved = try await submit(["name": "x", "entrypoint": "true", "env": ["CUDA_VISIBLE_DEVICES": "7"]])
            #expect(reserved.status == 422 && reserved.text.contains("is set by aitip"))
            let noArchive = try await submit(["name": "x", "entrypoint": "true", "code": ["archive": String(repeating: "a", count: 64)]])
            #expect(noArchive.status == 400 && noArchive.text.contains("upload it first"))
            let priority = try await submit(["name": "x", "entrypoint": "true", "priority": "urgent"])
            #expect(priority.status == 422 && priority.text.contains("low, normal, high"))
            var big = Data([0x1f, 0x8b])
            big.append(Data(repeating: 7, count: 4_000))
            let oversized = try await app.call(
                .post, "/api/v1/training/code?project_id=\(project)", token: token, raw: String(decoding: big, as: UTF8.self),
                headers: [.contentType: "application/gzip"])
            #expect(oversized.status == 413 && oversized.text.contains("max_code_bytes"))
            let notGzip = try await app.call(
                .post, "/api/v1/training/code?project_id=\(project)", token: token, raw: "plain text",
                headers: [.contentType: "application/gzip"])
            #expect(notGzip.status == 400 && notGzip.text.contains("gzip"))
            #expect(try await app.call(.get, "/api/v1/training/jobs?project_id=\(project)", token: token).items.isEmpty)
        }
    }

    @Test("a project over its concurrent-jobs quota waits with the reason, then runs; only operators set quotas", arguments: DatabaseKind.available)
    func quotaAdmission(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let org = try await app.homeOrg(token)
            let tenant = try await app.newTenant()
            let refused = try await app.call(
                .put, "/api/v1/resources/quota", token: tenant.token,
                json: ["org_id": tenant.org, "max_concurrent_jobs": 100])
            #expect(refused.status == 403)
            let set = try await app.call(
                .put, "/api/v1/resources/quota", token: token,
                json: ["org_id": org, "project_id": project, "max_concurrent_jobs": 1])
            #expect(set.status == 200 && set["max_concurrent_jobs"] as? Int == 1)
            // Long enough to be read while it runs on a loaded machine (an ended process counts, with no memory, until reaped).
            let first = try await app.submit(token, project, name: "first", gpus: 1, entrypoint: "sleep 4")
            _ = try await app.waitFor(first.id, token, ["running"])
            // A running job reports what its processes use.
            let usage = try await app.call(.get, "/api/v1/training/jobs/\(first.id)/metrics", token: token)["resources"] as? [String: Any]
            #expect((usage?["processes"] as? Int ?? 0) >= 1 && (usage?["memory_bytes"] as? Int ?? 0) > 0)
            let second = try await app.submit(token, project, name: "second", gpus: 1, entrypoint: "true")
            let waiting = try await app.waitFor(second.id, token, ["queued"]) { ($0["reason"] as? String)?.hasPrefix("project quota") == true }
            #expect(waiting["reason"] as? String == "project quota: 1 of 1 concurrent jobs are running; waits for one to finish")
            _ = try await app.waitFor(second.id, token, ["succeeded"])
            let quotas = try await app.call(.get, "/api/v1/resources/quota?org_id=\(org)", token: token)
            #expect(quotas.items.first?["scope"] as? String == project)
        }
    }

    @Test("a high-priority job preempts a low one, which checkpoints, requeues and completes", arguments: DatabaseKind.available)
    func preemption(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let resumable = """
                trap 'echo "checkpoint at $i"; echo $i > $AITIP_CHECKPOINT_DIR/step; exit 143' TERM
                i=$(cat $AITIP_CHECKPOINT_DIR/step 2>/dev/null || echo 0)
                while [ $i -lt 30 ]; do i=$((i+1)); echo "step $i"; sleep 0.1; done
                """
            let low = try await app.submit(token, project, name: "low", gpus: 4, entrypoint: resumable, extra: ["priority": "low"])
            _ = try await app.waitFor(low.id, token, ["running"])
            try await eventually("the low-priority job has logged a few steps") {
                try await app.call(.get, "/api/v1/training/jobs/\(low.id)/logs", token: token).text.contains("step 3")
            }
            let high = try await app.submit(token, project, name: "high", gpus: 2, entrypoint: "echo urgent", extra: ["priority": "high"])
            _ = try await app.waitFor(high.id, token, ["succeeded"])
            let finished = try await app.waitFor(low.id, token, ["succeeded"])
            #expect(finished["attempt"] as? Int == 2)
            let transitions = try await app.call(.get, "/api/v1/training/jobs/\(low.id)/events", token: token).items.map { $0["to"] as? String ?? "" }
            #expect(transitions.contains("preempted"))
            let log = try await app.call(.get, "/api/v1/training/jobs/\(low.id)/logs", token: token).text
            let resumedAt = try #require(log.split(separator: "\n").first { $0.hasPrefix("checkpoint at ") }?.dropFirst(14)).trimmingCharacters(
                in: .whitespaces)
            // The second attempt continues after the checkpoint instead of starting over.
            #expect(log.contains("step \(Int(resumedAt)! + 1)\n") && log.components(separatedBy: "step 1\n").count == 2)
        }
    }

    @Test("a 4-GPU gang waits while 3 GPUs are free, then starts whole", arguments: DatabaseKind.available)
    func gang(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let small = try await app.submit(token, project, name: "small", gpus: 1, entrypoint: "sleep 1.5")
            _ = try await app.waitFor(small.id, token, ["running"])
            let gang = try await app.submit(token, project, name: "gang", gpus: 4, entrypoint: "echo $CUDA_VISIBLE_DEVICES")
            let waiting = try await app.waitFor(gang.id, token, ["queued"]) { ($0["reason"] as? String)?.contains("most free") == true }
            #expect((waiting["reason"] as? String)?.contains("all-or-nothing); most free a100 GPUs on one node now: 3") == true)
            let done = try await app.waitFor(gang.id, token, ["succeeded"])
            #expect((done["placement"] as? [[String: Any]])?.first?["gpu_indices"] as? [Int] == [0, 1, 2, 3])
        }
    }

    @Test("two projects share a queue fairly; stopping a queued job cancels it", arguments: DatabaseKind.available)
    func fairShare(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let other = try await app.call(.post, "/api/v1/projects", token: token, json: ["name": "Other", "slug": "other"])
            let otherProject = try #require(other.string("id"))
            let node = try #require(
                try await app.call(.get, "/api/v1/resources/gpu", token: token).items.first { $0["node_type"] as? String == "a100" })
            let nodeId = try #require(node["id"] as? String)
            // Drain the node so that every job is pending when one cycle decides.
            #expect(try await app.call(.patch, "/api/v1/resources/gpu/\(nodeId)", token: token, json: ["status": "maintenance"]).status == 200)
            var first: [String] = []
            var second: [String] = []
            for index in 0..<4 { first.append(try await app.submit(token, project, name: "a\(index)", gpus: 1, entrypoint: "sleep 300").id) }
            for index in 0..<4 { second.append(try await app.submit(token, otherProject, name: "b\(index)", gpus: 1, entrypoint: "sleep 300").id) }
            #expect(try await app.call(.patch, "/api/v1/resources/gpu/\(nodeId)", token: token, json: ["status": "available"]).status == 200)
            try await eventually("the four GPUs are taken") {
                var taken = 0
                for id in first + second {
                    let status = try await app.call(.get, "/api/v1/training/jobs/\(id)", token: token).string("status") ?? ""
                    if ["admitted", "starting", "running"].contains(status) { taken += 1 }
                }
                return taken == 4
            }
            var started: [String: Int] = [:]
            var queued: [String] = []
            var running: [String] = []
            for (name, ids) in [("first", first), ("second", second)] {
                for id in ids {
                    let status = try await app.call(.get, "/api/v1/training/jobs/\(id)", token: token).string("status") ?? ""
                    if ["admitted", "starting", "running"].contains(status) {
                        started[name, default: 0] += 1
                        running.append(id)
                    } else {
                        queued.append(id)
                    }
                }
            }
            #expect(started == ["first": 2, "second": 2])
            // Queued jobs first, so that none starts when a running one frees its GPU.
            for id in queued + running {
                let reply = try await app.call(.post, "/api/v1/training/jobs/\(id)/stop", token: token)
                #expect(reply.status == 200, "\(reply.text)")
            }
            let cancelled = try await app.waitFor(try #require(queued.first), token, ["cancelled"])
            #expect((cancelled["reason"] as? String)?.hasPrefix("cancelled by admin before it started") == true)
            let stopped = try await app.waitFor(try #require(running.first), token, ["cancelled"])
            #expect((stopped["reason"] as? String)?.hasPrefix("stopped by admin") == true, "\(stopped)")
        }
    }

    @Test(
        "two servers on one database: only the lease holder runs the engine; the other takes over when it stops or its lease expires",
        arguments: DatabaseKind.available)
    func oneEnginePerDatabase(_ kind: DatabaseKind) async throws {
        try await withApp(kind, settings: Self.settings) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            let url: String =
                switch app.parts.database.url {
                case .sqlite(let path): "sqlite://\(path)"
                case .postgres(let url): url
                }
            let otherData = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-replica-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: otherData) }
            let replica = try await AppParts.assemble(
                try AppConfig(values: [
                    "database_url": url, "data_dir": otherData, "bcrypt_cost": "4", "admin_password": TestApp.adminPassword,
                    "simulate_gpus": "h100:2", "scheduler_tick_ms": "50",
                ]),
                logger: TestEnvironment.logger, clock: app.clock)
            // The first server assembled first and holds the lease: the replica registered no nodes.
            #expect(try await app.parts.engine.lease.currentHolder() == app.parts.engine.lease.holder)
            #expect(try await !replica.engine.lease.acquire())
            let nodes = try await app.call(.get, "/api/v1/resources/gpu", token: token).text
            #expect(nodes.contains("a100") && !nodes.contains("h100"))

            // Both engines run; each job runs once, launched by the holder.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await replica.engine.run() }
                try await runEngine(app) {
                    for name in ["first", "second"] {
                        let job = try await app.submit(token, project, name: name, gpus: 1, entrypoint: "echo ran")
                        let done = try await app.waitFor(job.id, token, ["succeeded"])
                        #expect(done["attempt"] as? Int == 1)
                        let starts = try await app.call(.get, "/api/v1/training/jobs/\(job.id)/events", token: token).items
                            .filter { $0["to"] as? String == "running" }
                        #expect(starts.count == 1)
                    }
                }
                // The holder stopped and released the lease: the replica takes over within a third of the lease.
                let deadline = ContinuousClock.now + .seconds(15)
                while try await app.parts.engine.lease.currentHolder() != replica.engine.lease.holder, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await replica.engine.lease.currentHolder() == replica.engine.lease.holder)
                // Its lease is current: the first server cannot take it back until it expires unrenewed.
                #expect(try await !app.parts.engine.lease.acquire())
                group.cancelAll()
                try? await group.waitForAll()
            }
            // The replica released it on shutdown; a lease whose holder died expires by time.
            #expect(try await replica.engine.lease.currentHolder() == nil)
            #expect(try await replica.engine.lease.acquire())
            app.clock.advance(by: 16)
            #expect(try await app.parts.engine.lease.acquire())
            await replica.database.shutdown()
        }
    }

    @Test(
        "a job past its max runtime gets SIGTERM; ignoring it, it is killed when the grace period ends, and the end says so",
        arguments: DatabaseKind.available)
    func maxRuntimeAndGracePeriod(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let job = try await app.submit(
                token, project, name: "stubborn", gpus: 1, entrypoint: "trap '' TERM; echo started; while :; do sleep 0.1; done",
                extra: ["max_runtime_seconds": 1])
            _ = try await app.waitFor(job.id, token, ["running"])
            // "running" means started, not that the shell has set its trap yet: a TERM before `trap` would end it at once.
            try await eventually("the job has set its trap") {
                try await app.call(.get, "/api/v1/training/jobs/\(job.id)/logs", token: token).text == "started\n"
            }
            // The engine's clock (this test moves it) passes the max runtime: SIGTERM, and the grace period begins.
            app.clock.advance(by: 2)
            _ = try await app.waitFor(job.id, token, ["running"]) { ($0["reason"] as? String ?? "").hasPrefix("stopping: exceeded its max runtime") }
            // Inside the grace period the job, ignoring TERM, runs on: nothing kills it while the clock stands still.
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await app.call(.get, "/api/v1/training/jobs/\(job.id)", token: token).string("status") == "running")
            app.clock.advance(by: 2)
            let ended = try await app.waitFor(job.id, token, ["failed"])
            let reason = ended["reason"] as? String ?? ""
            #expect(reason.contains("exceeded its max runtime of 1 s"), "\(reason)")
            #expect(reason.contains("killed with SIGKILL: still running when the grace period after SIGTERM ended"), "\(reason)")
            #expect(ended["attempt"] as? Int == 1, "a job stopped for its runtime is not retried")
            #expect(try await app.call(.get, "/api/v1/training/jobs/\(job.id)/logs", token: token).text == "started\n")
        }
    }

    @Test("the server stops while a job runs: the next start adopts it and records how it ended", arguments: DatabaseKind.available)
    func crashRecovery(_ kind: DatabaseKind) async throws {
        try await withApp(kind, settings: Self.settings) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            let job = try await app.submit(
                token, project, name: "survivor", gpus: 1, entrypoint: "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.3; done")
            // First life of the server: the job starts, then the engine goes away mid-run.
            try await runEngine(app) {
                _ = try await app.waitFor(job.id, token, ["running"])
                try await eventually("the job has written its first lines") {
                    try await app.call(.get, "/api/v1/training/jobs/\(job.id)/logs", token: token).text.contains("line 2")
                }
            }
            // No engine now: the attempt finishes on its own, its output kept in its control directory.
            try await eventually("the attempt has written its last line with no engine running") {
                let jobs = URL(fileURLWithPath: app.dataDirectory).appendingPathComponent("jobs")
                let logs =
                    FileManager.default.enumerator(at: jobs, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL }
                    .filter { $0.lastPathComponent == "output.log" } ?? []
                return logs.contains { (try? String(contentsOf: $0, encoding: .utf8))?.contains("line 6") == true }
            }
            // Second life: the attempt finished meanwhile; the adopted pump reads the rest of its output.
            try await runEngine(app) {
                let done = try await app.waitFor(job.id, token, ["succeeded"])
                #expect(done["attempt"] as? Int == 1)
                let log = try await app.call(.get, "/api/v1/training/jobs/\(job.id)/logs", token: token).text
                #expect(log == (1...6).map { "line \($0)\n" }.joined())
            }
        }
    }
}

extension TestApp {
    func submit(
        _ token: String, _ project: String, name: String, gpus: Int, entrypoint: String,
        extra: [String: Any] = [:]
    ) async throws -> (id: String, status: String) {
        var body: [String: Any] = [
            "project_id": project, "name": name, "entrypoint": entrypoint,
            "resources": ["gpu_type": "a100", "gpu_count": gpus, "cpu": 0.1, "memory_mib": 64],
        ]
        body.merge(extra) { $1 }
        let reply = try await call(.post, "/api/v1/training/jobs", token: token, json: body)
        try #require(reply.status == 201, "submit failed: \(reply.text)")
        return (try #require(reply.string("id")), reply.string("status") ?? "")
    }

    /// Polls the job until its status is one of `states` (and `also` holds), for up to 30 s.
    func waitFor(_ id: String, _ token: String, _ states: Set<String>, also: ([String: Any]) -> Bool = { _ in true }) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(30)
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            last = try await call(.get, "/api/v1/training/jobs/\(id)", token: token).json
            if let status = last["status"] as? String, states.contains(status), also(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        let events = try await call(.get, "/api/v1/training/jobs/\(id)/events", token: token).items
            .map { "\($0["to"] ?? ""): \($0["reason"] ?? "")" }.joined(separator: "; ")
        Issue.record("job \(id) never reached \(states): last \(last["status"] ?? "?") — \(last["reason"] ?? "") — events: \(events)")
        throw CancellationError()
    }
}

/// Runs `body` while the app's workload engine runs, then stops the engine (as a server shutdown does).
func runEngine(_ app: TestApp, _ body: @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.parts.engine.run() }
        do {
            try await body()
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
        try? await group.waitForAll()
    }
}

/// A fresh app with its engine running, the admin's token and default project.
func withEngine(
    _ kind: DatabaseKind, settings: [String: String] = [:],
    _ body: @Sendable (TestApp, String, String) async throws -> Void
) async throws {
    try await withApp(kind, settings: TrainingJobTests.settings.merging(settings) { $1 }) { app in
        let token = try await app.adminToken()
        let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
        try await runEngine(app) { try await body(app, token, project) }
    }
}

@Suite("Training job logs over WebSocket")
struct LogWebSocketTests {
    @Test(
        "WS /ws/training/{id}/logs streams the lines and ends with the status; resumes from an offset; refuses strangers",
        arguments: DatabaseKind.available)
    func followOverWebSocket(_ kind: DatabaseKind) async throws {
        try await withApp(kind, settings: TrainingJobTests.settings, live: true) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            try await runEngine(app) {
                let job = try await app.submit(token, project, name: "ws", gpus: 1, entrypoint: "echo one; sleep 0.3; echo two; printf three")
                let messages = try await app.webSocketMessages("/ws/training/\(job.id)/logs", headers: [.authorization: "Bearer \(token)"])
                let lines = messages.filter { $0["type"] as? String == "lines" }.flatMap { $0["lines"] as? [String] ?? [] }
                #expect(lines == ["one", "two", "three"])
                #expect(messages.last?["type"] as? String == "end" && messages.last?["status"] as? String == "succeeded")
                // From byte 4 on ("one\n" is 4 bytes), with the browser's way of sending the token.
                let resumed = try await app.webSocketMessages(
                    "/ws/training/\(job.id)/logs?offset=4",
                    headers: [.secWebSocketProtocol: "aitip.logs, bearer.\(token)"])
                #expect(resumed.filter { $0["type"] as? String == "lines" }.flatMap { $0["lines"] as? [String] ?? [] } == ["two", "three"])
                let stranger = try await app.newTenant()
                // Refused at the upgrade (the handshake answers 404), not a connection that closes after a while.
                let refused = await #expect(throws: (any Error).self) {
                    try await app.webSocketMessages("/ws/training/\(job.id)/logs", headers: [.authorization: "Bearer \(stranger.token)"])
                }
                #expect(refused.map { "\($0)" }?.contains("WebSocket upgrade failed") == true, "\(String(describing: refused))")
            }
        }
    }
}

extension TestApp {
    /// Every JSON message of a WebSocket until the server closes it.
    func webSocketMessages(_ path: String, headers: HTTPFields) async throws -> [[String: Any]] {
        let received = MessageBox()
        try await client.ws(path, configuration: .init(additionalHeaders: headers)) { inbound, _, _ in
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message,
                    let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                {
                    received.append(object)
                }
            }
        }
        return received.items
    }
}

/// Collects messages from the WebSocket handler's task.
final class MessageBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [[String: Any]] = []
    func append(_ item: [String: Any]) { lock.lock(); stored.append(item); lock.unlock() }
    var items: [[String: Any]] { lock.lock(); defer { lock.unlock() }; return stored }
}
