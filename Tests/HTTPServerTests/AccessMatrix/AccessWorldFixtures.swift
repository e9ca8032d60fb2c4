import Foundation
import HTTPTypes
import Testing

/// What the recipes call on: made by organization A's owner, shared when only read, fresh when a call consumes it.
extension AccessWorld {
    /// A person outside the matrix whose password is tried by the sign-in routes.
    func spare() async throws -> Person {
        let id = try await shared("spare") { try await newPerson(in: orgA, role: "viewer").username }
        return Person(id: "", username: id, password: "password-\(id)", token: "")
    }

    /// A second session of the caller's person, to spend on logout; nil for keys and nobody.
    func freshSession(_ who: AccessMatrix.Who) async throws -> (access: String, refresh: String)? {
        guard let person = people[who], !who.isKey else { return nil }
        return try await app.login(person.username, person.password)
    }

    /// A person of the same standing as `who` whose password may change (keys and nobody: A's owner's standing).
    func disposable(_ who: AccessMatrix.Who) async throws -> Person {
        if who == .stranger {
            let tenant = try await app.newTenant()
            let me = try await app.call(.get, "/api/v1/auth/me", token: tenant.token)
            let name = try #require((me["user"] as? [String: Any])?["username"] as? String)
            return Person(id: tenant.userId, username: name, password: "password-\(name)", token: tenant.token)
        }
        return try await newPerson(in: orgA, role: who.role?.rawValue ?? "viewer")
    }

    /// An open invitation addressed to the caller's person (A's owner for keys and nobody), from a new organization.
    func invitation(for who: AccessMatrix.Who) async throws -> String {
        let invitee = people[who] ?? people[.owner]!
        let inviter = who == .stranger ? ownerToken : people[.stranger]!.token
        let org = try await create("/api/v1/orgs", ["name": Self.unique("Inviting")], token: inviter)
        return try await create("/api/v1/orgs/\(org)/members", ["user_id": invitee.id, "role": "viewer"], token: inviter)
    }

