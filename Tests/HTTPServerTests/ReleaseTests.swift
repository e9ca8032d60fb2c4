import AITIPTestSupport
import App
import Foundation
import Gateway
import HTTPTypes
import Release
import Synchronization
import Testing

/// Releases against real sandboxed replicas and the real gateway: approvals, gates, a staged canary promoted by its
/// analysis, a failing canary rolled back by it, an inconclusive one paused, a retry after a rollback.
@Suite("Releases", .serialized)
struct ReleaseTests {
    /// Fast analysis for tests: one-second intervals, one passing interval per stage. The latency check is left out
    /// (a loaded CI machine makes a replica's p99 swing; `CanaryAnalysisTests` covers it).
    static var quick: [String: Any] {
        ["interval_seconds": 1, "min_requests": 2, "intervals_per_stage": 1, "max_inconclusive": 5, "max_latency_ratio": 1_000]
    }

    @Test(
        "a canary 5 → 20 → 50 → 100 promoted by its analysis under load, no request failing; approvals: N of M, no self-approval, no viewer or API key",
        arguments: DatabaseKind.available)
    func fullCanary(_ kind: DatabaseKind) async throws {
        try await withReleases(kind) { app, token, project in
            let (stable, canary) = try await app.stableAndCanary(token, project)
            let org = try await app.homeOrg(token)
            let release = try await app.call(
                .post, "/api/v1/releases", token: token,
                json: [
                    "project_id": project, "name": "ranker", "version": "2.0", "service_id": stable, "canary_service_id": canary,
                    "approval_policy": ["required": 2, "roles": ["admin", "owner"]], "analysis": Self.quick,
                ])
            #expect(release.status == 201 && release.string("status") == "pending_approval", "\(release.text)")
            let id = try #require(release.string("id"))
            #expect(try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: token).status == 409, "not approved yet")
            // Its creator, a viewer, a member (no release:approve) and an admin's API key may not approve.
            let own = try await app.call(.post, "/api/v1/releases/\(id)/approve", token: token, json: [:])
            #expect(own.status == 403 && own.text.contains("someone else"), "\(own.text)")
            let viewer = try await app.newMember(of: org, role: "viewer", by: token)
            #expect(try await app.call(.post, "/api/v1/releases/\(id)/approve", token: viewer.token, json: [:]).status == 403)
            let member = try await app.newMember(of: org, role: "member", by: token)
            #expect(try await app.call(.post, "/api/v1/releases/\(id)/approve", token: member.token, json: [:]).status == 403)
            let first = try await app.newMember(of: org, role: "admin", by: token)
            let key = try #require(
                try await app.call(
                    .post, "/api/v1/auth/api-keys", token: first.token, json: ["name": "bot", "scopes": ["release:approve", "release:read"]]
                )
                .string("key"))
            let byKey = try await app.call(.post, "/api/v1/releases/\(id)/approve", token: key, json: [:])
            #expect(byKey.status == 403 && byKey.text.contains("person"), "\(byKey.text)")
            let one = try await app.call(.post, "/api/v1/releases/\(id)/approve", token: first.token, json: ["comment": "looks good"])
            #expect(one.status == 200 && one.string("status") == "pending_approval", "one of two: \(one.text)")
            let second = try await app.newMember(of: org, role: "admin", by: token)
            let two = try await app.call(.post, "/api/v1/releases/\(id)/approve", token: second.token, json: [:])
            #expect(two.status == 200 && two.string("status") == "approved", "\(two.text)")

            let load = Load(app: app, token: token, service: stable)
            try await load.during {
                let deployed = try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: token)
                #expect(deployed.status == 200 && deployed.string("status") == "canary" && deployed["current_stage"] as? Int == 1, "\(deployed.text)")
                try await eventually("the analysis promotes the canary through every stage to production", timeout: .seconds(60)) {
                    let now = try await app.call(.get, "/api/v1/releases/\(id)", token: token)
                    try #require(now.string("status") != "rolled_back" && now.string("status") != "paused", "\(now.text)")
                    return now.string("status") == "production"
                }
            }
            #expect(load.failures == 0, "requests failed during the promotions: \(load.failures) of \(load.total)")
            let done = try await app.call(.get, "/api/v1/releases/\(id)", token: token)
            #expect(done["canary_percentage"] as? Int == 100, "\(done.text)")
            let timeline = (done["timeline"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(timeline.filter { $0 == "promoted" }.count == 3 && timeline.last == "production", "\(timeline)")
            #expect(Array(timeline.prefix(4)) == ["created", "approved", "approved", "deployed"], "\(timeline)")
            let answers = try await app.call(.post, "/serve/\(stable)/predict", token: token, json: [:])
            #expect(answers.string("service") == "ranker-v2", "production: the canary answers every request")
            #expect((done["approvals"] as? [[String: Any]])?.count == 2)
        }
    }

