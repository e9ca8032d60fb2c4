import Foundation

/// A release (design §3 `releases`): a registered model version rolled out to an inference service's callers through
/// staged canary traffic, after approvals and gates, watched by a live analysis that promotes or rolls back.
///
/// `pending_approval → approved → canary ⇄ paused → production`, with `rejected` (an approver said no) and
/// `rolled_back` (by hand, by a failed analysis, or by a pause left unanswered) from which `deploy` starts again.
package struct Release: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var name: String
    /// `model`, or `firmware`, `service`, `config` (an artifact and a deploy step; no inference service).
    package var releaseType: String
    package var version: String
    package var changelog: String
    package var strategy: String
    /// The stable inference service whose endpoint the release moves, and the canary (a child of it serving the
    /// release's model version) that takes the traffic. Other release types have none: both hold the nil UUID (the
    /// columns are NOT NULL since migration 38, and SQLite cannot relax that without rebuilding the table, which
    /// would cascade into the timeline).
    package var serviceId: UUID
    package var canaryServiceId: UUID
    package var modelId: UUID?
    package var modelName: String
    package var modelVersion: String
    /// The registry's id of that model version (lineage: model version → release).
    package var modelVersionId: UUID?
    /// JSON array of percentages, increasing, ending at 100.
    package var canaryStages: String
    /// Index into the stages of the stage now served; -1 before the first deploy.
    package var currentStage: Int
    package var status: Status
    /// Why it is in its status now.
    package var statusReason: String
    /// JSON `ApprovalPolicy`, `Gates`, `AnalysisPolicy`.
    package var approvalPolicy: String
    package var gates: String
    package var analysis: String
    package var approvalStatus: ApprovalStatus
    package var approvedBy: UUID?
    package var approvedMs: Int64?
    /// JSON object: the shares (service id → percent) the other canaries of the service had when the rollout began;
    /// a rollback returns to them.
    package var baselineShares: String?
    /// JSON `{"stable": N, "canary": M}`: rolling releases, the replicas of both when the rollout began.
    package var baselineReplicas: String?
    package var stageStartedMs: Int64?
    /// Analysis intervals in a row that passed, and that could not decide, at the current stage.
    package var passedIntervals: Int
    package var inconclusiveIntervals: Int
    /// Firmware, service and config releases: JSON `ReleaseArtifact` and `DeployTarget` (nil for model releases), the
    /// stage whose deploy step has succeeded (-1: none yet), the workload running a step, and tries of the current one.
    package var artifact: String?
    /// The artifact's dataset version, for the lineage graph.
    package var artifactVersionId: UUID?
    package var deployTarget: String?
    package var appliedStage: Int
    package var stepWorkloadId: UUID?
    package var stepAttempts: Int
    package var rolledBackMs: Int64?
    package var rolledBackBy: UUID?
    package var rollbackReason: String?
    package var createdBy: UUID?
    package var createdMs: Int64
    package var updatedMs: Int64

    package enum Status: String, Sendable, Codable, CaseIterable {
        case pendingApproval = "pending_approval"
        case approved, rejected, canary, paused, production
        case rolledBack = "rolled_back"

        /// States where the release holds the service's traffic.
        package var isRollingOut: Bool { self == .canary || self == .paused }
    }

    package enum ApprovalStatus: String, Sendable, Codable {
        case pending, approved, rejected
    }

    enum CodingKeys: String, CodingKey {
        case id, name, version, changelog, strategy, status, gates, analysis
        case orgId = "org_id"
        case projectId = "project_id"
        case releaseType = "release_type"
        case serviceId = "service_id"
        case canaryServiceId = "canary_service_id"
        case modelId = "model_id"
        case modelName = "model_name"
        case modelVersion = "model_version"
        case modelVersionId = "model_version_id"
        case canaryStages = "canary_stages"
        case currentStage = "current_stage"
        case statusReason = "status_reason"
        case approvalPolicy = "approval_policy"
        case approvalStatus = "approval_status"
        case approvedBy = "approved_by"
        case approvedMs = "approved_ms"
        case baselineShares = "baseline_shares"
        case baselineReplicas = "baseline_replicas"
        case stageStartedMs = "stage_started_ms"
        case passedIntervals = "passed_intervals"
        case inconclusiveIntervals = "inconclusive_intervals"
        case artifact
        case artifactVersionId = "artifact_version_id"
        case deployTarget = "deploy_target"
        case appliedStage = "applied_stage"
        case stepWorkloadId = "step_workload_id"
        case stepAttempts = "step_attempts"
        case rolledBackMs = "rolled_back_ms"
        case rolledBackBy = "rolled_back_by"
        case rollbackReason = "rollback_reason"
        case createdBy = "created_by"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }

    package var stages: [Int] { (try? JSONDecoder().decode([Int].self, from: Data(canaryStages.utf8))) ?? [100] }
    package var stagePercent: Int? { currentStage >= 0 && currentStage < stages.count ? stages[currentStage] : nil }
    package var decodedApprovalPolicy: ApprovalPolicy { Self.decode(approvalPolicy) ?? ApprovalPolicy() }
    package var decodedGates: Gates { Self.decode(gates) ?? Gates() }
    package var decodedAnalysis: AnalysisPolicy { Self.decode(analysis) ?? AnalysisPolicy() }
    package var decodedArtifact: ReleaseArtifact? { artifact.flatMap(Self.decode) }
    package var decodedDeployTarget: DeployTarget? { deployTarget.flatMap(Self.decode) }
    /// A model release moves an inference service's traffic; the others run a deploy step per stage.
    package var isModel: Bool { releaseType == "model" }
    package var decodedBaseline: [UUID: Int] {
        let text: [String: Int] = baselineShares.flatMap(Self.decode) ?? [:]
        return Dictionary(uniqueKeysWithValues: text.compactMap { key, value in UUID(uuidString: key).map { ($0, value) } })
    }

    static func decode<Value: Decodable>(_ text: String) -> Value? { try? JSONDecoder().decode(Value.self, from: Data(text.utf8)) }
}

