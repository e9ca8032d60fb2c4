import Foundation

/// One scheduling cycle: a pure function from a cluster snapshot to decisions, so it is tested and benchmarked
/// without a database or processes.
///
/// Order: priority (highest first); within a priority, the (queue, project) lane with the lowest dominant
/// resource share goes next (DRF), FIFO inside a lane. A workload is admitted only whole (gang); a blocked one may
/// preempt lower-priority work, else it reserves the nodes it will need (EASY backfill: later work may use
/// reserved nodes only if its max runtime ends before the reservation starts). Every workload left waiting gets a
/// reason.
package struct Scheduler: Sendable {
    package init() {}

    /// Why `request` can never run on these nodes (whatever else runs), or nil when it can.
    package static func impossibility(of request: ResourceRequest, on nodes: [NodeCapacity]) -> String? {
        guard request.nodes >= 1 else { return "nodes must be at least 1" }
        guard request.gpus % request.nodes == 0 else {
            return "\(request.gpus) GPUs cannot be split evenly over \(request.nodes) nodes"
        }
        let candidates = nodes.filter { node in
            (request.gpus == 0 || request.gpuType == nil || node.gpuType == request.gpuType)
                && node.gpuCount >= request.gpusPerNode && node.cpu + 1e-9 >= request.cpu && node.memoryMiB >= request.memoryMiB
        }
        let enough: Bool
        if request.gpus == 0 || request.gpuType != nil {
            enough = candidates.count >= request.nodes
        } else {
            enough = Dictionary(grouping: candidates, by: { $0.gpuType ?? "" }).values.contains { $0.count >= request.nodes }
        }
        if enough { return nil }
        if let type = request.gpuType, request.gpus > 0, !nodes.contains(where: { $0.gpuType == type && $0.gpuCount > 0 }) {
            let known = Set(nodes.compactMap { $0.gpuCount > 0 ? $0.gpuType : nil }).sorted()
            return
                "no node has GPUs of type '\(type)' (known types: \(known.isEmpty ? "none, this cluster has no GPUs" : known.joined(separator: ", ")))"
        }
        let largest = nodes.filter { request.gpuType == nil || $0.gpuType == request.gpuType }
        let largestText =
            "largest node: \(largest.map(\.gpuCount).max() ?? 0) GPUs, \(RequestText.cpu(largest.map(\.cpu).max() ?? 0)) CPU, \(largest.map(\.memoryMiB).max() ?? 0) MiB"
        return "no \(request.nodes == 1 ? "node" : "set of \(request.nodes) nodes") can ever hold \(request.summary) (\(largestText)); ask for less"
    }

    package func schedule(_ snapshot: ClusterSnapshot) -> SchedulingDecision {
        var cycle = Cycle(snapshot)
        cycle.run()
        return cycle.decision
    }
}

enum RequestText {
    static func cpu(_ value: Double) -> String { ResourceRequest.format(value) }
}

/// The mutable state of one cycle.
private struct Cycle {
    struct LaneKey: Hashable {
        var queue: String
        var projectId: UUID
    }

    struct Lane {
        var usageSlot: Int
        var projectSlot: Int
        var orgSlot: Int
        var items: [Int]
        var head = 0
    }

    struct Usage {
        var gpu = 0.0
        var cpu = 0.0
        var memory = 0.0
    }

    struct Reservation {
        var nodes: Set<Int>
        var startsAt: Date
    }

    struct ShapeKey: Hashable {
        var request: ResourceRequest
        var maxRuntimeSeconds: Int?
    }

    struct PreemptionKey: Hashable {
        var request: ResourceRequest
        var priority: Int
    }

    let snapshot: ClusterSnapshot
    var pool: NodePool
    var decision = SchedulingDecision()
    /// Resources held per (queue, project), by slot; `slots` names the slot of each lane key.
    var usage: [Usage] = []
    var slots: [LaneKey: Int] = [:]
    let totals: (gpu: Double, cpu: Double, memory: Double)
    /// Quotas of the projects and organizations with pending work, by slot (a lane knows its slots).
    var projectQuotas: [QuotaState?] = []
    var orgQuotas: [QuotaState?] = []
    var projectSlots: [UUID: Int] = [:]
    var orgSlots: [UUID: Int] = [:]
    /// Running work plus what this cycle admitted: what a reservation waits for.
    var occupants: [RunningWorkload]
    /// node position → earliest reservation start on it.
    var reservedUntil: [Int: Date] = [:]
    var reservedPriorities: Set<Int> = []
    /// Each pending workload's shape (by index into `snapshot.pending`), interned once so a workload costs one hash
    /// per cycle, not one per check.
    var shapeOf: [Int] = []
    var shapes: [ShapeKey] = []
    /// Per shape: why it can never run (computed on first use; `.some(nil)`: it can).
    var impossible: [String??] = []
    /// Per shape that did not fit: free capacity only shrinks during a cycle, so it will not fit later in it either.
    var unplaceable: [String?] = []
    /// (request, priority) pairs for which even preempting everything lower did not make room.
    var preemptionFailed: Set<PreemptionKey> = []

