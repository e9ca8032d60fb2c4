import AITIPCore
import Foundation
import Identity
import SQLKit
import Storage
import Synchronization

/// Approvals and the rollout's transitions: deploy (gates, then the first stage), promote (the next stage, or
/// production), rollback (all traffic back to what it was). Each saves the release and a timeline event in one
/// transaction, then moves the traffic through Inference's `setShares`; the controller puts the traffic back in line
/// with the saved stage on every pass, so a move interrupted by a crash is finished after the restart.
extension ReleaseService {
    // MARK: approvals

    package func approve(_ id: UUID, approve: Bool, comment: String?, caller: Caller) async throws -> Release {
        let release = try await authorized(id, Permission(.release, .approve), caller: caller)
        let principal = try caller.requirePrincipal()
        let policy = release.decodedApprovalPolicy
        let comment = comment ?? ""
        var validator = Validator()
        validator.check(comment.count <= 5_000, "comment", "is longer than 5,000 characters")
        try validator.finish()
        guard release.status == .pendingApproval || release.status == .approved else {
            throw AppError.conflict("Release \(release.name) is \(release.status.rawValue): approvals are taken while it waits for them")
        }
        guard principal.userId != release.createdBy else { throw AppError(.forbidden, "You created this release: someone else must approve it") }
        if policy.requireHuman, principal.apiKeyId != nil {
            throw AppError(.forbidden, "This release needs a person's approval: sign in to approve (an API key cannot)")
        }
        if !policy.users.isEmpty || !policy.roles.isEmpty {
            let role = principal.memberships[release.orgId]?.rawValue ?? ""
            guard policy.users.contains(principal.username) || policy.roles.contains(role) else {
                throw AppError(.forbidden, "You are not among this release's approvers (\((policy.users + policy.roles).joined(separator: ", ")))")
            }
        }
        let now = clock.now().epochMilliseconds
        return try await transition(id, caller: caller, action: approve ? "release.approve" : "release.reject") { release, sql in
            try await ReleaseStore.record(
                ReleaseApproval(
                    releaseId: id, userId: principal.userId, username: principal.username, approved: approve, comment: comment, atMs: now),
                on: sql)
            let from = release.status
            if !approve {
                release.status = .rejected
                release.approvalStatus = .rejected
                release.statusReason = "rejected by \(principal.username)\(comment.isEmpty ? "" : ": \(comment)")"
                return (principal, "rejected", from, comment)
            }
            let valid = Self.validApprovals(try await ReleaseStore.approvals(of: id, on: sql), policy: policy, now: now)
            if valid.count >= policy.required, release.status == .pendingApproval {
                release.status = .approved
                release.approvalStatus = .approved
                release.approvedBy = principal.userId
                release.approvedMs = now
                release.statusReason = "approved by \(valid.map(\.username).joined(separator: ", "))"
            } else if release.status == .pendingApproval {
                release.statusReason = "\(valid.count) of \(policy.required) approvals"
            }
            return (principal, "approved", from, comment)
        }
    }

    /// Approvals that still count: yes-votes younger than the policy's expiry.
    static func validApprovals(_ approvals: [ReleaseApproval], policy: ApprovalPolicy, now: Int64) -> [ReleaseApproval] {
        approvals.filter { $0.approved && (policy.expiresHours == 0 || now - $0.atMs <= Int64(policy.expiresHours) * 3_600_000) }
    }

    // MARK: rollout

