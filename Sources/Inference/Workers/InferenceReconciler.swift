import AITIPCore
import Foundation
import Gateway
import Identity
import Logging
import SQLKit
import Storage
import Synchronization
import Workloads

/// Keeps every inference service's replicas as wanted: starts the missing ones (workloads of the kind `inference`,
/// placed by the scheduler), checks each running one every cycle (readiness, then liveness, on its health path),
/// replaces one that died, failed its checks or never became ready, drains the surplus on scale-down and stop (out
/// of the split first, stopped once it has answered what it was answering), sets the services' status and health,
/// and publishes the gateway's splits.
///
/// It runs on the server that holds the workload engine's lease: the local executor's replicas listen on sockets of
/// that machine. After a restart it finds the replicas the engine adopted and checks them before they take requests.
package final class InferenceReconciler: Sendable {
    package struct Configuration: Sendable {
        package var interval: Duration
        /// Failed checks in a row that take a ready replica out and replace it, once they have gone on for
        /// `livenessGrace`: a replica busy with a long batch for a few seconds is not killed for it.
        package var livenessFailures: Int
        package var livenessGrace: Duration
        /// Replicas in a row that end before they are ever ready before the service is set to `error`.
        package var failedStartsBeforeError: Int
        package var drainTimeout: Duration

        package init(
            interval: Duration = .seconds(1), livenessFailures: Int = 3, livenessGrace: Duration = .seconds(10), failedStartsBeforeError: Int = 5,
            drainTimeout: Duration = .seconds(30)
        ) {
            self.interval = interval
            self.livenessFailures = livenessFailures
            self.livenessGrace = livenessGrace
            self.failedStartsBeforeError = failedStartsBeforeError
            self.drainTimeout = drainTimeout
        }
    }

    private struct Memory {
        /// Replicas taken out of the split, waiting for their in-flight requests before they are stopped.
        var draining: [UUID: ContinuousClock.Instant] = [:]
        /// Replicas of each service that ended in a row without ever being ready.
        var failedStarts: [UUID: Int] = [:]
        /// Each autoscaled service's recommendations.
        var autoscalers: [UUID: Autoscaler] = [:]
        /// Services scaled to zero that a request is waiting for (the gateway says so).
        var demanded: Set<UUID> = []
    }

    let service: InferenceService
    let lease: LeaderLease
    let configuration: Configuration
    let logger: Logger
    private let memory = Mutex(Memory())
    private let started = ContinuousClock.now

    package init(service: InferenceService, engineLease: LeaderLease, configuration: Configuration = .init(), logger: Logger) {
        self.service = service
        lease = engineLease
        self.configuration = configuration
        self.logger = logger
        service.gateway.onDemand { [weak self] id in self?.demand(id) }
    }

    /// A request waits for a service scaled to zero: the next cycle (now) starts a replica.
    private func demand(_ id: UUID) {
        _ = memory.withLock { $0.demanded.insert(id) }
        service.wakeup.signal()
    }

    /// Runs until cancelled (graceful shutdown); replicas keep running and are adopted on the next start.
    package func run() async {
        await LeaderWorker(
            lease: lease, wakeup: service.wakeup, every: configuration.interval, logger: logger, failure: "inference reconciler cycle failed"
        ) { try await self.cycle() }.run()
    }

    /// One pass over every service that wants replicas or still has some.
    package func cycle() async throws {
        let database = service.database
        let (deployments, replicas) = try await database.read { sql in
            let deployments = try await DeploymentStore.reconcilable(on: sql)
            return (deployments, try await DeploymentStore.replicas(of: deployments.map(\.id), on: sql))
        }
        let workloads = Dictionary(uniqueKeysWithValues: try await service.workloads.workloads(replicas.map(\.workloadId)).map { ($0.id, $0) })
        var stables: Set<UUID> = []
        for deployment in deployments {
            stables.insert(deployment.parentServiceId ?? deployment.id)
            let mine = replicas.filter { $0.serviceId == deployment.id }
            try await reconcile(deployment, replicas: mine, workloads: workloads)
        }
        for stable in stables { try await service.publish(stable) }
    }

    private func reconcile(_ deployment: Deployment, replicas: [Replica], workloads: [UUID: Workload]) async throws {
        let config = (try? JSONDecoder().decode(ProcessRuntime.self, from: Data(deployment.runtimeConfig.utf8))) ?? ProcessRuntime(command: "")
        let now = service.clock.now()
        var live: [(replica: Replica, workload: Workload)] = []
        for replica in replicas {
            guard let workload = workloads[replica.workloadId], !workload.state.isFinal else {
                try await ended(replica, of: deployment, reason: workloads[replica.workloadId]?.reason)
                continue
            }
            live.append((replica, workload))
        }
        // Checks: readiness until a replica first passes, then liveness.
        for (replica, workload) in live where workload.stopRequestedMs == nil && !isDraining(replica.workloadId) {
            guard let socket = service.workloads.serviceSocket(of: workload) else { continue }
            let passed = await service.gateway.probe(.init(id: replica.workloadId, socketPath: socket), path: config.healthPath)
            let wasReady = service.health.isReady(replica.workloadId)
            let (ready, failures, failingFor) = service.health.record(replica.workloadId, socketPath: socket, passed: passed)
            if passed, replica.readyMs == nil {
                try await service.database.transaction { sql in
                    try await DeploymentStore.markReady(replica.workloadId, at: now.epochMilliseconds, on: sql)
                }
                _ = memory.withLock { $0.failedStarts.removeValue(forKey: deployment.id) }
            }
            if wasReady, failures >= configuration.livenessFailures, failingFor >= configuration.livenessGrace {
                logger.warning("inference replica failed its liveness checks; replacing it", metadata: ["replica": "\(replica.workloadId)"])
                try await retire(
                    replica.workloadId, of: deployment, reason: "failed \(failures) liveness checks in a row (\(config.healthPath)); replaced")
            } else if !ready, let started = workload.startedMs,
                now.epochMilliseconds - started > Int64(config.startupTimeoutSeconds) * 1_000
            {
                try await retire(replica.workloadId, of: deployment, reason: "not ready after \(config.startupTimeoutSeconds) s; replaced")
            }
        }
        try await finishDrains(live.map(\.replica.workloadId))
        // Scale: start what is missing, drain what is too much (never-ready ones first, then the newest).
        let failedStarts = memory.withLock { $0.failedStarts[deployment.id] ?? 0 }
        var wanted = deployment.status.wantsReplicas ? deployment.replicas : 0
        if failedStarts >= configuration.failedStartsBeforeError, deployment.status.wantsReplicas {
            wanted = 0
            try await setStatus(
                deployment, .error,
                reason: "\(failedStarts) replicas in a row ended before they were ready; see their logs, fix, then start it again",
                health: .unhealthy)
            _ = memory.withLock { $0.failedStarts.removeValue(forKey: deployment.id) }
            return
        }
        let serving = live.filter { $0.workload.stopRequestedMs == nil && !isDraining($0.replica.workloadId) }
        if deployment.status.wantsReplicas, let policy = deployment.autoscalePolicy {
            wanted = try await autoscale(deployment, policy: policy, replicas: serving.map(\.replica.workloadId)) ?? wanted
        }
        if serving.count < wanted {
            for _ in serving.count..<wanted { try await startReplica(of: deployment, config: config) }
        } else if serving.count > wanted {
            let surplus = serving.sorted { lhs, rhs in
                let (lhsReady, rhsReady) = (service.health.isReady(lhs.replica.workloadId), service.health.isReady(rhs.replica.workloadId))
                return lhsReady != rhsReady ? !lhsReady : lhs.replica.createdMs > rhs.replica.createdMs
            }.prefix(serving.count - wanted)
            for entry in surplus {
                try await retire(
                    entry.replica.workloadId, of: deployment, reason: deployment.status.wantsReplicas ? "scaled down" : "its service was stopped")
            }
        }
        let ready = serving.filter { service.health.isReady($0.replica.workloadId) }.count
        guard deployment.status.wantsReplicas else { return }
        if wanted == 0 {
            let reason =
                deployment.autoscalePolicy == nil
                ? "0 replicas asked for" : "scaled to zero after a quiet spell; the next request starts a replica and waits for it"
            return try await setStatus(deployment, .running, reason: reason, health: .unknown)
        }
        let health: Deployment.Health = ready == 0 ? .unhealthy : ready >= wanted ? .healthy : .degraded
        if ready > 0 {
            try await setStatus(deployment, .running, reason: "\(ready) of \(wanted) replicas ready", health: health)
        } else {
            try await setStatus(
                deployment, .deploying, reason: "waiting for a replica to pass its readiness check (\(config.healthPath))", health: health)
        }
    }

    /// The load the gateway saw → the autoscaler's decision → the service's replica count (audited as the system's
    /// act, with the figures that led to it). Answers the new count, or nil when it stays.
    private func autoscale(_ deployment: Deployment, policy: AutoscalePolicy, replicas: [UUID]) async throws -> Int? {
        let observed: Double
        switch policy.metric {
        case .concurrency: observed = Double(replicas.reduce(0) { $0 + service.gateway.inFlight($1) })
        case .rps: observed = service.gateway.stats(of: deployment.id).requestsPerSecond
        }
        let now = service.clock.now()
        // Windows are real elapsed time (a monotonic clock), whatever the wall clock does.
        let elapsed = ContinuousClock.now - started
        let seconds = elapsed.milliseconds / 1_000
        // Idle: no request for the whole scale-down window (counted from this server's start when none came since).
        let quietSince = service.gateway.lastRequest(to: deployment.id) ?? started
        let idle = ContinuousClock.now - quietSince >= .seconds(policy.scaleDownWindowSeconds)
        let demanded = memory.withLock { $0.demanded.remove(deployment.id) != nil }
        let decision: Int? =
            deployment.replicas == 0 && demanded
            ? 1
            : memory.withLock { memory in
                var autoscaler = memory.autoscalers[deployment.id] ?? Autoscaler()
                defer { memory.autoscalers[deployment.id] = autoscaler }
                return autoscaler.decide(
                    current: deployment.replicas, observed: observed, policy: policy,
                    bounds: deployment.minReplicas...deployment.maxReplicas, now: seconds, idle: idle && !demanded)
            }
        guard let decision else { return nil }
        let why =
            deployment.replicas == 0 && demanded
            ? "a request is waiting"
            : decision == 0
                ? "no request for \(policy.scaleDownWindowSeconds) s" : "\(policy.metric.rawValue) \(observed), target \(policy.target) per replica"
        let detail = "from \(deployment.replicas) to \(decision) replicas (\(why))"
        let saved = try await service.database.transaction { sql in
            let changed = try await sql.update("inference_services").set("replicas", to: decision).set("updated_ms", to: now.epochMilliseconds)
                .where("id", .equal, deployment.id).where("updated_ms", .equal, deployment.updatedMs).returning("id").all()
            guard !changed.isEmpty else { return false }
            try await service.audit.record(
                on: sql, Caller(principal: nil, origin: .system), orgId: deployment.orgId, action: "inference.autoscale",
                targetType: "inference_service", targetId: deployment.id.lowercasedString, detail: detail)
            return true
        }
        guard saved else { return nil }
        logger.info("inference autoscaler", metadata: ["service": "\(deployment.name)", "change": "\(detail)"])
        return decision
    }

    private func isDraining(_ id: UUID) -> Bool { memory.withLock { $0.draining[id] != nil } }

    /// Takes a replica out of the split now; it is stopped once it has answered its requests (`finishDrains`).
    private func retire(_ id: UUID, of deployment: Deployment, reason: String) async throws {
        service.health.markUnready(id)
        try await service.publish(deployment.parentServiceId ?? deployment.id)
        service.gateway.release(id)
        memory.withLock { $0.draining[id] = .now }
        logger.info("inference replica leaving", metadata: ["service": "\(deployment.name)", "replica": "\(id)", "reason": "\(reason)"])
        try await finishDrains([id], reason: reason)
    }

    private func finishDrains(_ candidates: [UUID], reason: String = "drained") async throws {
        let now = ContinuousClock.now
        for id in candidates {
            guard let since = memory.withLock({ $0.draining[id] }) else { continue }
            guard service.gateway.inFlight(id) == 0 || now - since > configuration.drainTimeout else { continue }
            try await service.workloads.stopOwned(id, reason: reason)
            _ = memory.withLock { $0.draining.removeValue(forKey: id) }
        }
    }

    /// A replica's workload has ended: forget it, and count it when it never became ready.
    private func ended(_ replica: Replica, of deployment: Deployment, reason: String?) async throws {
        let wasReady = replica.readyMs != nil
        service.health.forget(replica.workloadId)
        service.gateway.release(replica.workloadId)
        memory.withLock { memory in
            memory.draining.removeValue(forKey: replica.workloadId)
            if !wasReady, deployment.status.wantsReplicas { memory.failedStarts[deployment.id, default: 0] += 1 }
        }
        let now = service.clock.now().epochMilliseconds
        try await service.database.transaction { sql in try await DeploymentStore.markEnded(replica.workloadId, at: now, on: sql) }
        if deployment.status.wantsReplicas {
            logger.info(
                "inference replica ended",
                metadata: ["service": "\(deployment.name)", "replica": "\(replica.workloadId)", "reason": "\(reason ?? "")"])
        }
    }

    private func startReplica(of deployment: Deployment, config: ProcessRuntime) async throws {
        let scope = ProjectScope(projectId: deployment.projectId, orgId: deployment.orgId)
        let system = Caller(principal: nil, origin: .system)
        let workloads = service.workloads
        try await service.database.transaction { sql in
            let workload = try await workloads.prepare(
                service.submission(for: deployment, config: config), kind: InferenceService.kind, in: scope, ownerId: deployment.ownerId, on: sql)
            try await workloads.insert(workload, caller: system, on: sql)
            try await DeploymentStore.insert(Replica(workloadId: workload.id, serviceId: deployment.id, createdMs: workload.createdMs), on: sql)
        }
        workloads.wake()
    }

    /// Saves status, reason and health unless the service was changed meanwhile (the change wins; the next cycle sees it).
    private func setStatus(_ deployment: Deployment, _ status: Deployment.Status, reason: String, health: Deployment.Health) async throws {
        guard deployment.status != status || deployment.statusReason != reason || deployment.healthStatus != health else { return }
        let now = service.clock.now().epochMilliseconds
        try await service.database.transaction { sql in
            try await sql.update("inference_services").set("status", to: status.rawValue).set("status_reason", to: reason)
                .set("health_status", to: health.rawValue).set("updated_ms", to: now)
                .where("id", .equal, deployment.id).where("updated_ms", .equal, deployment.updatedMs).run()
        }
    }
}