    @Test(
        "an erroring canary is rolled back by the analysis, all traffic back on stable at once; deploying again retries it; gates block",
        arguments: DatabaseKind.available)
    func rollbackAndRetry(_ kind: DatabaseKind) async throws {
        try await withReleases(kind) { app, token, project in
            let (stable, canary) = try await app.stableAndCanary(token, project, canaryEnv: ["REPLICA_FAILS": "1"])
            // Transitions are queued for the project's webhooks in their own transaction (nothing for a refused act).
            let hook = try await app.call(
                .post, "/api/v1/projects/\(project)/webhooks", token: token,
                json: ["name": "ops", "url": "https://hooks.example.com/aitip", "events": ["release.deployed", "release.rolled_back"]])
            let hookId = try #require(hook.string("id"), "\(hook.text)")
            let blocked = try await app.call(
                .post, "/api/v1/releases", token: token,
                json: [
                    "project_id": project, "name": "gated", "version": "1", "service_id": stable, "canary_service_id": canary,
                    "approval_policy": ["required": 0], "gates": ["simulation_run_id": UUID().uuidString, "min_safety_score": 90],
                ])
            let blockedId = try #require(blocked.string("id"), "\(blocked.text)")
            let refused = try await app.call(.post, "/api/v1/releases/\(blockedId)/deploy", token: token)
            #expect(refused.status == 409 && refused.text.contains("blocked by its gates") && refused.text.contains("simulation"), "\(refused.text)")
            let gates = try await app.call(.get, "/api/v1/releases/\(blockedId)", token: token)["gate_checks"] as? [[String: Any]]
            #expect(gates?.first?["passed"] as? Bool == false, "\(String(describing: gates))")
            #expect(try await app.call(.delete, "/api/v1/releases/\(blockedId)", token: token).status == 204)

            let created = try await app.call(
                .post, "/api/v1/releases", token: token,
                json: [
                    "project_id": project, "name": "broken", "version": "1", "service_id": stable, "canary_service_id": canary,
                    "canary_stages": [20, 100], "approval_policy": ["required": 0], "analysis": Self.quick,
                ])
            let id = try #require(created.string("id"), "\(created.text)")
            let load = Load(app: app, token: token, service: stable)
            try await load.during {
                #expect(try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: token).status == 200)
                try await eventually("the analysis finds the errors and rolls back", timeout: .seconds(30)) {
                    try await app.call(.get, "/api/v1/releases/\(id)", token: token).string("status") == "rolled_back"
                }
            }
            let release = try await app.call(.get, "/api/v1/releases/\(id)", token: token)
            #expect(release.string("rollback_reason")?.contains("error rate") == true, "\(release.text)")
            let queued = try await app.call(.get, "/api/v1/webhooks/\(hookId)/deliveries", token: token).items
            #expect(queued.compactMap { $0["event"] as? String } == ["release.rolled_back", "release.deployed"], "\(queued)")
            let announced = try #require(queued.first?["payload"] as? [String: Any])
            #expect(announced["release_id"] as? String == id && announced["kind"] as? String == "analysis_failed", "\(announced)")
            #expect((announced["detail"] as? String)?.contains("error rate") == true && announced["canary_percentage"] as? Int == 0)
            #expect(release["canary_percentage"] as? Int == 0)
            for _ in 0..<30 {
                let reply = try await app.call(.post, "/serve/\(stable)/predict", token: token, json: [:])
                #expect(reply.status == 200 && reply.string("service") == "ranker", "after the rollback only stable answers: \(reply.text)")
            }
            // A rolled-back release can be deployed again (and rolled back by hand).
            let retried = try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: token)
            #expect(retried.status == 200 && retried.string("status") == "canary", "\(retried.text)")
            let manual = try await app.call(.post, "/api/v1/releases/\(id)/rollback", token: token, json: ["reason": "not today"])
            #expect(manual.status == 200 && manual.string("status") == "rolled_back" && manual.string("rollback_reason") == "not today")
        }
    }

    @Test(
        "a server restart mid-rollout: the new server keeps the stage and its traffic, and carries the rollout on", arguments: DatabaseKind.available)
    func restartMidRollout(_ kind: DatabaseKind) async throws {
        try await withApp(kind, settings: TrainingJobTests.settings) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            let (stable, canary, id) = try await runReleaseWorkers(app) {
                let (stable, canary) = try await app.stableAndCanary(token, project)
                var analysis = Self.quick
                analysis["interval_seconds"] = 3_600 // no verdict on this server: it stops first
                let created = try await app.call(
                    .post, "/api/v1/releases", token: token,
                    json: [
                        "project_id": project, "name": "durable", "version": "1", "service_id": stable, "canary_service_id": canary,
                        "canary_stages": [20, 100], "approval_policy": ["required": 0], "analysis": analysis,
                    ])
                let id = try #require(created.string("id"), "\(created.text)")
                let deployed = try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: token)
                #expect(deployed["canary_percentage"] as? Int == 20, "\(deployed.text)")
                return (stable, canary, id)
            }
            try await app.restarted(settings: TrainingJobTests.settings) { second in
                try await runReleaseWorkers(second) {
                    let resumed = try await second.call(.get, "/api/v1/releases/\(id)", token: token)
                    #expect(resumed.string("status") == "canary" && resumed["current_stage"] as? Int == 1, "\(resumed.text)")
                    try await eventually("the new server's gateway splits the traffic as the stage says") {
                        let metrics = try await second.call(.get, "/api/v1/inference/services/\(stable)/metrics", token: token)
                        let versions = metrics["versions"] as? [[String: Any]] ?? []
                        return versions.first { $0["service_id"] as? String == canary }?["traffic_share"] as? Int == 20
                    }
                    // The rollout goes on from there, under load: promoted by hand to its last stage.
                    let load = Load(app: second, token: token, service: stable)
                    try await load.during {
                        #expect(try await second.call(.post, "/api/v1/releases/\(id)/promote", token: token).status == 200)
                        let done = try await second.call(.get, "/api/v1/releases/\(id)", token: token)
                        #expect(done["current_stage"] as? Int == 2 && done["canary_percentage"] as? Int == 100, "\(done.text)")
                    }
                    #expect(load.failures == 0, "\(load.failures) of \(load.total) requests failed across the restart's rollout")
                }
            }
        }
    }

    @Test(
        "a new model version during the rollout restarts the analysis at the first stage; gates are read for it; approvals are asked again",
        arguments: DatabaseKind.available)
    func newModelVersionRestarts(_ kind: DatabaseKind) async throws {
        try await withReleases(kind) { app, token, project in
            let (stable, canary) = try await app.stableAndCanary(token, project)
            let run = try #require(
                (try await app.call(.get, "/api/2.0/mlflow/model-versions/get?name=echo-model&version=1", token: token)["model_version"]
                    as? [String: Any])?["run_id"] as? String)
            let registered = try await app.call(
                .post, "/api/2.0/mlflow/model-versions/create", token: token,
                json: ["name": "echo-model", "source": "runs:/\(run)/model", "run_id": run])
            try #require(registered.status == 200, "\(registered.text)")
            var body = app.serviceBody(project, name: "ranker-v3", code: try await app.replicaCode(token, project, registering: false))
            body["model"] = "models:/echo-model/2"
            body["parent_service_id"] = stable
            body["traffic_percentage"] = 0
            let newer = try #require(try await app.call(.post, "/api/v1/inference/services", token: token, json: body).string("id"))
            func share(_ id: String) async throws -> Int? {
                try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)["traffic_percentage"] as? Int
            }
            var analysis = Self.quick
            analysis["interval_seconds"] = 3_600 // no verdict: the stages move by hand here
            let created = try await app.call(
                .post, "/api/v1/releases", token: token,
                json: [
                    "project_id": project, "name": "moving", "version": "1", "service_id": stable, "canary_service_id": canary,
                    "canary_stages": [5, 50, 100], "approval_policy": ["required": 0], "analysis": analysis,
                ])
            let id = try #require(created.string("id"), "\(created.text)")
            #expect(try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: token).status == 200)
            #expect(try await app.call(.post, "/api/v1/releases/\(id)/promote", token: token)["canary_percentage"] as? Int == 50)

            let restarted = try await app.call(.put, "/api/v1/releases/\(id)", token: token, json: ["canary_service_id": newer])
            #expect(restarted.status == 200 && restarted.string("status") == "canary" && restarted["current_stage"] as? Int == 1, "\(restarted.text)")
            #expect(restarted.string("model_uri") == "models:/echo-model/2" && restarted["canary_percentage"] as? Int == 5)
            let (oldShare, newShare) = (try await share(canary), try await share(newer))
            #expect(oldShare == 0 && newShare == 5, "the old version leaves at once; the new one starts at the first stage")
            let timeline = restarted["timeline"] as? [[String: Any]] ?? []
            #expect(timeline.last?["kind"] as? String == "model_changed", "\(timeline)")
            #expect((timeline.last?["detail"] as? String)?.contains("restarts at stage 1") == true, "\(timeline)")

            // The gates are read for the new version before anything moves: evidence that cannot pass refuses the change.
            let gated = try await app.call(
                .put, "/api/v1/releases/\(id)", token: token,
                json: ["canary_service_id": canary, "gates": ["evaluation_job_id": UUID().uuidString]])
            #expect(gated.status == 409 && gated.text.contains("gates"), "\(gated.text)")
            let (unmovedNew, unmovedOld) = (try await share(newer), try await share(canary))
            #expect(unmovedNew == 5 && unmovedOld == 0, "a refused change moves nothing")
            let rolledBack = try await app.call(.post, "/api/v1/releases/\(id)/rollback", token: token, json: [:])
            let afterRollback = try await share(newer)
            #expect(rolledBack.string("status") == "rolled_back" && afterRollback == 0)

            // Approvals were given to the old version: a release that needs them waits again, its traffic back on stable.
            let approved = try await app.call(
                .post, "/api/v1/releases", token: token,
                json: [
                    "project_id": project, "name": "approved", "version": "1", "service_id": stable, "canary_service_id": canary,
                    "approval_policy": ["required": 1], "analysis": analysis,
                ])
            let approvedId = try #require(approved.string("id"), "\(approved.text)")
            let approver = try await app.newMember(of: try await app.homeOrg(token), role: "admin", by: token)
            #expect(
                try await app.call(.post, "/api/v1/releases/\(approvedId)/approve", token: approver.token, json: [:]).string("status") == "approved")
            #expect(try await app.call(.post, "/api/v1/releases/\(approvedId)/deploy", token: token)["canary_percentage"] as? Int == 5)
            let waiting = try await app.call(.put, "/api/v1/releases/\(approvedId)", token: token, json: ["canary_service_id": newer])
            #expect(waiting.string("status") == "pending_approval" && waiting["canary_percentage"] as? Int == 0, "\(waiting.text)")
            #expect((waiting["approvals"] as? [[String: Any]])?.isEmpty == true)
            let (finalOld, finalNew) = (try await share(canary), try await share(newer))
            #expect(finalOld == 0 && finalNew == 0)
        }
    }

    @Test(
        "rolling: the canary's replicas replace the stable's in waves, traffic following each ready wave, and a rollback restores both",
        arguments: DatabaseKind.available)
    func rollingWaves(_ kind: DatabaseKind) async throws {
        try await withReleases(kind) { app, token, project in
            let code = try await app.replicaCode(token, project)
            let stable = try #require(
                try await app.deploy(token, project, name: "ranker", code: code, extra: ["replicas": 2, "max_replicas": 4])["id"] as? String)
            var body = app.serviceBody(project, name: "ranker-v2", code: code)
            body.merge(["parent_service_id": stable, "traffic_percentage": 0, "replicas": 1, "max_replicas": 4]) { $1 }
            let canary = try #require(try await app.call(.post, "/api/v1/inference/services", token: token, json: body).string("id"))
            try await app.waitForReady(stable, token, replicas: 2)
            try await app.waitForReady(canary, token, replicas: 1)
            @Sendable func replicas(_ id: String) async throws -> Int? {
                try await app.call(.get, "/api/v1/inference/services/\(id)", token: token)["replicas"] as? Int
            }
            var analysis = Self.quick
            analysis["auto_promote"] = false
            let created = try await app.call(
                .post, "/api/v1/releases", token: token,
                json: [
                    "project_id": project, "name": "waves", "version": "2", "service_id": stable, "canary_service_id": canary,
                    "strategy": "rolling", "approval_policy": ["required": 0], "analysis": analysis,
                ])
            #expect(created["canary_stages"] as? [Int] == [50, 100], "one wave per stable replica: \(created.text)")
            let id = try #require(created.string("id"), "\(created.text)")
            let load = Load(app: app, token: token, service: stable)
            try await load.during {
                #expect(try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: token).status == 200)
                try await eventually("wave 1: the canary's replica takes 50 %, the stable gives up one of two") {
                    let view = try await app.call(.get, "/api/v1/releases/\(id)", token: token)
                    let (stableReplicas, canaryReplicas) = (try await replicas(stable), try await replicas(canary))
                    return view["canary_percentage"] as? Int == 50 && stableReplicas == 1 && canaryReplicas == 1
                }
                #expect(try await app.call(.post, "/api/v1/releases/\(id)/promote", token: token).status == 200)
                try await eventually("wave 2: a second canary replica starts, then takes all the traffic", timeout: .seconds(60)) {
                    let view = try await app.call(.get, "/api/v1/releases/\(id)", token: token)
                    let canaryReplicas = try await replicas(canary)
                    return view["canary_percentage"] as? Int == 100 && canaryReplicas == 2
                }
                try await app.waitForReady(canary, token, replicas: 2)
                let back = try await app.call(.post, "/api/v1/releases/\(id)/rollback", token: token, json: ["reason": "waves"])
                #expect(back["canary_percentage"] as? Int == 0, "\(back.text)")
                let (stableAfter, canaryAfter) = (try await replicas(stable), try await replicas(canary))
                #expect(
                    stableAfter == 2 && canaryAfter == 1,
                    "a rollback restores the replicas: \(String(describing: stableAfter)), \(String(describing: canaryAfter))")
                try await app.waitForReady(stable, token, replicas: 2)
            }
            #expect(load.failures == 0, "\(load.failures) of \(load.total) requests failed across the waves")
        }
    }

    @Test("a firmware release's deploy webhook may not reach this machine or a private network by default", arguments: DatabaseKind.available)
    func deployTargetAddresses(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            for url in ["http://127.0.0.1:9/fleet", "http://169.254.169.254/latest", "http://[::1]/fleet"] {
                let refused = try await app.call(
                    .post, "/api/v1/releases", token: token,
                    json: [
                        "project_id": project, "name": "fw", "version": "1", "release_type": "firmware",
                        "artifact": ["dataset_id": UUID().uuidString, "path": "fw.bin"], "deploy_target": ["type": "webhook", "url": url],
                    ])
                #expect(refused.status == 422 && refused.text.contains("deploy_target.url"), "\(url): \(refused.text)")
            }
            let mixed = try await app.call(
                .post, "/api/v1/releases", token: token,
                json: [
                    "project_id": project, "name": "fw", "version": "1", "release_type": "model", "service_id": UUID().uuidString,
                    "canary_service_id": UUID().uuidString, "deploy_target": ["type": "workload", "command": "true"],
                ])
            #expect(mixed.status == 422 && mixed.text.contains("deploy_target"), "\(mixed.text)")
            #expect(try await app.call(.get, "/api/v1/releases?project_id=\(project)", token: token).items.isEmpty)
        }
    }

    @Test("with too few requests the analysis cannot decide: the release pauses, and waits for a person", arguments: DatabaseKind.available)
    func inconclusivePauses(_ kind: DatabaseKind) async throws {
        try await withReleases(kind) { app, token, project in
            let (stable, canary) = try await app.stableAndCanary(token, project)
            var analysis = Self.quick
            analysis["max_inconclusive"] = 2
            let created = try await app.call(
                .post, "/api/v1/releases", token: token,
                json: [
                    "project_id": project, "name": "quiet", "version": "1", "service_id": stable, "canary_service_id": canary,
                    "approval_policy": ["required": 0], "analysis": analysis,
                ])
            let id = try #require(created.string("id"), "\(created.text)")
            #expect(try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: token).status == 200)
            try await eventually("two inconclusive intervals pause it", timeout: .seconds(20)) {
                try await app.call(.get, "/api/v1/releases/\(id)", token: token).string("status") == "paused"
            }
            let paused = try await app.call(.get, "/api/v1/releases/\(id)", token: token)
            #expect(paused.string("status_reason")?.contains("inconclusive") == true && paused["canary_percentage"] as? Int == 5, "\(paused.text)")
            let promoted = try await app.call(.post, "/api/v1/releases/\(id)/promote", token: token)
            #expect(promoted.status == 200 && promoted["current_stage"] as? Int == 2 && promoted.string("status") == "canary", "\(promoted.text)")
            #expect(try await app.call(.delete, "/api/v1/releases/\(id)", token: token).status == 409, "a release rolling out is not deleted")
            #expect(try await app.call(.post, "/api/v1/releases/\(id)/rollback", token: token, json: [:]).status == 200)
        }
    }
}

