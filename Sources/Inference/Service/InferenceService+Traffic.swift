import AITIPCore
import Foundation
import Gateway
import Identity
import Storage
import Workloads

/// What the data plane needs of inference services: the gateway's split for each stable service, invoke
/// authorization, replica logs, and the per-version metrics.
extension InferenceService {
    // MARK: the gateway's split

    /// Builds the split of a stable service (itself and its canaries, with their ready replicas) and hands it to the
    /// gateway; a canary is also reachable alone, at its own endpoint.
    package func publish(_ stableId: UUID) async throws {
        let (stable, canaries, replicas) = try await database.read { sql in
            let stable = try await DeploymentStore.deployment(stableId, on: sql)
            let canaries = try await DeploymentStore.children(of: stableId, on: sql)
            let replicas = try await DeploymentStore.replicas(of: [stableId] + canaries.map(\.id), on: sql)
            return (stable, canaries, replicas)
        }
        guard let stable else {
            gateway.setSplit(nil, for: stableId)
            return
        }
        func ready(_ serviceId: UUID) -> [TrafficSplit.Replica] {
            replicas.filter { $0.serviceId == serviceId }.compactMap { health.endpoint($0.workloadId) }
        }
        /// Autoscaled down to no replica: a request waits while one starts (instead of 503).
        func wakes(_ deployment: Deployment) -> Bool {
            deployment.replicas == 0 && deployment.minReplicas == 0 && deployment.autoscalePolicy != nil
        }
        let serving = canaries.filter { $0.status.wantsReplicas && !$0.shadow }
        let shadows = canaries.filter { $0.status.wantsReplicas && $0.shadow }
        let taken = serving.reduce(0) { $0 + $1.trafficPercentage }
        // A stopped service's endpoint answers nothing, its canaries included (they stay reachable at their own).
        var versions: [TrafficSplit.Version] = []
        if stable.status.wantsReplicas {
            versions.append(
                .init(
                    serviceId: stable.id, name: stable.name, percent: max(0, 100 - taken), replicas: ready(stable.id),
                    scaledToZero: wakes(stable)))
        }
        for canary in serving + shadows {
            let header = canary.routeHeaderName.map { TrafficSplit.HeaderMatch(name: $0, value: canary.routeHeaderValue ?? "") }
            if !canary.shadow {
                versions.append(
                    .init(
                        serviceId: canary.id, name: canary.name, percent: canary.trafficPercentage, header: header, replicas: ready(canary.id),
                        scaledToZero: wakes(canary)))
            }
            gateway.setSplit(
                .init(
                    versions: [.init(serviceId: canary.id, name: canary.name, percent: 100, replicas: ready(canary.id), scaledToZero: wakes(canary))],
                    requestsPerSecond: canary.rateLimitRps),
                for: canary.id)
        }
        for canary in canaries where !canary.status.wantsReplicas { gateway.setSplit(nil, for: canary.id) }
        let routed = stable.status.wantsReplicas && !versions.isEmpty
        let mirrored = shadows.map { shadow in
            TrafficSplit.Version(serviceId: shadow.id, name: shadow.name, percent: shadow.trafficPercentage, replicas: ready(shadow.id))
        }
        gateway.setSplit(
            routed
                ? TrafficSplit(versions: versions, sticky: stable.stickySessions, requestsPerSecond: stable.rateLimitRps, shadows: mirrored) : nil,
            for: stable.id)
    }

    // MARK: the release pipeline's hold on traffic

    /// A stable service and its live (not shadow) canaries, as the release pipeline reads them.
    package func family(of stableId: UUID) async throws -> (stable: Deployment, canaries: [Deployment])? {
        try await database.read { sql in
            guard let stable = try await DeploymentStore.deployment(stableId, on: sql) else { return nil }
            return (stable, try await DeploymentStore.children(of: stableId, on: sql).filter { !$0.shadow })
        }
    }