    init(_ snapshot: ClusterSnapshot) {
        self.snapshot = snapshot
        pool = NodePool(nodes: snapshot.nodes, running: snapshot.running)
        let schedulable = snapshot.nodes.filter(\.schedulable)
        totals = (
            Double(max(1, schedulable.reduce(0) { $0 + $1.gpuCount })),
            max(1, schedulable.reduce(0) { $0 + $1.cpu }),
            Double(max(1, schedulable.reduce(0) { $0 + $1.memoryMiB }))
        )
        occupants = snapshot.running
        for workload in snapshot.running {
            let key = LaneKey(queue: workload.queue, projectId: workload.owner.projectId)
            charge(slot: slot(key), workload.placements)
        }
    }

    mutating func run() {
        decision.waiting.reserveCapacity(snapshot.pending.count)
        for lanes in buildLanes() {
            var lanes = lanes
            // Only the lane that just went has a new share or head, so the others' heap entries stay true.
            var order = MinHeap<LaneTurn>()
            for position in lanes.indices { order.push(turn(lanes, position)) }
            while let next = order.pop()?.lane {
                let index = lanes[next].items[lanes[next].head]
                lanes[next].head += 1
                switch consider(index, lanes[next]) {
                case .handled:
                    if lanes[next].head < lanes[next].items.count { order.push(turn(lanes, next)) }
                case .laneBlocked(let reason):
                    for rest in lanes[next].items[(lanes[next].head - 1)...] { decision.waiting[snapshot.pending[rest].id] = reason }
                }
            }
        }
    }

    struct LaneTurn: Comparable {
        var share: Double
        var sequence: Int64
        var lane: Int

        static func < (lhs: LaneTurn, rhs: LaneTurn) -> Bool {
            lhs.share != rhs.share ? lhs.share < rhs.share : lhs.sequence < rhs.sequence
        }
    }

    private func turn(_ lanes: [Lane], _ position: Int) -> LaneTurn {
        LaneTurn(
            share: dominantShare(usage[lanes[position].usageSlot]),
            sequence: snapshot.pending[lanes[position].items[lanes[position].head]].sequence, lane: position)
    }

    /// Lanes of pending work (indices into `snapshot.pending`, in submission order), grouped by priority, highest
    /// first.
    private mutating func buildLanes() -> [[Lane]] {
        struct LaneId: Hashable {
            var priority: Int
            var queue: String
            var projectId: UUID
        }
        let pending = snapshot.pending
        var laneOf: [LaneId: Int] = [:]
        var lanes: [(priority: Int, lane: Lane)] = []
        var shapeIds: [ShapeKey: Int] = [:]
        shapeOf.reserveCapacity(pending.count)
        for index in pending.indices {
            let id = LaneId(priority: pending[index].priority, queue: pending[index].queue, projectId: pending[index].owner.projectId)
            if let position = laneOf[id] {
                lanes[position].lane.items.append(index)
            } else {
                let usageSlot = slot(LaneKey(queue: id.queue, projectId: id.projectId))
                let owner = quotaSlots(pending[index].owner)
                laneOf[id] = lanes.count
                lanes.append((id.priority, Lane(usageSlot: usageSlot, projectSlot: owner.project, orgSlot: owner.org, items: [index])))
            }
            let shape = ShapeKey(request: pending[index].request, maxRuntimeSeconds: pending[index].maxRuntimeSeconds)
            if let known = shapeIds[shape] {
                shapeOf.append(known)
            } else {
                shapeIds[shape] = shapes.count
                shapeOf.append(shapes.count)
                shapes.append(shape)
            }
        }
        impossible = Array(repeating: nil, count: shapes.count)
        unplaceable = Array(repeating: nil, count: shapes.count)
        for position in lanes.indices {
            let items = lanes[position].lane.items
            if zip(items, items.dropFirst()).contains(where: { pending[$0].sequence > pending[$1].sequence }) {
                lanes[position].lane.items.sort { pending[$0].sequence < pending[$1].sequence }
            }
        }
        return Dictionary(grouping: lanes, by: \.priority).sorted { $0.key > $1.key }.map { $0.value.map(\.lane) }
    }