/// Calls the service from four tasks until stopped, counting answers that were not 200.
final class Load: Sendable {
    let app: TestApp
    let token: String
    let service: String
    private let counts = Mutex((total: 0, failures: 0))
    private let running = Mutex(false)

    init(app: TestApp, token: String, service: String) {
        self.app = app
        self.token = token
        self.service = service
    }

    var total: Int { counts.withLock { $0.total } }
    var failures: Int { counts.withLock { $0.failures } }

    func during(_ body: @Sendable () async throws -> Void) async throws {
        running.withLock { $0 = true }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { [self] in
                    while running.withLock({ $0 }) {
                        let reply = try await app.call(.post, "/serve/\(service)/predict", token: token, json: [:])
                        counts.withLock { counts in
                            counts.total += 1
                            if reply.status != 200 { counts.failures += 1 }
                        }
                    }
                }
            }
            defer { running.withLock { $0 = false } }
            try await body()
            running.withLock { $0 = false }
            try await group.waitForAll()
        }
    }
}

func withReleases(_ kind: DatabaseKind, _ body: @Sendable (TestApp, String, String) async throws -> Void) async throws {
    try await withApp(kind, settings: TrainingJobTests.settings) { app in
        let token = try await app.adminToken()
        let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
        try await runReleaseWorkers(app) { try await body(app, token, project) }
    }
}