    /// A new organization owned by A's owner in which the caller has their standing in A (the stranger none), and the
    /// credential to call it with: the caller's own, or for keys, A's owner's keys bound to the new organization.
    func disposableOrg(for who: AccessMatrix.Who, permission: String) async throws -> (id: String, slug: String, token: String??) {
        let created = try await app.call(.post, "/api/v1/orgs", token: ownerToken, json: ["name": Self.unique("Disposable")])
        let (org, slug) = (try #require(created.string("id")), try #require(created.string("slug")))
        if let role = who.role, role != .owner, let person = people[who] {
            let invitation = try await create("/api/v1/orgs/\(org)/members", ["user_id": person.id, "role": role.rawValue])
            let accepted = try await app.call(.post, "/api/v1/invitations/\(invitation)/accept", token: person.token)
            try #require(accepted.status == 200, "\(accepted.text)")
        }
        switch who {
        case .keyWithScope: return (org, slug, .some(try await keyPair(org: org, permission: permission).with))
        case .keyWithoutScope: return (org, slug, .some(try await keyPair(org: org, permission: permission).without))
        default: return (org, slug, .none)
        }
    }

    func freshProject() async throws -> String {
        try await create("/api/v1/projects", ["org_id": orgA, "name": Self.unique("F")])
    }

    func experiment() async throws -> String { try await shared("experiment") { try await freshExperiment() } }

    func freshExperiment() async throws -> String {
        try await create("/api/v1/projects/\(projectA)/experiments", ["name": Self.unique("E")])
    }

    /// A run with a `loss` series.
    func run() async throws -> String {
        try await shared("run") {
            let run = try await freshRun()
            let logged = try await app.call(
                .post, "/api/v1/runs/\(run)/log", token: ownerToken, json: ["metrics": [["key": "loss", "steps": [0], "values": [0.5]]]])
            try #require(logged.status == 204, "\(logged.text)")
            return run
        }
    }

    func freshRun() async throws -> String {
        try await create("/api/v1/experiments/\(try await experiment())/runs", [:])
    }

    /// A registered model of project A, made through the MLflow routes (the native API lists models, it does not make them).
    func registeredModel() async throws -> String {
        try await shared("model") {
            let name = Self.unique("model")
            let reply = try await app.call(
                .post, "/mlflow/\(orgASlug)/default/api/2.0/mlflow/registered-models/create", token: ownerToken, json: ["name": name])
            try #require(reply.status == 200, "\(reply.text)")
            return name
        }
    }

    func job() async throws -> String { try await shared("job") { try await freshJob() } }

    /// A queued training job (the matrix runs no engine, so it stays queued), stopped first when asked.
    func freshJob(stopped: Bool = false) async throws -> String {
        let job = try await create("/api/v1/training/jobs", ["project_id": projectA, "name": Self.unique("job"), "entrypoint": "true"])
        if stopped {
            let reply = try await app.call(.post, "/api/v1/training/jobs/\(job)/stop", token: ownerToken)
            try #require(reply.status == 200, "\(reply.text)")
        }
        return job
    }

    func gpuNode() async throws -> String {
        try await shared("node") {
            try await app.parts.engine.registerNodesIfLeading()
            let nodes = try await app.call(.get, "/api/v1/resources/gpu", token: ownerToken).items
            return try #require(nodes.first?["id"] as? String, "no GPU node: \(nodes)")
        }
    }

    /// A dataset with version v1 holding data.csv.
    /// An inference service of project A (the matrix runs no reconciler: it stays pending, with no replica).
    func inferenceService() async throws -> String { try await shared("inference") { try await freshInferenceService() } }

    func freshInferenceService() async throws -> String { try await create("/api/v1/inference/services", try await inferenceServiceBody()) }

    func inferenceServiceBody() async throws -> [String: Any] {
        [
            "project_id": projectA, "name": Self.unique("svc"), "model": "models:/\(try await modelVersion().name)/1", "runtime": "process",
            "runtime_config": ["command": "true"], "resources": ["cpu": 0.1, "memory_mib": 64],
        ]
    }

    /// A release of project A: a fresh stable service and a canary of it at 0 % (so that each release may roll out
    /// on its own); `required: 0` makes it approved at once, and `deployed` starts its rollout.
    func release() async throws -> String { try await shared("release") { try await freshRelease() } }

    func freshRelease(approvals: Int = 1, deployed: Bool = false) async throws -> String {
        var body = try await releaseBody()
        body["approval_policy"] = ["required": approvals]
        let id = try await create("/api/v1/releases", body)
        if deployed {
            let reply = try await app.call(.post, "/api/v1/releases/\(id)/deploy", token: ownerToken)
            try #require(reply.status == 200, "\(reply.text)")
        }
        return id
    }

    /// An agent execution of A's owner (a read tool, run at once).
    func agentExecution() async throws -> String {
        try await shared("agentExecution") {
            let reply = try await app.call(
                .post, "/api/v1/agent/execute", token: ownerToken, json: ["tool": "projects.list_projects", "params": ["limit": 1]])
            return try #require(reply.string("execution_id"), "\(reply.text)")
        }
    }

    /// A call of A's member that A's policy holds for one approval (destructive tools wait for one); fresh each time,
    /// since a decision ends its wait.
    func pendingAgentExecution() async throws -> String {
        _ = try await shared("agentApprovalPolicy") {
            let reply = try await app.call(
                .put, "/api/v1/orgs/\(orgA)", token: ownerToken, json: ["settings": ["agent_approval": ["risks": ["destructive"]]]])
            try #require(reply.status == 200, "\(reply.text)")
            return orgA
        }
        let reply = try await app.call(
            .post, "/api/v1/agent/execute", token: people[.member]!.token,
            json: ["tool": "api_keys.revoke_api_key", "params": ["key_id": UUID().uuidString]])
        try #require(reply.string("status") == "awaiting_approval", "\(reply.text)")
        return try #require(reply.string("execution_id"))
    }

    func releaseBody() async throws -> [String: Any] {
        let stable = try await freshInferenceService()
        var canary = try await inferenceServiceBody()
        canary["parent_service_id"] = stable
        canary["traffic_percentage"] = 0
        return [
            "project_id": projectA, "name": Self.unique("rel"), "version": "1", "service_id": stable,
            "canary_service_id": try await create("/api/v1/inference/services", canary),
        ]
    }

    /// A queued evaluation job of project A (the matrix runs no engine) of an MLflow model on the shared dataset,
    /// stopped first when asked.
    func evaluation() async throws -> String { try await shared("evaluation") { try await freshEvaluation() } }

    func freshEvaluation(stopped: Bool = false) async throws -> String {
        let job = try await create("/api/v1/evaluation/jobs", try await evaluationBody())
        if stopped {
            let reply = try await app.call(.post, "/api/v1/evaluation/jobs/\(job)/stop", token: ownerToken)
            try #require(reply.status == 200, "\(reply.text)")
        }
        return job
    }

    func evaluationBody() async throws -> [String: Any] {
        [
            "project_id": projectA, "model": "models:/\(try await mlflowModel())/1", "benchmark": "classification",
            "dataset": ["dataset_id": try await dataset()], "target": "label", "resources": ["cpu": 0.1, "memory_mib": 64],
        ]
    }

    /// A test plan of project A, and a queued execution of the shared one (the matrix runs no engine).
    func testPlan() async throws -> String { try await shared("test-plan") { try await freshTestPlan() } }

    func freshTestPlan() async throws -> String {
        try await create("/api/v1/test/plans", ["project_id": projectA, "name": Self.unique("plan"), "config": ["command": "true", "cpu": 0.1]])
    }

    func testExecution() async throws -> String { try await shared("test-execution") { try await freshTestExecution() } }

    func freshTestExecution() async throws -> String {
        let reply = try await app.call(.post, "/api/v1/test/plans/\(try await testPlan())/execute", token: ownerToken)
        try #require(reply.status == 201, "\(reply.text)")
        return try #require(reply.string("id"))
    }

    /// A CartPole simulation environment of project A bound to the MLflow model, and a run of it (the matrix runs no
    /// engine: its scenario stays queued).
    func simulationEnvironment() async throws -> String { try await shared("simulation-env") { try await freshSimulationEnvironment() } }

    func freshSimulationEnvironment() async throws -> String {
        try await create("/api/v1/simulation/environments", try await simulationEnvironmentBody())
    }

    func simulationEnvironmentBody() async throws -> [String: Any] {
        [
            "project_id": projectA, "name": Self.unique("sim"), "template": "cartpole", "model": "models:/\(try await mlflowModel())/1",
            "scenario_config": ["seed_count": 2], "resources": ["cpu": 0.1, "memory_mib": 64],
        ]
    }

    func simulationRun() async throws -> String {
        try await shared("simulation-run") { try await create("/api/v1/simulation/environments/\(try await simulationEnvironment())/runs", [:]) }
    }

    /// A registered model whose version 1 is an MLflow model (its files hold an MLmodel), as evaluations need.
    func mlflowModel() async throws -> String {
        try await shared("mlflow-model") {
            let name = Self.unique("mm")
            let artifacts = "\(try await experiment())/\(try await run())/artifacts/\(name)"
            let reply = try await app.callBytes(
                .put, "/api/2.0/mlflow-artifacts/artifacts/\(artifacts)/MLmodel", token: ownerToken, body: Data("flavors: {}\n".utf8),
                contentType: "application/octet-stream")
            try #require(reply.status == 200, "\(reply.text)")
            try await mlflow("registered-models/create", ["name": name])
            try await mlflow("model-versions/create", ["name": name, "source": "mlflow-artifacts:/\(artifacts)", "run_id": try await run()])
            return name
        }
    }

    func dataset() async throws -> String {
        try await shared("dataset") {
            let dataset = try await freshDataset()
            try #require(try await app.upload(ownerToken, dataset: dataset, path: "data.csv", data: NativeRecipes.csv).status == 200)
            let version = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/versions", token: ownerToken,
                json: ["version": "v1", "files": [["path": "data.csv", "sha256": sha256(NativeRecipes.csv), "size_bytes": NativeRecipes.csv.count]]])
            try #require(version.status == 201, "\(version.text)")
            return dataset
        }
    }

    func freshDataset() async throws -> String {
        try await create("/api/v1/projects/\(projectA)/datasets", ["name": Self.unique("d"), "format": "csv"])
    }

    /// An open upload of new content into the shared dataset, nothing received yet.
    func freshUpload() async throws -> (id: String, content: Data) {
        let content = Data("fresh \(UUID())\n".utf8)
        let id = try await create(
            "/api/v1/datasets/\(try await dataset())/uploads", ["sha256": sha256(content), "size_bytes": content.count, "path": "more.txt"])
        return (id, content)
    }
}