    /// Starts the rollout (from `approved`, or again after a rollback), or resumes a paused one at its stage.
    package func deploy(_ id: UUID, caller: Caller) async throws -> Release {
        let release = try await authorized(id, .releaseWrite, caller: caller)
        let principal = try caller.requirePrincipal()
        if release.status == .paused {
            return try await transition(id, caller: caller, action: "release.resume") { release, _ in
                release.status = .canary
                release.statusReason = "resumed by \(principal.username) at \(release.stagePercent ?? 0) %"
                release.passedIntervals = 0
                release.inconclusiveIntervals = 0
                release.stageStartedMs = clock.now().epochMilliseconds
                return (principal, "resumed", .paused, "")
            }
        }
        guard release.status == .approved || release.status == .rolledBack else {
            throw AppError.conflict("Release \(release.name) is \(release.status.rawValue): only an approved or rolled-back release is deployed")
        }
        let policy = release.decodedApprovalPolicy
        let approvals = try await database.read { sql in try await ReleaseStore.approvals(of: id, on: sql) }
        let valid = Self.validApprovals(approvals, policy: policy, now: clock.now().epochMilliseconds)
        guard valid.count >= policy.required else {
            throw AppError.conflict(
                "Release \(release.name) has \(valid.count) of the \(policy.required) approvals it needs (approvals expire after \(policy.expiresHours) h)"
            )
        }
        let failed = await checkGates(release, caller: caller).filter { !$0.passed }
        guard failed.isEmpty else {
            throw AppError.conflict(
                "Release \(release.name) is blocked by its gates: \(failed.map { "\($0.gate): \($0.detail)" }.joined(separator: "; "))")
        }
        if !release.isModel { return try await deploySteps(release, by: principal, caller: caller) }
        guard let family = try await inference.family(of: release.serviceId),
            family.canaries.contains(where: { $0.id == release.canaryServiceId })
        else { throw AppError.conflict("The release's service or canary no longer exists (or its canary became a shadow)") }
        let baseline = Dictionary(
            uniqueKeysWithValues: family.canaries.filter { $0.id != release.canaryServiceId }.map { ($0.id, $0.trafficPercentage) })
        var replicas: BaselineReplicas?
        if release.strategy == "rolling" {
            _ = try await checkRolling(stable: release.serviceId, canary: release.canaryServiceId, stages: release.stages)
            let stable = try await inference.replicaCounts(of: release.serviceId)
            let canary = try await inference.replicaCounts(of: release.canaryServiceId)
            replicas = BaselineReplicas(stable: stable?.desired ?? 1, canary: canary?.desired ?? 0)
        }
        let baselineReplicas = replicas
        let moved = try await transition(id, caller: caller, action: "release.deploy") { release, sql in
            guard release.status == .approved || release.status == .rolledBack else {
                throw AppError.conflict("The release changed meanwhile; try again")
            }
            let others = try await ReleaseStore.active(service: release.serviceId, on: sql).filter { $0.id != release.id }
            if let other = others.first {
                throw AppError.conflict("Release \(other.name) \(other.version) is rolling out on this service; wait for it or roll it back")
            }
            let from = release.status
            release.baselineShares = Self.json(Dictionary(uniqueKeysWithValues: baseline.map { ($0.key.lowercasedString, $0.value) }))
            release.baselineReplicas = baselineReplicas.map(Self.json)
            Self.enter(stage: 0, of: &release, at: clock.now().epochMilliseconds)
            release.rolledBackMs = nil
            release.rolledBackBy = nil
            release.rollbackReason = nil
            return (principal, "deployed", from, "stage 1: \(release.stagePercent ?? 0) %")
        }
        try await applyTraffic(moved, caller: caller)
        wakeup.signal()
        return moved
    }

    /// A firmware, service or config release's first stage: its deploy step runs from the controller.
    private func deploySteps(_ release: Release, by principal: Principal, caller: Caller) async throws -> Release {
        let moved = try await transition(release.id, caller: caller, action: "release.deploy") { release, sql in
            guard release.status == .approved || release.status == .rolledBack else {
                throw AppError.conflict("The release changed meanwhile; try again")
            }
            let from = release.status
            Self.enter(stage: 0, of: &release, at: clock.now().epochMilliseconds)
            release.rolledBackMs = nil
            release.rolledBackBy = nil
            release.rollbackReason = nil
            return (
                principal, "deployed", from,
                "stage 1: \(release.stagePercent ?? 0) % of the fleet, by \(release.decodedDeployTarget?.type.rawValue ?? "?")"
            )
        }
        wakeup.signal()
        return moved
    }

    /// The next stage now (whatever the analysis says), or production after the last.
    package func promote(_ id: UUID, caller: Caller) async throws -> Release {
        _ = try await authorized(id, .releaseWrite, caller: caller)
        let principal = try caller.requirePrincipal()
        let moved = try await transition(id, caller: caller, action: "release.promote") { release, _ in
            guard release.status.isRollingOut else {
                throw AppError.conflict("Release \(release.name) is \(release.status.rawValue): only a release rolling out is promoted")
            }
            return try self.advance(&release, by: principal, why: "promoted by \(principal.username)")
        }
        try await applyTraffic(moved, caller: caller)
        wakeup.signal()
        return moved
    }