/// Who must approve a release before it is deployed.
package struct ApprovalPolicy: Sendable, Codable, Equatable {
    /// Approvals needed (N of the approvers); 0: none.
    package var required: Int = 1
    /// Roles whose members may approve (with `release:approve`); empty: any role that has it.
    package var roles: [String] = []
    /// Usernames who may approve (with `release:approve`); empty: anyone the roles allow.
    package var users: [String] = []
    /// A person must approve: an API key's approval (an agent, a pipeline) is refused.
    package var requireHuman: Bool = true
    /// Approvals older than this no longer count; 0: they never expire.
    package var expiresHours: Int = 72

    enum CodingKeys: String, CodingKey {
        case required, roles, users
        case requireHuman = "require_human"
        case expiresHours = "expires_hours"
    }

    package init(required: Int = 1, roles: [String] = [], users: [String] = [], requireHuman: Bool = true, expiresHours: Int = 72) {
        self.required = required
        self.roles = roles
        self.users = users
        self.requireHuman = requireHuman
        self.expiresHours = expiresHours
    }
}

/// What must have passed before traffic moves: each names the evidence (a run or execution of this project).
package struct Gates: Sendable, Codable, Equatable {
    /// An evaluation job of the release's model version whose gate passed.
    package var evaluationJobId: UUID?
    /// A test execution that ran and had no failed case.
    package var testExecutionId: UUID?
    /// A simulation run of the release's model version: completed, passed, on its environment's own suite, with the
    /// model in a sandbox of its own, and a safety score of at least `minSafetyScore`.
    package var simulationRunId: UUID?
    package var minSafetyScore: Double?

    enum CodingKeys: String, CodingKey {
        case evaluationJobId = "evaluation_job_id"
        case testExecutionId = "test_execution_id"
        case simulationRunId = "simulation_run_id"
        case minSafetyScore = "min_safety_score"
    }

    package init(evaluationJobId: UUID? = nil, testExecutionId: UUID? = nil, simulationRunId: UUID? = nil, minSafetyScore: Double? = nil) {
        self.evaluationJobId = evaluationJobId
        self.testExecutionId = testExecutionId
        self.simulationRunId = simulationRunId
        self.minSafetyScore = minSafetyScore
    }
}

/// How the canary is judged at each stage against the stable version, from the gateway's figures over each interval.
package struct AnalysisPolicy: Sendable, Codable, Equatable {
    package var intervalSeconds: Int = 30
    /// Fewer canary requests in an interval than this: inconclusive.
    package var minRequests: Int = 20
    /// The canary fails when its error rate (5xx or no answer) passes this…
    package var maxErrorRate: Double = 0.05
    /// …or its p99 latency passes the stable's times this (when both have figures).
    package var maxLatencyRatio: Double = 2.0
    /// Intervals in a row that must pass before the next stage.
    package var intervalsPerStage: Int = 2
    /// Inconclusive intervals in a row that pause the release (someone must look).
    package var maxInconclusive: Int = 3
    /// Move to the next stage by itself once a stage has passed (else wait for `promote`).
    package var autoPromote: Bool = true
    /// A pause nobody answers within this is rolled back.
    package var pauseTimeoutSeconds: Int = 3_600

    enum CodingKeys: String, CodingKey {
        case intervalSeconds = "interval_seconds"
        case minRequests = "min_requests"
        case maxErrorRate = "max_error_rate"
        case maxLatencyRatio = "max_latency_ratio"
        case intervalsPerStage = "intervals_per_stage"
        case maxInconclusive = "max_inconclusive"
        case autoPromote = "auto_promote"
        case pauseTimeoutSeconds = "pause_timeout_seconds"
    }

    package init() {}
}

/// One entry of a release's timeline: every change of status, stage, approval and analysis verdict, with who and why.
package struct ReleaseEvent: Sendable, Codable, Equatable {
    package var id: UUID
    package var releaseId: UUID
    package var atMs: Int64
    /// nil: aitip itself (the analysis, a timeout).
    package var actorId: UUID?
    package var actorName: String
    package var kind: String
    package var fromStatus: String?
    package var toStatus: String?
    package var detail: String

    enum CodingKeys: String, CodingKey {
        case id, kind, detail
        case releaseId = "release_id"
        case atMs = "at_ms"
        case actorId = "actor_id"
        case actorName = "actor_name"
        case fromStatus = "from_status"
        case toStatus = "to_status"
    }
}

/// One approver's decision.
package struct ReleaseApproval: Sendable, Codable, Equatable {
    package var releaseId: UUID
    package var userId: UUID
    package var username: String
    package var approved: Bool
    package var comment: String
    package var atMs: Int64

    enum CodingKeys: String, CodingKey {
        case username, approved, comment
        case releaseId = "release_id"
        case userId = "user_id"
        case atMs = "at_ms"
    }
}