    /// Sets the shares of several canaries of one stable service in one transaction and publishes the split once, so
    /// that no request meets a half-made change: a release moving traffic from the previous version to its own never
    /// passes through a split where the stable service takes what neither should. Shares must be 0–100 and the live
    /// canaries' add up to at most 100. Audited as `inference.traffic` by `caller` unless `audited` is false: a release
    /// records the user's act (deploy, promote, rollback) in its own entry, one per action.
    package func setShares(_ shares: [UUID: Int], of stableId: UUID, caller: Caller, detail: String, audited: Bool = true) async throws {
        let now = clock.now().epochMilliseconds
        try await database.transaction { sql in
            guard let stable = try await DeploymentStore.deployment(stableId, on: sql) else { throw AppError.notFound("Inference service") }
            var canaries = try await DeploymentStore.children(of: stableId, on: sql)
            for (id, percent) in shares {
                guard (0...100).contains(percent), let index = canaries.firstIndex(where: { $0.id == id && !$0.shadow }) else {
                    throw AppError(.conflict, "Service \(id.lowercasedString) is not a live canary of \(stable.name), or \(percent) % is not a share")
                }
                canaries[index].trafficPercentage = percent
            }
            let total = canaries.filter { !$0.shadow }.reduce(0) { $0 + $1.trafficPercentage }
            guard total <= 100 else { throw AppError(.conflict, "The canaries of \(stable.name) would take \(total) %") }
            for var canary in canaries where shares[canary.id] != nil {
                canary.updatedMs = now
                try await DeploymentStore.save(canary, on: sql)
            }
            if audited {
                try await audit.record(
                    on: sql, caller, orgId: stable.orgId, action: "inference.traffic", targetType: "inference_service",
                    targetId: stableId.lowercasedString, detail: detail)
            }
        }
        try await publish(stableId)
    }

    // MARK: logs

    /// Checks read access and picks the replica whose log to show: the one asked for (a replica of this service, live
    /// or ended), or the newest (nil before any started). The HTTP layer reads it from the log hub.
    package func logReplica(_ id: UUID, replica: UUID?, caller: Caller) async throws -> Replica? {
        let deployment = try await authorized(id, .inferenceRead, caller: caller)
        let history = try await database.read { sql in try await DeploymentStore.history(of: deployment.id, limit: 1_000, on: sql) }
        if let replica {
            guard let found = history.first(where: { $0.workloadId == replica }) else { throw AppError.notFound("Replica of this service") }
            return found
        }
        return history.first
    }

    /// Where replicas' logs are kept.
    package var logs: LogHub { workloads.logs }

    // MARK: invoking

    /// Checks that the caller may invoke the service (`inference:invoke` in its project): "not found" for a service the
    /// caller cannot see. Owners are read once and kept (they never change), so that a request to the gateway costs no
    /// query; a deleted service is dropped from the cache by `delete`.
    package func authorizeInvoke(_ id: UUID, principal: Principal) async throws {
        var owner = owners.get(id)
        if owner == nil {
            guard let deployment = try await database.read({ sql in try await DeploymentStore.deployment(id, on: sql) }) else {
                throw AppError.notFound("Inference service")
            }
            owner = Policy.Resource(kind: "Inference service", orgId: deployment.orgId, projectId: deployment.projectId)
            owners.set(id, owner)
        }
        try Policy.authorize(principal, .inferenceInvoke, on: owner!)
    }

    // MARK: replicas (a rolling release's waves)

    /// A service's replicas as a rolling release reads them: how many it should have, how many are ready, its bounds.
    package struct ReplicaCounts: Sendable, Equatable {
        package var desired: Int
        package var ready: Int
        package var min: Int
        package var max: Int
        package var autoscaling: Bool
    }

    package func replicaCounts(of id: UUID) async throws -> ReplicaCounts? {
        guard let deployment = try await database.read({ sql in try await DeploymentStore.deployment(id, on: sql) }) else { return nil }
        let ready = try await view(of: deployment).replicas.filter(\.ready).count
        return ReplicaCounts(
            desired: deployment.replicas, ready: ready, min: deployment.minReplicas, max: deployment.maxReplicas,
            autoscaling: deployment.autoscalePolicy != nil)
    }

    /// Sets a service's replicas for a release's wave, within its bounds; the release authorized the act (audited here
    /// as `inference.scale` by `caller`, with the release named in `detail`).
    package func setReplicas(_ id: UUID, to replicas: Int, caller: Caller, detail: String) async throws {
        _ = try await mutate(id, caller: caller, action: "inference.scale", detail: "to \(replicas) replicas: \(detail)") { deployment, _ in
            deployment.replicas = Swift.min(Swift.max(replicas, Swift.max(deployment.minReplicas, 1)), deployment.maxReplicas)
        }
    }

    // MARK: metrics

    package struct Metrics: Sendable {
        package var deployment: Deployment
        package var readyReplicas: Int
        package var versions: [(deployment: Deployment, share: Int, stats: VersionStats.Snapshot)]
    }

    package func metrics(_ id: UUID, caller: Caller) async throws -> Metrics {
        let deployment = try await authorized(id, .inferenceRead, caller: caller)
        let view = try await view(of: deployment)
        let split = gateway.split(for: id)
        let members = [deployment] + view.canaries
        return Metrics(
            deployment: deployment, readyReplicas: view.replicas.filter(\.ready).count,
            versions: members.map { member in
                (member, split?.versions.first { $0.serviceId == member.id }?.percent ?? 0, gateway.stats(of: member.id))
            })
    }
}