    /// Every request back on the versions that served before the rollout, at once.
    package func rollback(_ id: UUID, reason: String?, caller: Caller) async throws -> Release {
        _ = try await authorized(id, .releaseWrite, caller: caller)
        let principal = try caller.requirePrincipal()
        let why = reason.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : String($0.prefix(2_000)) }
        let hadStep = Mutex((ran: false, running: UUID?.none))
        let moved = try await transition(id, caller: caller, action: "release.rollback") { release, _ in
            guard release.status.isRollingOut || release.status == .production || release.status == .rolledBack else {
                throw AppError.conflict("Release \(release.name) is \(release.status.rawValue): it holds no traffic to roll back")
            }
            let from = release.status
            hadStep.withLock {
                $0 = (release.status != .rolledBack && (release.appliedStage >= 0 || release.stepWorkloadId != nil), release.stepWorkloadId)
            }
            Self.rollBack(&release, by: principal.userId, reason: why ?? "rolled back by \(principal.username)", at: clock.now().epochMilliseconds)
            return (principal, "rolled_back", from, why ?? "")
        }
        try await applyTraffic(moved, caller: caller)
        let step = hadStep.withLock { $0 }
        await undoDeploySteps(moved, hadStep: step.ran, running: step.running)
        return moved
    }

    // MARK: the state machine's steps (also the controller's)

    static func enter(stage: Int, of release: inout Release, at ms: Int64) {
        release.currentStage = stage
        release.status = .canary
        release.stageStartedMs = ms
        release.passedIntervals = 0
        release.inconclusiveIntervals = 0
        release.stepAttempts = 0
        release.stepWorkloadId = nil
        release.statusReason =
            release.isModel
            ? "stage \(stage + 1) of \(release.stages.count): \(release.stages[stage]) % of the traffic"
            : "stage \(stage + 1) of \(release.stages.count): deploying to \(release.stages[stage]) % of the fleet"
    }

    /// Moves to the next stage, or to production after the last; answers the timeline entry.
    func advance(_ release: inout Release, by actor: Principal?, why: String) throws -> (Principal?, String, Release.Status?, String) {
        let from = release.status
        if release.currentStage + 1 < release.stages.count {
            Self.enter(stage: release.currentStage + 1, of: &release, at: clock.now().epochMilliseconds)
            return (actor, "promoted", from, "\(why): stage \(release.currentStage + 1), \(release.stagePercent ?? 0) %")
        }
        release.status = .production
        release.stageStartedMs = clock.now().epochMilliseconds
        release.statusReason =
            release.isModel ? "in production: the canary takes all of the service's traffic" : "in production: the whole fleet runs it"
        return (actor, "production", from, why)
    }

    static func rollBack(_ release: inout Release, by actor: UUID?, reason: String, at ms: Int64) {
        release.status = .rolledBack
        release.statusReason = reason
        release.rolledBackMs = ms
        release.rolledBackBy = actor
        release.rollbackReason = reason
        release.passedIntervals = 0
        release.inconclusiveIntervals = 0
        release.appliedStage = -1
        release.stepWorkloadId = nil
        release.stepAttempts = 0
    }

    /// The shares the release's status asks for: the canary at its stage (100 in production, 0 rolled back), the
    /// canaries that served before scaled into what is left (their shares as they were once rolled back).
    static func shares(for release: Release) -> [UUID: Int] {
        let baseline = release.decodedBaseline
        let percent: Int
        switch release.status {
        case .canary, .paused: percent = release.stagePercent ?? 0
        case .production: percent = 100
        default: percent = 0
        }
        var shares = baseline.mapValues { $0 * (100 - percent) / 100 }
        shares[release.canaryServiceId] = percent
        return shares
    }

    /// Moves the service's traffic to what the release's status asks for (nothing when it already is); a rolling
    /// release's replicas move with it (`applyWave`, `settleWave`). Answers whether the stage's traffic is in place (a
    /// rolling wave whose replicas are not ready yet keeps the traffic where it was).
    @discardableResult
    func applyTraffic(_ release: Release, caller: Caller) async throws -> Bool {
        guard release.isModel else { return true }
        let wanted = Self.shares(for: release)
        let percent = wanted[release.canaryServiceId] ?? 0
        guard try await applyWave(release, percent: percent, caller: caller) else { return false }
        guard let family = try await inference.family(of: release.serviceId) else { return true }
        let current = Dictionary(uniqueKeysWithValues: family.canaries.map { ($0.id, $0.trafficPercentage) })
        if wanted.contains(where: { current[$0.key] != nil && current[$0.key] != $0.value }) {
            let known = wanted.filter { current[$0.key] != nil }
            // The release's own audit entry (deploy, promote, rollback, the analysis's acts) records the move.
            try await inference.setShares(
                known, of: release.serviceId, caller: caller,
                detail: "release \(release.name) \(release.version) (\(release.status.rawValue)): canary \(known[release.canaryServiceId] ?? 0) %",
                audited: false)
        }
        try await settleWave(release, percent: percent, caller: caller)
        return true
    }

    /// Loads the release locked, lets `change` alter it (answering its timeline entry), saves both and audits.
    func transition(
        _ id: UUID, caller: Caller, action: String,
        _ change: @Sendable (inout Release, any SQLDatabase) async throws -> (Principal?, String, Release.Status?, String)
    ) async throws -> Release {
        try await database.transaction { sql in
            guard var release = try await ReleaseStore.release(id, locking: true, on: sql) else { throw AppError.notFound("Release") }
            let readAt = release.updatedMs
            let (actor, kind, from, detail) = try await change(&release, sql)
            release.updatedMs = max(readAt + 1, clock.now().epochMilliseconds)
            guard try await ReleaseStore.save(release, readAt: readAt, on: sql) else {
                throw AppError.conflict("The release changed meanwhile; try again")
            }
            try await record(event(release, actor: actor, kind: kind, from: from, to: release.status, detail: detail), of: release, on: sql)
            try await audit.record(
                on: sql, caller, orgId: release.orgId, action: action, targetType: "release", targetId: id.lowercasedString,
                detail: "\(release.name) \(release.version): \(kind)\(detail.isEmpty ? "" : " (\(detail))")")
            return release
        }
    }
}