    private mutating func quotaSlots(_ owner: Owner) -> (project: Int, org: Int) {
        let project: Int
        if let known = projectSlots[owner.projectId] {
            project = known
        } else {
            project = projectQuotas.count
            projectSlots[owner.projectId] = project
            projectQuotas.append(snapshot.projectQuotas[owner.projectId])
        }
        let org: Int
        if let known = orgSlots[owner.orgId] {
            org = known
        } else {
            org = orgQuotas.count
            orgSlots[owner.orgId] = org
            orgQuotas.append(snapshot.orgQuotas[owner.orgId])
        }
        return (project, org)
    }

    private func dominantShare(_ used: Usage) -> Double {
        max(used.gpu / totals.gpu, used.cpu / totals.cpu, used.memory / totals.memory)
    }

    private mutating func slot(_ key: LaneKey) -> Int {
        if let existing = slots[key] { return existing }
        slots[key] = usage.count
        usage.append(Usage())
        return usage.count - 1
    }

    private mutating func charge(slot: Int, _ placements: [Placement]) {
        for placement in placements {
            usage[slot].gpu += Double(placement.gpuIndices.count)
            usage[slot].cpu += placement.cpu
            usage[slot].memory += Double(placement.memoryMiB)
        }
    }

    enum Outcome {
        case handled
        case laneBlocked(String)
    }

    private mutating func consider(_ index: Int, _ lane: Lane) -> Outcome {
        let shape = shapeOf[index]
        if impossible[shape] == nil {
            impossible[shape] = .some(Scheduler.impossibility(of: shapes[shape].request, on: snapshot.nodes))
        }
        if let reason = impossible[shape]! {
            decision.rejected[snapshot.pending[index].id] = reason
            return .handled
        }
        if let reason = concurrencyBlock(lane) { return .laneBlocked(reason) }
        if shapes[shape].request.gpus > 0, let reason = gpuBudgetBlock(lane) {
            decision.waiting[snapshot.pending[index].id] = reason
            return .handled
        }
        if let reason = unplaceable[shape] {
            decision.waiting[snapshot.pending[index].id] = reason
            return .handled
        }
        let workload = snapshot.pending[index]
        let endsBy = workload.maxRuntimeSeconds.map { snapshot.now.addingTimeInterval(Double($0)) } ?? .distantFuture
        let reserved = reservedUntil
        if let positions = pool.find(workload.request, allowed: { reserved[$0].map { endsBy <= $0 } ?? true }) {
            admit(workload, lane, on: positions)
            return .handled
        }
        if let reason = preempt(for: workload) ?? reserve(for: workload) {
            decision.waiting[workload.id] = reason
            return .handled
        }
        let reason = shortageReason(workload.request)
        unplaceable[shape] = reason
        decision.waiting[workload.id] = reason
        return .handled
    }

    private mutating func admit(_ workload: PendingWorkload, _ lane: Lane, on positions: [Int]) {
        let placements = pool.allocate(workload.request, on: positions)
        decision.admitted.append(.init(workloadId: workload.id, placements: placements))
        charge(slot: lane.usageSlot, placements)
        projectQuotas[lane.projectSlot]?.runningJobs += 1
        orgQuotas[lane.orgSlot]?.runningJobs += 1
        occupants.append(
            RunningWorkload(
                id: workload.id, owner: workload.owner, queue: workload.queue, priority: workload.priority,
                placements: placements, startedAt: snapshot.now, maxRuntimeSeconds: workload.maxRuntimeSeconds))
    }

    private func concurrencyBlock(_ lane: Lane) -> String? {
        if let quota = projectQuotas[lane.projectSlot], let reason = Self.concurrencyBlock(quota, scope: "project") { return reason }
        if let quota = orgQuotas[lane.orgSlot], let reason = Self.concurrencyBlock(quota, scope: "organization") { return reason }
        return nil
    }

    private static func concurrencyBlock(_ quota: QuotaState, scope: String) -> String? {
        guard let limit = quota.maxConcurrentJobs, quota.runningJobs >= limit else { return nil }
        return "\(scope) quota: \(quota.runningJobs) of \(limit) concurrent jobs are running; waits for one to finish"
    }

    private func gpuBudgetBlock(_ lane: Lane) -> String? {
        if let quota = projectQuotas[lane.projectSlot], let reason = Self.gpuBudgetBlock(quota, scope: "project") { return reason }
        if let quota = orgQuotas[lane.orgSlot], let reason = Self.gpuBudgetBlock(quota, scope: "organization") { return reason }
        return nil
    }