/// The inference workers and the release controller while `body` runs, stopped as a shutdown stops them.
func runReleaseWorkers<Result: Sendable>(_ app: TestApp, _ body: @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await app.parts.releaseController.run() }
        defer { group.cancelAll() }
        return try await runInferenceWorkers(app, body)
    }
}

extension TestApp {
    /// A stable service `ranker` and its canary `ranker-v2` at 0 %, both ready.
    func stableAndCanary(_ token: String, _ project: String, canaryEnv: [String: String] = [:]) async throws -> (String, String) {
        let code = try await replicaCode(token, project)
        let stable = try #require(try await deploy(token, project, name: "ranker", code: code)["id"] as? String)
        var body = serviceBody(project, name: "ranker-v2", code: code)
        var config = body["runtime_config"] as? [String: Any] ?? [:]
        config["env"] = canaryEnv
        body["runtime_config"] = config
        body["parent_service_id"] = stable
        body["traffic_percentage"] = 0
        let created = try await call(.post, "/api/v1/inference/services", token: token, json: body)
        let canary = try #require(created.string("id"), "\(created.text)")
        try await waitForReady(stable, token, replicas: 1)
        try await waitForReady(canary, token, replicas: 1)
        return (stable, canary)
    }
}

/// The analysis's arithmetic: a window is the difference of two snapshots; a verdict needs enough canary requests.
@Suite("Release analysis")
struct CanaryAnalysisTests {
    static func snapshot(requests: Int, errors: Int, fastBuckets: Int, slowBuckets: Int = 0) -> VersionStats.Snapshot {
        var buckets = [Int](repeating: 0, count: 21)
        buckets[2] = fastBuckets // ≤ 1 ms
        buckets[10] = slowBuckets // ≤ 50 ms
        return .init(requests: requests, errors: errors, requestsPerSecond: 0, p50Ms: nil, p95Ms: nil, p99Ms: nil, buckets: buckets)
    }

