import AITIPCore
import Foundation
import Identity

/// A new model version for a release (Flagger's new revision during an analysis, flagger#30): the release's canary is
/// replaced by another canary of the same service. An analysis of the old version says nothing about the new one, so
/// a release rolling out starts again: its gates are read for the new version first (a failing gate refuses the change
/// and nothing moves), the old canary's traffic goes to 0 % at once, and the new canary starts at the first stage with
/// a new analysis — unless the release needs approvals, which were given to the old version: then all traffic goes
/// back where it was before the rollout and the release waits for them again. A release not rolling out is simply
/// edited (its approvals cleared, as for any change to what was approved); one in production is a finished rollout.
extension ReleaseService {
    func retarget(_ release: Release, to canaryId: UUID, _ change: Change, caller: Caller) async throws -> Release {
        let principal = try caller.requirePrincipal()
        guard release.isModel else { throw AppError.badRequest("canary_service_id is for model releases") }
        guard release.strategy != "rolling" || !release.status.isRollingOut else {
            throw AppError.conflict("A rolling release has replaced replicas with its canary's: roll it back before changing its canary")
        }
        guard change.canaryStages == nil, change.approvalPolicy == nil, change.analysis == nil else {
            throw AppError.badRequest("Change canary_service_id on its own (with gates or changelog if need be)")
        }
        guard release.status != .production else {
            throw AppError.conflict("Release \(release.name) \(release.version) is in production: create a new release for another model version")
        }
        guard let family = try await inference.family(of: release.serviceId),
            let canary = family.canaries.first(where: { $0.id == canaryId })
        else {
            throw AppError.validation([FieldError(field: "canary_service_id", message: "is not a live (not shadow) canary of the release's service")])
        }
        guard canary.trafficPercentage == 0 else {
            throw AppError.validation([
                FieldError(field: "canary_service_id", message: "takes \(canary.trafficPercentage) % of the traffic; a new canary starts at 0 %")
            ])
        }
        var retargeted = release
        retargeted.canaryServiceId = canary.id
        retargeted.modelId = canary.modelId
        retargeted.modelName = canary.modelName
        retargeted.modelVersion = canary.modelVersion
        retargeted.modelVersionId = try await inference.modelVersionId(of: canary)
        if let gates = change.gates { retargeted.gates = Self.json(gates) }
        if release.status.isRollingOut {
            let failed = await checkGates(retargeted, caller: caller).filter { !$0.passed }
            guard failed.isEmpty else {
                throw AppError.conflict(
                    "\(canary.modelURI) is blocked by the release's gates: \(failed.map { "\($0.gate): \($0.detail)" }.joined(separator: "; "))")
            }
        }
        let target = retargeted
        let old = "models:/\(release.modelName)/\(release.modelVersion)"
        let moved = try await transition(release.id, caller: caller, action: "release.update") { current, sql in
            guard current.updatedMs == release.updatedMs else { throw AppError.conflict("The release changed meanwhile; try again") }
            let from = current.status
            let rollingOut = current.status.isRollingOut
            let stageWas = current.stagePercent
            var baseline = current.decodedBaseline
            // The old canary leaves the rollout: at 0 % now, and after a rollback too.
            baseline[current.canaryServiceId] = 0
            baseline[canary.id] = nil
            current.baselineShares = Self.json(Dictionary(uniqueKeysWithValues: baseline.map { ($0.key.lowercasedString, $0.value) }))
            current.canaryServiceId = target.canaryServiceId
            current.modelId = target.modelId
            current.modelName = target.modelName
            current.modelVersion = target.modelVersion
            current.modelVersionId = target.modelVersionId
            current.gates = target.gates
            if let changelog = change.changelog { current.changelog = changelog }
            let required = current.decodedApprovalPolicy.required
            if rollingOut, required == 0 {
                Self.enter(stage: 0, of: &current, at: clock.now().epochMilliseconds)
                return (
                    principal, "model_changed", from,
                    "\(canary.modelURI) replaces \(old) at \(stageWas ?? 0) %: the analysis restarts at stage 1 (\(current.stagePercent ?? 0) %)"
                )
            }
            try await ReleaseStore.clearApprovals(of: current.id, on: sql)
            current.approvedBy = nil
            current.approvedMs = nil
            current.currentStage = -1
            current.stageStartedMs = nil
            current.passedIntervals = 0
            current.inconclusiveIntervals = 0
            current.status = required == 0 ? .approved : .pendingApproval
            current.approvalStatus = required == 0 ? .approved : .pending
            let waiting = required == 0 ? "ready to deploy" : "waiting for \(required) approval(s) of the new version"
            current.statusReason = "\(canary.modelURI) replaces \(old): \(rollingOut ? "all traffic back where it was; " : "")\(waiting)"
            return (principal, "model_changed", from, current.statusReason)
        }
        try await applyTraffic(moved, caller: caller)
        wakeup.signal()
        return moved
    }
}