    private static func gpuBudgetBlock(_ quota: QuotaState, scope: String) -> String? {
        guard let limit = quota.maxGPUSecondsPerMonth, quota.usedGPUSecondsThisMonth >= limit else { return nil }
        return String(
            format: "%@ quota: GPU hours of this month used up (%.1f of %.1f h); waits for next month or a higher quota",
            scope, quota.usedGPUSecondsThisMonth / 3_600, limit / 3_600)
    }

    /// Stops lower-priority work so `workload` fits. Work already terminating counts first and is never chosen
    /// twice. Returns the waiting reason, or nil when preemption cannot make room.
    private mutating func preempt(for workload: PendingWorkload) -> String? {
        let attempt = PreemptionKey(request: workload.request, priority: workload.priority)
        guard !preemptionFailed.contains(attempt) else { return nil }
        // Work admitted in this cycle has at least this priority, so it is never a candidate. Sorting light keys,
        // not the workloads, keeps this cheap with thousands running.
        let order = occupants.indices.filter { occupants[$0].terminating || occupants[$0].priority < workload.priority }
            .map { (terminating: occupants[$0].terminating, priority: occupants[$0].priority, started: occupants[$0].startedAt, index: $0) }
            .sorted { lhs, rhs in
                if lhs.terminating != rhs.terminating { return lhs.terminating }
                if lhs.priority != rhs.priority { return lhs.priority < rhs.priority }
                return lhs.started > rhs.started
            }
        guard !order.isEmpty else { return nil }
        var trial = pool
        var chosen: [RunningWorkload] = []
        var fit: [Int]?
        for entry in order {
            let candidate = occupants[entry.index]
            trial.release(candidate.placements)
            chosen.append(candidate)
            if let positions = trial.find(workload.request, allowed: { _ in true }) {
                fit = positions
                break
            }
        }
        guard let fit else {
            preemptionFailed.insert(attempt)
            return nil
        }
        let fitNodes = Set(fit.map { pool.nodes[$0].id })
        let victims = chosen.filter { $0.placements.contains { fitNodes.contains($0.nodeId) } }
        for position in fit { reservedUntil[position] = .distantPast }
        let newVictims = victims.filter { !$0.terminating }
        for victim in newVictims {
            decision.preempted.append(
                .init(
                    victimId: victim.id, beneficiaryId: workload.id,
                    reason: "preempted by a higher-priority workload (\(workload.id.uuidString.lowercased()))"))
        }
        occupants.removeAll { victim in victims.contains { $0.id == victim.id } }
        let count = victims.count
        return newVictims.isEmpty
            ? "waiting for \(count) preempted workload\(count == 1 ? "" : "s") to stop and release their resources"
            : "preempting \(count) lower-priority workload\(count == 1 ? "" : "s"); starts when they have stopped"
    }

    /// The first blocked workload of each priority reserves the nodes it will get when running work ends (by
    /// max runtime, else by age). Returns the waiting reason, or nil when it already has a reservation holder.
    private mutating func reserve(for workload: PendingWorkload) -> String? {
        guard !reservedPriorities.contains(workload.priority) else { return nil }
        reservedPriorities.insert(workload.priority)
        var trial = pool
        let byEnd = occupants.indices.map { (end: occupants[$0].expectedEnd, started: occupants[$0].startedAt, index: $0) }
            .sorted { lhs, rhs in lhs.end != rhs.end ? lhs.end < rhs.end : lhs.started < rhs.started }
        for entry in byEnd {
            let occupant = occupants[entry.index]
            trial.release(occupant.placements)
            if let positions = trial.find(workload.request, allowed: { _ in true }) {
                let startsAt = occupant.expectedEnd
                for position in positions { reservedUntil[position] = min(reservedUntil[position] ?? .distantFuture, startsAt) }
                let when = startsAt == .distantFuture ? "when running work ends" : "by \(ISO8601DateFormatter().string(from: startsAt)) at the latest"
                return
                    "\(shortageReason(workload.request)); holds a reservation and starts \(when) (smaller work with a max runtime may backfill meanwhile)"
            }
        }
        return nil
    }

    private func shortageReason(_ request: ResourceRequest) -> String {
        if request.gpus > 0 {
            let free = pool.mostFreeGPUsOnOneNode(type: request.gpuType)
            let type = request.gpuType.map { "\($0) " } ?? ""
            let gang = request.gpus > 1 ? " (all-or-nothing)" : ""
            return "needs \(request.summary)\(gang); most free \(type)GPUs on one node now: \(free)"
        }
        return "needs \(request.summary); no node has that much CPU and memory free now"
    }
}