    @Test("errors over the limit fail; a slow p99 against the stable one fails; too few requests or restarted counters are inconclusive")
    func verdicts() {
        let policy = AnalysisPolicy()
        let start = Self.snapshot(requests: 100, errors: 1, fastBuckets: 100)
        let healthy = CanaryAnalysis.window(from: start, to: Self.snapshot(requests: 150, errors: 2, fastBuckets: 150))
        let stable = CanaryAnalysis.window(from: start, to: Self.snapshot(requests: 400, errors: 1, fastBuckets: 400))
        #expect(healthy == .init(requests: 50, errors: 1, p99Ms: 1))
        guard case .passed = CanaryAnalysis.judge(canary: healthy, stable: stable, policy: policy) else {
            Issue.record("a healthy canary passes")
            return
        }
        let erroring = CanaryAnalysis.window(from: start, to: Self.snapshot(requests: 150, errors: 10, fastBuckets: 150))
        #expect(
            CanaryAnalysis.judge(canary: erroring, stable: stable, policy: policy)
                == .failed("the canary's error rate 18.0 % (9 of 50) is over 5.0 %"))
        let slow = CanaryAnalysis.window(from: start, to: Self.snapshot(requests: 150, errors: 1, fastBuckets: 100, slowBuckets: 50))
        guard case .failed(let why) = CanaryAnalysis.judge(canary: slow, stable: stable, policy: policy) else {
            Issue.record("a canary 50× slower than stable fails")
            return
        }
        #expect(why.contains("p99 latency 50 ms"), "\(why)")
        let quiet = CanaryAnalysis.window(from: start, to: Self.snapshot(requests: 105, errors: 1, fastBuckets: 105))
        guard case .inconclusive = CanaryAnalysis.judge(canary: quiet, stable: stable, policy: policy) else {
            Issue.record("5 requests decide nothing")
            return
        }
        #expect(CanaryAnalysis.window(from: start, to: Self.snapshot(requests: 3, errors: 0, fastBuckets: 3)) == nil, "a restart resets the counters")
        #expect(
            CanaryAnalysis.judge(canary: nil, stable: stable, policy: policy) == .inconclusive("the gateway's counters restarted during the interval")
        )
    }
}
