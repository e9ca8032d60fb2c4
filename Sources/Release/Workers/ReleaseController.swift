import AITIPCore
import Foundation
import Gateway
import Identity
import Logging
import Storage
import Synchronization
import Workloads

/// Watches every release that is rolling out, on the server holding the workload engine's lease (App runs `cycle` in
/// a `LeaderWorker`: that server's gateway answers the service): keeps the service's traffic at the release's stage, judges the canary against the stable
/// version once per analysis interval (`CanaryAnalysis`), and acts on the verdict — the next stage after enough
/// passes (with `auto_promote`), an immediate rollback on a failure, a pause after too many inconclusive intervals, a
/// rollback of a pause nobody answered. Each act is a timeline event by "aitip".
///
/// The intervals' counts are the gateway's, in memory: after a server restart the release stays at its stage and a
/// new interval starts.
package final class ReleaseController: Sendable {
    let service: ReleaseService
    let logger: Logger
    /// The open analysis interval of each release: which stage it belongs to, when it began, and the gateway's
    /// counts for the canary and the stable version then.
    private let windows = Mutex<[UUID: Window]>([:])

    private struct Window {
        var stageKey: String
        var started: ContinuousClock.Instant
        var canary: VersionStats.Snapshot
        var stable: VersionStats.Snapshot
    }

    package init(service: ReleaseService, logger: Logger) {
        self.service = service
        self.logger = logger
    }

    static let system = Caller(principal: nil, origin: .system)

    package func cycle() async throws {
        let releases = try await service.database.read { sql in try await ReleaseStore.rollingOut(on: sql) }
        windows.withLock { windows in windows = windows.filter { id, _ in releases.contains { $0.id == id } } }
        for release in releases {
            do {
                try await step(release)
            } catch {
                logger.warning("release analysis step failed", metadata: ["release": "\(release.id)", "error": "\(error)"])
            }
        }
    }

    private func step(_ release: Release) async throws {
        guard release.isModel else { return try await deployStep(release) }
        let now = service.clock.now().epochMilliseconds
        let policy = release.decodedAnalysis
        guard try await service.applyTraffic(release, caller: Self.system) else {
            // A rolling wave whose replicas are still starting: its analysis begins once its traffic is in place; a
            // wave that never gets ready is rolled back rather than left waiting.
            windows.withLock { _ = $0.removeValue(forKey: release.id) }
            guard release.status == .canary, let since = release.stageStartedMs, now - since > Int64(policy.pauseTimeoutSeconds) * 1_000 else {
                return
            }
            return try await act(release) { release in
                let reason =
                    "the canary's replicas for \(release.stagePercent ?? 0) % were not ready within \(policy.pauseTimeoutSeconds) s: rolled back"
                ReleaseService.rollBack(&release, by: nil, reason: reason, at: now)
                return ("rolled_back", reason)
            }
        }
        if release.status == .paused {
            guard let since = release.stageStartedMs, now - since > Int64(policy.pauseTimeoutSeconds) * 1_000 else { return }
            return try await act(release) { release in
                let reason = "paused for more than \(policy.pauseTimeoutSeconds) s without an answer: rolled back"
                ReleaseService.rollBack(&release, by: nil, reason: reason, at: now)
                return ("rolled_back", reason)
            }
        }
        let gateway = service.inference.gateway
        let stableId = Self.stableVersion(of: release)
        let canary = gateway.stats(of: release.canaryServiceId)
        let stable = gateway.stats(of: stableId)
        let key = "\(release.currentStage)-\(release.stageStartedMs ?? 0)"
        let opened = windows.withLock { windows -> Window? in
            guard let window = windows[release.id], window.stageKey == key else {
                windows[release.id] = Window(stageKey: key, started: .now, canary: canary, stable: stable)
                return nil
            }
            guard ContinuousClock.now - window.started >= .seconds(policy.intervalSeconds) else { return nil }
            windows[release.id] = Window(stageKey: key, started: .now, canary: canary, stable: stable)
            return window
        }
        guard let opened else { return }
        let verdict = CanaryAnalysis.judge(
            canary: CanaryAnalysis.window(from: opened.canary, to: canary), stable: CanaryAnalysis.window(from: opened.stable, to: stable),
            policy: policy)
        try await act(release) { release in
            switch verdict {
            case .failed(let why):
                let reason = "analysis failed at \(release.stagePercent ?? 0) %: \(why); rolled back"
                ReleaseService.rollBack(&release, by: nil, reason: reason, at: now)
                return ("analysis_failed", reason)
            case .inconclusive(let why):
                release.inconclusiveIntervals += 1
                release.passedIntervals = 0
                guard release.inconclusiveIntervals >= policy.maxInconclusive else { return ("analysis_inconclusive", why) }
                release.status = .paused
                release.stageStartedMs = now
                release.statusReason =
                    "paused: \(release.inconclusiveIntervals) inconclusive intervals in a row (\(why)); promote, resume (deploy) or roll back"
                return ("paused", release.statusReason)
            case .passed(let why):
                release.passedIntervals += 1
                release.inconclusiveIntervals = 0
                guard release.passedIntervals >= policy.intervalsPerStage else { return ("analysis_passed", why) }
                guard policy.autoPromote else {
                    release.statusReason = "stage \(release.currentStage + 1) passed its analysis (\(why)); waiting to be promoted"
                    return ("analysis_passed", why)
                }
                let (_, kind, _, detail) = try self.service.advance(&release, by: nil, why: "analysis passed (\(why))")
                return (kind, detail)
            }
        }
    }

    /// A firmware, service or config release: runs the current stage's deploy step (a webhook tried again with growing
    /// pauses while the target cannot answer, or a workload followed until it ends); once the stage is in place, waits
    /// the bake time (`interval_seconds` × `intervals_per_stage`) and moves on (with `auto_promote`). A step that fails
    /// rolls the release back and tells the target to undo it.
    private func deployStep(_ release: Release) async throws {
        guard release.status == .canary, let target = release.decodedDeployTarget, let percent = release.stagePercent else { return }
        let now = service.clock.now().epochMilliseconds
        if release.appliedStage >= release.currentStage {
            let policy = release.decodedAnalysis
            let bake = Int64(policy.intervalSeconds * policy.intervalsPerStage) * 1_000
            guard let since = release.stageStartedMs, now - since >= bake else { return }
            guard policy.autoPromote else {
                let waiting = "stage \(release.currentStage + 1) is in place on \(percent) % of the fleet; waiting to be promoted"
                guard release.statusReason != waiting else { return }
                return try await act(release) { release in
                    release.statusReason = waiting
                    return ("baked", "no rollback during \(bake / 1_000) s at \(percent) %")
                }
            }
            return try await act(release) { release in
                let (_, kind, _, detail) = try self.service.advance(&release, by: nil, why: "no rollback during \(bake / 1_000) s at \(percent) %")
                return (kind, detail)
            }
        }
        let outcome: ReleaseService.StepOutcome
        switch target.type {
        case .webhook:
            // A step that could not reach its target waits 1, 2, 4 … s before the next try.
            if release.stepAttempts > 0, let since = release.stageStartedMs, now - since < 1_000 << Int64(release.stepAttempts - 1) { return }
            outcome = await service.callWebhook(release, target, action: .deploy, percent: percent)
        case .workload:
            if let id = release.stepWorkloadId {
                outcome = try await service.workloadOutcome(id)
            } else {
                do {
                    let id = try await service.startStepWorkload(release, target, action: .deploy, percent: percent)
                    return try await act(release) { release in
                        release.stepWorkloadId = id
                        return ("step_started", "workload \(id.lowercasedString) deploys to \(percent) % of the fleet")
                    }
                } catch let error as AppError {
                    // Refused for good (the artifact outgrew max_code_bytes, the code package is gone, a quota): no retry.
                    outcome = .failed("its workload could not start: \(error.detail)")
                }
            }
        }
        switch outcome {
        case .running:
            return
        case .inPlace(let why):
            try await act(release) { release in
                release.appliedStage = release.currentStage
                release.stageStartedMs = now
                release.stepWorkloadId = nil
                release.statusReason = "stage \(release.currentStage + 1) of \(release.stages.count): in place on \(percent) % of the fleet"
                return ("stage_deployed", "\(percent) %: \(why)")
            }
        case .retry(let why) where release.stepAttempts + 1 < DeployTarget.maxAttempts:
            try await act(release) { release in
                release.stepAttempts += 1
                release.stageStartedMs = now
                release.statusReason =
                    "stage \(release.currentStage + 1): \(why); try \(release.stepAttempts + 1) of \(DeployTarget.maxAttempts) soon"
                return ("step_retry", why)
            }
        case .retry(let why), .failed(let why):
            let reason = "the deploy step to \(percent) % failed: \(why); rolled back"
            try await act(release) { release in
                ReleaseService.rollBack(&release, by: nil, reason: reason, at: now)
                return ("step_failed", reason)
            }
            guard let saved = try await service.database.read({ sql in try await ReleaseStore.release(release.id, on: sql) }),
                saved.status == .rolledBack
            else { return }
            await service.undoDeploySteps(saved, hadStep: true)
        }
    }

    /// Saves what the analysis decided (unless someone changed the release meanwhile: their act wins), then moves the
    /// traffic to match.
    private func act(_ release: Release, _ change: @escaping @Sendable (inout Release) throws -> (String, String)) async throws {
        let id = release.id
        let before = release.status
        let saved: Release
        do {
            saved = try await service.transition(id, caller: Self.system, action: "release.analysis") { current, _ in
                guard current.updatedMs == release.updatedMs else { throw AppError.conflict("changed meanwhile") }
                let (kind, detail) = try change(&current)
                return (nil, kind, before, detail)
            }
        } catch let error as AppError where error.kind == .conflict {
            return
        }
        if saved.status != before || saved.currentStage != release.currentStage {
            logger.info(
                "release",
                metadata: ["release": "\(saved.name) \(saved.version)", "status": "\(saved.status.rawValue)", "why": "\(saved.statusReason)"])
        }
        try await service.applyTraffic(saved, caller: Self.system)
    }

    /// The version the canary is compared with: whichever served most of the traffic before the rollout (the stable
    /// service itself, or the canary an earlier release put in production).
    static func stableVersion(of release: Release) -> UUID {
        let baseline = release.decodedBaseline
        let parentShare = 100 - baseline.values.reduce(0, +)
        guard let (id, share) = baseline.max(by: { $0.value < $1.value }), share > parentShare else { return release.serviceId }
        return id
    }
}
