import AITIPCore
import Foundation
import Identity
import Inference

/// Rolling model releases: the canary's replicas replace the stable service's in waves, the service's capacity held.
/// At a stage of p %, the canary runs ⌈N·p/100⌉ replicas (N: the stable's replicas when the rollout began) and takes
/// p % of the traffic once they are ready; only then does the stable go down to N − ⌊N·p/100⌋ (never below one
/// replica or its minimum). A rollback puts the traffic back at once, then the replicas: the stable back to N, the
/// canary to what it had. The analysis judges each wave as a canary stage, from when its traffic is in place.
extension ReleaseService {
    package struct BaselineReplicas: Codable, Sendable, Equatable {
        var stable: Int
        var canary: Int
    }

    /// Checks a rolling release's services (fixed replicas: an autoscaler would fight the waves) and answers its waves:
    /// the stages given, or one per stable replica (at most ten).
    func checkRolling(stable: UUID, canary: UUID, stages: [Int]?) async throws -> [Int] {
        guard let counts = try await inference.replicaCounts(of: stable), let canaryCounts = try await inference.replicaCounts(of: canary) else {
            throw AppError.validation([FieldError(field: "service_id", message: "is gone")])
        }
        guard !counts.autoscaling, !canaryCounts.autoscaling else {
            throw AppError.validation([
                FieldError(
                    field: "strategy", message: "rolling replaces replicas in waves: the service and its canary need fixed replicas, not autoscaling")
            ])
        }
        guard counts.desired >= 1 else {
            throw AppError.validation([FieldError(field: "strategy", message: "rolling needs the stable service running (it has 0 replicas)")])
        }
        guard canaryCounts.max >= counts.desired else {
            throw AppError.validation([
                FieldError(
                    field: "strategy",
                    message: "the canary's max_replicas (\(canaryCounts.max)) is below the \(counts.desired) replicas it must replace")
            ])
        }
        if let stages { return stages }
        let waves = min(counts.desired, 10)
        return (1...waves).map { wave in (100 * wave + waves - 1) / waves }
    }

    /// The replicas of both services at `percent` % of a rolling rollout.
    static func waveReplicas(_ baseline: BaselineReplicas, percent: Int) -> (stable: Int, canary: Int) {
        let moved = baseline.stable * percent / 100
        let canary = (baseline.stable * percent + 99) / 100
        return (max(baseline.stable - moved, 1), percent == 0 ? baseline.canary : max(canary, baseline.canary))
    }

    /// Moves a rolling release's replicas toward its stage; answers whether the traffic may follow (the canary's wave
    /// is ready). Going back (a rollback), the traffic always may: the stable never went below one replica.
    func applyWave(_ release: Release, percent: Int, caller: Caller) async throws -> Bool {
        guard release.strategy == "rolling", let baseline: BaselineReplicas = release.baselineReplicas.flatMap(Release.decode),
            let canary = try await inference.replicaCounts(of: release.canaryServiceId)
        else { return true }
        let want = Self.waveReplicas(baseline, percent: percent)
        let detail = "release \(release.name) \(release.version) at \(percent) %"
        if percent == 0 {
            if canary.desired != want.canary {
                try await inference.setReplicas(release.canaryServiceId, to: want.canary, caller: caller, detail: detail)
            }
            return true
        }
        if canary.desired < want.canary { try await inference.setReplicas(release.canaryServiceId, to: want.canary, caller: caller, detail: detail) }
        return canary.ready >= want.canary
    }

    /// After the traffic moved: the stable service to its wave's replicas (back to all of them on a rollback).
    func settleWave(_ release: Release, percent: Int, caller: Caller) async throws {
        guard release.strategy == "rolling", let baseline: BaselineReplicas = release.baselineReplicas.flatMap(Release.decode),
            let stable = try await inference.replicaCounts(of: release.serviceId)
        else { return }
        let want = Self.waveReplicas(baseline, percent: percent).stable
        guard stable.desired != want else { return }
        try await inference.setReplicas(
            release.serviceId, to: want, caller: caller, detail: "release \(release.name) \(release.version) at \(percent) %")
    }
}
