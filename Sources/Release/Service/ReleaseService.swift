import AITIPCore
import Datasets
import Evaluation
import Events
import Foundation
import Gateway
import Identity
import Inference
import SQLKit
import Simulation
import Storage
import TestPlans
import Workloads

/// The release pipeline (design §1–2 release service, §4.1 `/releases`): a registered model version, already deployed
/// as a canary of an inference service with no traffic, is approved, checked against its gates (evaluation, tests,
/// simulation), then moved through `canary_stages` of the service's traffic while `ReleaseController` compares it
/// with the stable version at each stage — promoting it on success, rolling it back on failure, pausing when the
/// figures cannot decide. Every change is a timeline event and an audit entry.
package struct ReleaseService: Sendable {
    let database: Database
    let clock: any Clock
    let audit: AuditLog
    let projects: ProjectScopes
    package let inference: InferenceService
    let evaluation: EvaluationService
    let testing: TestPlanService
    let simulation: SimulationService
    let datasets: DatasetService
    let workloads: WorkloadService
    /// The rules a deploy step's webhook is sent under (those of project webhooks).
    let webhooks: WebhookService.Configuration
    /// Rings when a release starts rolling out or changes stage (the controller runs a pass).
    package let wakeup = Wakeup()

    package init(
        database: Database, clock: any Clock, audit: AuditLog, inference: InferenceService, evaluation: EvaluationService,
        testing: TestPlanService, simulation: SimulationService, datasets: DatasetService, workloads: WorkloadService,
        webhooks: WebhookService.Configuration
    ) {
        self.database = database
        self.clock = clock
        self.audit = audit
        projects = ProjectScopes(database: database)
        self.inference = inference
        self.evaluation = evaluation
        self.testing = testing
        self.simulation = simulation
        self.datasets = datasets
        self.workloads = workloads
        self.webhooks = webhooks
    }

    static let releaseTypes = ["model", "firmware", "service", "config"]
    static let strategies = ["canary", "blue-green", "rolling"]

    /// What a user gives to create a release (unset: the defaults).
    package struct Input: Sendable {
        package var name: String?
        package var version: String?
        package var changelog: String?
        package var releaseType: String?
        package var strategy: String?
        package var serviceId: UUID?
        package var canaryServiceId: UUID?
        package var canaryStages: [Int]?
        package var approvalPolicy: ApprovalPolicy?
        package var gates: Gates?
        package var analysis: AnalysisPolicy?
        /// Other release types: the dataset file rolled out, and how.
        package var artifact: ArtifactChoice?
        package var deployTarget: DeployTarget?

        package init(
            name: String?, version: String?, changelog: String? = nil, releaseType: String? = nil, strategy: String? = nil, serviceId: UUID?,
            canaryServiceId: UUID?, canaryStages: [Int]? = nil, approvalPolicy: ApprovalPolicy? = nil, gates: Gates? = nil,
            analysis: AnalysisPolicy? = nil, artifact: ArtifactChoice? = nil, deployTarget: DeployTarget? = nil
        ) {
            self.name = name
            self.version = version
            self.changelog = changelog
            self.releaseType = releaseType
            self.strategy = strategy
            self.serviceId = serviceId
            self.canaryServiceId = canaryServiceId
            self.canaryStages = canaryStages
            self.approvalPolicy = approvalPolicy
            self.gates = gates
            self.analysis = analysis
            self.artifact = artifact
            self.deployTarget = deployTarget
        }
    }

    /// A file of a dataset version (`version` nil: the dataset's latest).
    package struct ArtifactChoice: Sendable {
        package var datasetId: UUID
        package var version: String?
        package var path: String

        package init(datasetId: UUID, version: String?, path: String) {
            self.datasetId = datasetId
            self.version = version
            self.path = path
        }
    }

    package func create(_ input: Input, project projectId: UUID, caller: Caller) async throws -> Release {
        let scope = try await projects.scope(.id(projectId), permission: .releaseWrite, caller: caller)
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        let name = validator.requireText(input.name, "name", maxLength: 200)
        let version = validator.requireText(input.version, "version", maxLength: 50)
        let changelog = input.changelog ?? ""
        validator.check(changelog.count <= 20_000, "changelog", "is longer than 20,000 characters")
        let type = input.releaseType ?? "model"
        validator.check(Self.releaseTypes.contains(type), "release_type", "must be one of model, firmware, service, config")
        let strategy = input.strategy ?? "canary"
        validator.check(Self.strategies.contains(strategy), "strategy", "must be canary, blue-green or rolling")
        var stages = input.canaryStages ?? (strategy == "blue-green" ? [100] : [5, 20, 50, 100])
        Self.checkStages(stages, strategy: strategy, into: &validator)
        let policy = input.approvalPolicy ?? ApprovalPolicy()
        Self.checkApprovalPolicy(policy, into: &validator)
        let analysis = input.analysis ?? AnalysisPolicy()
        Self.checkAnalysis(analysis, into: &validator)
        let gates = input.gates ?? Gates()
        if type == "model" {
            validator.check(input.serviceId != nil, "service_id", "is required: the inference service whose traffic the release moves")
            validator.check(
                input.canaryServiceId != nil, "canary_service_id",
                "is required: a canary of that service serving the release's model version (deploy it with traffic_percentage 0)")
            validator.check(input.artifact == nil, "artifact", "is for firmware, service and config releases (a model release rolls out its canary)")
            validator.check(input.deployTarget == nil, "deploy_target", "is for firmware, service and config releases")
        } else {
            Self.checkDeployable(input, gates: gates, into: &validator)
        }
        try validator.finish()
        let now = clock.now().epochMilliseconds
        var release = Release(
            id: IDGenerator.uuidV7(at: clock.now()), orgId: scope.orgId, projectId: scope.projectId, name: name, releaseType: type,
            version: version, changelog: changelog, strategy: strategy, serviceId: Self.noService, canaryServiceId: Self.noService,
            modelId: nil, modelName: "", modelVersion: "", modelVersionId: nil, canaryStages: Self.json(stages), currentStage: -1,
            status: policy.required == 0 ? .approved : .pendingApproval,
            statusReason: policy.required == 0 ? "no approval needed" : "waiting for \(policy.required) approval(s)",
            approvalPolicy: Self.json(policy), gates: Self.json(gates), analysis: Self.json(analysis),
            approvalStatus: policy.required == 0 ? .approved : .pending, approvedBy: nil, approvedMs: nil, baselineShares: nil,
            baselineReplicas: nil, stageStartedMs: nil, passedIntervals: 0, inconclusiveIntervals: 0, artifact: nil, artifactVersionId: nil,
            deployTarget: nil,
            appliedStage: -1,
            stepWorkloadId: nil, stepAttempts: 0, rolledBackMs: nil, rolledBackBy: nil, rollbackReason: nil, createdBy: principal.userId,
            createdMs: now, updatedMs: now)
        let what: String
        if type == "model" {
            let family = try await inference.family(of: input.serviceId!)
            guard let family, family.stable.projectId == scope.projectId, family.stable.parentServiceId == nil else {
                throw AppError.validation([FieldError(field: "service_id", message: "is not a stable inference service of this project")])
            }
            guard let canary = family.canaries.first(where: { $0.id == input.canaryServiceId }) else {
                throw AppError.validation([
                    FieldError(field: "canary_service_id", message: "is not a live (not shadow) canary of service \(family.stable.name)")
                ])
            }
            if strategy == "rolling" {
                stages = try await checkRolling(stable: family.stable.id, canary: canary.id, stages: input.canaryStages)
                release.canaryStages = Self.json(stages)
            }
            (release.serviceId, release.canaryServiceId) = (family.stable.id, canary.id)
            (release.modelId, release.modelName, release.modelVersion) = (canary.modelId, canary.modelName, canary.modelVersion)
            release.modelVersionId = try await inference.modelVersionId(of: canary)
            what = "\(canary.modelURI) to \(family.stable.name)"
        } else {
            try await checkDeployTarget(input.deployTarget!, in: scope, ownerId: principal.userId)
            let artifact = try await resolveArtifact(input.artifact!, in: scope, caller: caller)
            release.artifact = Self.json(artifact)
            release.artifactVersionId = artifact.versionId
            release.deployTarget = Self.json(input.deployTarget!)
            what = "\(artifact.datasetName)/\(artifact.version)/\(artifact.path) by \(input.deployTarget!.type.rawValue)"
        }
        let created = release
        try await database.transaction { sql in
            try await ReleaseStore.insert(created, on: sql)
            try await record(event(created, actor: principal, kind: "created", from: nil, to: created.status, detail: what), of: created, on: sql)
            try await audit.record(
                on: sql, caller, orgId: scope.orgId, action: "release.create", targetType: "release", targetId: created.id.lowercasedString,
                detail: "\(name) \(version): \(what)")
        }
        return created
    }

    package func list(project projectId: UUID, page: PageRequest, caller: Caller) async throws -> Page<Release> {
        let scope = try await projects.scope(.id(projectId), permission: .releaseRead, caller: caller)
        let rows = try await database.read { sql in
            try await ReleaseStore.releases(project: scope.projectId, after: page.after, limit: page.limit + 1, on: sql)
        }
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    /// A release with its timeline, approvals and gates' evidence as they stand now.
    package struct View: Sendable {
        package var release: Release
        package var events: [ReleaseEvent]
        package var approvals: [ReleaseApproval]
        package var gates: [GateCheck]
        /// The canary's share of the service's traffic as set now (nil: the service or the canary is gone).
        package var canaryShare: Int?
    }

    package func get(_ id: UUID, caller: Caller) async throws -> View {
        try await view(of: try await authorized(id, .releaseRead, caller: caller), caller: caller)
    }

    /// The whole view of a release the caller has just been allowed to act on (what the acts answer).
    package func view(of release: Release, caller: Caller) async throws -> View {
        let id = release.id
        let (events, approvals) = try await database.read { sql in
            (try await ReleaseStore.events(of: id, on: sql), try await ReleaseStore.approvals(of: id, on: sql))
        }
        // The share as set (the gateway applies it whenever the service has ready replicas).
        let share =
            release.isModel
            ? try await inference.family(of: release.serviceId)?.canaries.first { $0.id == release.canaryServiceId }?.trafficPercentage : nil
        return View(release: release, events: events, approvals: approvals, gates: await checkGates(release, caller: caller), canaryShare: share)
    }

    /// What may change before a rollout: a change to what was approved (stages, gates, analysis, approvers) takes the
    /// release back to waiting for approval.
    package struct Change: Sendable {
        /// A new canary (a new model version): see `retarget`.
        package var canaryServiceId: UUID?
        package var changelog: String?
        package var canaryStages: [Int]?
        package var approvalPolicy: ApprovalPolicy?
        package var gates: Gates?
        package var analysis: AnalysisPolicy?

        package init(
            canaryServiceId: UUID? = nil, changelog: String? = nil, canaryStages: [Int]? = nil, approvalPolicy: ApprovalPolicy? = nil,
            gates: Gates? = nil, analysis: AnalysisPolicy? = nil
        ) {
            self.canaryServiceId = canaryServiceId
            self.changelog = changelog
            self.canaryStages = canaryStages
            self.approvalPolicy = approvalPolicy
            self.gates = gates
            self.analysis = analysis
        }
    }

    package func update(_ id: UUID, _ change: Change, caller: Caller) async throws -> Release {
        let release = try await authorized(id, .releaseWrite, caller: caller)
        if let canary = change.canaryServiceId, canary != release.canaryServiceId {
            return try await retarget(release, to: canary, change, caller: caller)
        }
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        if let changelog = change.changelog { validator.check(changelog.count <= 20_000, "changelog", "is longer than 20,000 characters") }
        if let stages = change.canaryStages { Self.checkStages(stages, strategy: release.strategy, into: &validator) }
        if let policy = change.approvalPolicy { Self.checkApprovalPolicy(policy, into: &validator) }
        if let analysis = change.analysis { Self.checkAnalysis(analysis, into: &validator) }
        try validator.finish()
        return try await transition(id, caller: caller, action: "release.update") { release, sql in
            guard !release.status.isRollingOut, release.status != .production else {
                throw AppError.conflict("Release \(release.name) is \(release.status.rawValue): roll it back before changing it")
            }
            let from = release.status
            if let changelog = change.changelog { release.changelog = changelog }
            var approved: [String] = []
            if let stages = change.canaryStages { (release.canaryStages, approved) = (Self.json(stages), approved + ["canary_stages"]) }
            if let policy = change.approvalPolicy { (release.approvalPolicy, approved) = (Self.json(policy), approved + ["approval_policy"]) }
            if let gates = change.gates { (release.gates, approved) = (Self.json(gates), approved + ["gates"]) }
            if let analysis = change.analysis { (release.analysis, approved) = (Self.json(analysis), approved + ["analysis"]) }
            if !approved.isEmpty {
                // Approvals were given to what the release was: they do not carry over to a changed one.
                try await ReleaseStore.clearApprovals(of: id, on: sql)
                let required = release.decodedApprovalPolicy.required
                release.status = required == 0 ? .approved : .pendingApproval
                release.approvalStatus = required == 0 ? .approved : .pending
                release.approvedBy = nil
                release.approvedMs = nil
                release.statusReason =
                    required == 0 ? "no approval needed" : "changed (\(approved.joined(separator: ", "))): waiting for \(required) approval(s)"
            }
            return (principal, "updated", from, approved.isEmpty ? "changelog" : approved.joined(separator: ", "))
        }
    }

    package func delete(_ id: UUID, caller: Caller) async throws {
        let release = try await authorized(id, .releaseDelete, caller: caller)
        guard !release.status.isRollingOut else {
            throw AppError.conflict("Release \(release.name) is rolling out; roll it back first")
        }
        try await database.transaction { sql in
            try await ReleaseStore.delete(id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: release.orgId, action: "release.delete", targetType: "release", targetId: id.lowercasedString,
                detail: "\(release.name) \(release.version)")
        }
    }

    func authorized(_ id: UUID, _ permission: Permission, caller: Caller) async throws -> Release {
        let principal = try caller.requirePrincipal()
        guard let release = try await database.read({ sql in try await ReleaseStore.release(id, on: sql) }),
            principal.visibleOrgIds.contains(release.orgId)
        else { throw AppError.notFound("Release") }
        try Policy.authorize(principal, permission, on: Policy.Resource(kind: "Release", orgId: release.orgId, projectId: release.projectId))
        return release
    }

    // MARK: checks

    static func checkStages(_ stages: [Int], strategy: String, into validator: inout Validator) {
        validator.check((1...20).contains(stages.count), "canary_stages", "must hold 1 to 20 percentages")
        validator.check(stages.allSatisfy { (1...100).contains($0) }, "canary_stages", "must be percentages from 1 to 100")
        validator.check(zip(stages, stages.dropFirst()).allSatisfy { $0 < $1 }, "canary_stages", "must increase")
        validator.check(stages.last == 100, "canary_stages", "must end at 100 (the release in production)")
        if strategy == "blue-green" { validator.check(stages == [100], "canary_stages", "a blue-green release switches at once: [100]") }
    }

    static func checkApprovalPolicy(_ policy: ApprovalPolicy, into validator: inout Validator) {
        validator.check((0...20).contains(policy.required), "approval_policy.required", "must be between 0 and 20")
        validator.check(
            policy.roles.allSatisfy { Role(rawValue: $0) != nil }, "approval_policy.roles", "must be roles: viewer, member, admin, owner")
        validator.check(
            policy.users.count <= 100 && policy.users.allSatisfy { (1...200).contains($0.count) }, "approval_policy.users", "must be usernames")
        validator.check((0...8_760).contains(policy.expiresHours), "approval_policy.expires_hours", "must be between 0 and 8760")
    }

    static func checkAnalysis(_ analysis: AnalysisPolicy, into validator: inout Validator) {
        validator.check((1...3_600).contains(analysis.intervalSeconds), "analysis.interval_seconds", "must be between 1 and 3600")
        validator.check((1...1_000_000).contains(analysis.minRequests), "analysis.min_requests", "must be between 1 and 1000000")
        validator.check((0...1).contains(analysis.maxErrorRate), "analysis.max_error_rate", "must be between 0 and 1")
        validator.check(
            analysis.maxLatencyRatio.isFinite && (1...1_000).contains(analysis.maxLatencyRatio), "analysis.max_latency_ratio",
            "must be between 1 and 1000")
        validator.check((1...100).contains(analysis.intervalsPerStage), "analysis.intervals_per_stage", "must be between 1 and 100")
        validator.check((1...100).contains(analysis.maxInconclusive), "analysis.max_inconclusive", "must be between 1 and 100")
        validator.check(
            (10...604_800).contains(analysis.pauseTimeoutSeconds), "analysis.pause_timeout_seconds", "must be between 10 and 604800")
    }

    // MARK: helpers

    static func json<Value: Encodable>(_ value: Value) -> String {
        String(decoding: (try? JSONEncoder.sorted.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Adds `entry` to the release's timeline and queues its webhook event (Events), in the caller's transaction: a
    /// transition that commits is announced, one that does not is not. `analysis_failed` is announced as
    /// `release.rolled_back` (what it did), the other verdicts as `release.analysis`.
    func record(_ entry: ReleaseEvent, of release: Release, on sql: any SQLDatabase) async throws {
        try await ReleaseStore.insert(entry, on: sql)
        let event =
            switch entry.kind {
            case "analysis_failed", "step_failed": "release.rolled_back"
            case "analysis_passed", "analysis_inconclusive", "stage_deployed", "step_retry", "baked": "release.analysis"
            default: "release.\(entry.kind)"
            }
        guard WebhookEvents.supported.contains(event) else { return }
        var data: [String: JSONValue] = [
            "release_id": .string(release.id.lowercasedString), "project_id": .string(release.projectId.lowercasedString),
            "name": .string(release.name), "version": .string(release.version), "release_type": .string(release.releaseType),
            "kind": .string(entry.kind), "status": .string(release.status.rawValue),
            "canary_percentage": .number(Double(Self.shares(for: release)[release.canaryServiceId] ?? 0)), "actor": .string(entry.actorName),
            "detail": .string(entry.detail), "at_ms": .number(Double(entry.atMs)),
        ]
        if release.isModel {
            data["model"] = .string("models:/\(release.modelName)/\(release.modelVersion)")
            data["service_id"] = .string(release.serviceId.lowercasedString)
            data["canary_service_id"] = .string(release.canaryServiceId.lowercasedString)
        } else if let artifact = release.decodedArtifact {
            data["artifact_sha256"] = .string(artifact.sha256)
        }
        if let from = entry.fromStatus { data["from_status"] = .string(from) }
        if release.currentStage >= 0 { data["stage"] = .number(Double(release.currentStage + 1)) }
        try await WebhookService.enqueue(event, data: data, projectId: release.projectId, nowMs: entry.atMs, on: sql)
    }

    func event(_ release: Release, actor: Principal?, kind: String, from: Release.Status?, to: Release.Status?, detail: String) -> ReleaseEvent {
        ReleaseEvent(
            id: IDGenerator.uuidV7(at: clock.now()), releaseId: release.id, atMs: clock.now().epochMilliseconds, actorId: actor?.userId,
            actorName: actor?.username ?? "aitip", kind: kind, fromStatus: from?.rawValue, toStatus: to?.rawValue, detail: detail)
    }
}
