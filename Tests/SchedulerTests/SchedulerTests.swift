import Foundation
import Testing

@testable import Scheduler

/// A tiny cluster builder so each test reads as its scenario.
struct Scenario {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    var nodes: [NodeCapacity] = []
    var running: [RunningWorkload] = []
    var pending: [PendingWorkload] = []
    var projectQuotas: [UUID: QuotaState] = [:]
    var orgQuotas: [UUID: QuotaState] = [:]
    var sequence: Int64 = 0
    static let org = UUID()
    static let projectA = Owner(orgId: org, projectId: UUID())
    static let projectB = Owner(orgId: org, projectId: UUID())

    @discardableResult
    mutating func node(_ name: String, _ type: String?, gpus: Int, cpu: Double = 32, memory: Int = 256_000, schedulable: Bool = true) -> UUID {
        let id = UUID()
        nodes.append(NodeCapacity(id: id, name: name, gpuType: type, gpuCount: gpus, cpu: cpu, memoryMiB: memory, schedulable: schedulable))
        return id
    }

    @discardableResult
    mutating func submit(
        _ owner: Owner = projectA, gpus: Int, type: String? = "a100", nodes: Int = 1, priority: Int = 100,
        queue: String = "default", maxRuntime: Int? = nil, cpu: Double = 1
    ) -> UUID {
        sequence += 1
        let id = UUID()
        pending.append(
            PendingWorkload(
                id: id, owner: owner, queue: queue, priority: priority,
                request: ResourceRequest(gpuType: type, gpus: gpus, nodes: nodes, cpu: cpu, memoryMiB: 1_024),
                sequence: sequence, maxRuntimeSeconds: maxRuntime))
        return id
    }

    @discardableResult
    mutating func run(
        _ owner: Owner = projectA, on node: UUID, gpus: [Int], priority: Int = 100, startedAgo: Double = 60,
        maxRuntime: Int? = nil, terminating: Bool = false
    ) -> UUID {
        let id = UUID()
        running.append(
            RunningWorkload(
                id: id, owner: owner, queue: "default", priority: priority,
                placements: [Placement(nodeId: node, gpuIndices: gpus, cpu: 1, memoryMiB: 1_024)],
                startedAt: Self.start.addingTimeInterval(-startedAgo), maxRuntimeSeconds: maxRuntime,
                terminating: terminating))
        return id
    }

    func schedule() -> SchedulingDecision {
        Scheduler().schedule(
            ClusterSnapshot(
                now: Self.start, nodes: nodes, running: running, pending: pending,
                projectQuotas: projectQuotas, orgQuotas: orgQuotas))
    }
}

extension SchedulingDecision {
    func isAdmitted(_ id: UUID) -> Bool { admitted.contains { $0.workloadId == id } }
    func placements(_ id: UUID) -> [Placement] { admitted.first { $0.workloadId == id }?.placements ?? [] }
}

@Suite("Scheduler")
struct SchedulerTests {
    @Test("higher priority goes first; FIFO within a priority; GPU indices are distinct")
    func priorityAndFIFO() {
        var cluster = Scenario()
        cluster.node("n1", "a100", gpus: 2)
        let first = cluster.submit(gpus: 1, priority: 100)
        let second = cluster.submit(gpus: 1, priority: 100)
        let urgent = cluster.submit(gpus: 1, priority: 1_000)
        let decision = cluster.schedule()
        #expect(decision.isAdmitted(urgent))
        #expect(decision.isAdmitted(first))
        #expect(!decision.isAdmitted(second))
        #expect(Set(decision.admitted.flatMap { $0.placements.flatMap(\.gpuIndices) }) == [0, 1])
        #expect(decision.waiting[second]?.contains("most free a100 GPUs on one node now: 0") == true)
    }

    @Test("a 4-GPU gang waits while only 3 GPUs are free, then starts whole on one node")
    func gang() {
        var cluster = Scenario()
        let node = cluster.node("n1", "a100", gpus: 4)
        let busy = cluster.run(on: node, gpus: [0])
        let gang = cluster.submit(gpus: 4)
        let waiting = cluster.schedule()
        #expect(waiting.admitted.isEmpty)
        #expect(waiting.waiting[gang]?.contains("all-or-nothing") == true)
        #expect(waiting.waiting[gang]?.contains("now: 3") == true)

        cluster.running.removeAll { $0.id == busy }
        let started = cluster.schedule()
        #expect(started.placements(gang).map(\.gpuIndices) == [[0, 1, 2, 3]])
    }

    @Test("a multi-node gang gets all its nodes or none")
    func multiNodeGang() {
        var cluster = Scenario()
        let n1 = cluster.node("n1", "a100", gpus: 4)
        cluster.node("n2", "a100", gpus: 4)
        cluster.run(on: n1, gpus: [0])
        let gang = cluster.submit(gpus: 8, nodes: 2)
        #expect(cluster.schedule().waiting[gang] != nil)
        cluster.running.removeAll()
        let placements = cluster.schedule().placements(gang)
        #expect(placements.count == 2 && Set(placements.map(\.nodeId)).count == 2)
        #expect(placements.allSatisfy { $0.gpuIndices.count == 4 })
    }

    @Test("GPU type must match; a request no node can ever hold is rejected with the reason")
    func typeMatchingAndImpossible() {
        var cluster = Scenario()
        cluster.node("a", "a100", gpus: 8)
        cluster.node("h", "h100", gpus: 2)
        let h100 = cluster.submit(gpus: 2, type: "h100")
        let unknownType = cluster.submit(gpus: 1, type: "tpu")
        let tooBig = cluster.submit(gpus: 16, type: "a100")
        let uneven = cluster.submit(gpus: 3, type: "a100", nodes: 2)
        let decision = cluster.schedule()
        #expect(decision.placements(h100).first?.nodeId == cluster.nodes[1].id)
        #expect(decision.rejected[unknownType]?.contains("no node has GPUs of type 'tpu'") == true)
        #expect(decision.rejected[tooBig]?.contains("can ever hold 16 a100 GPUs") == true)
        #expect(decision.rejected[uneven]?.contains("cannot be split evenly") == true)
        #expect(Scheduler.impossibility(of: ResourceRequest(gpuType: "a100", gpus: 8), on: cluster.nodes) == nil)
    }

    @Test("best fit keeps large nodes whole; drained nodes take no new work")
    func bestFitAndDrain() {
        var cluster = Scenario()
        let small = cluster.node("small", "a100", gpus: 2)
        cluster.node("large", "a100", gpus: 8)
        cluster.node("drained", "a100", gpus: 1, schedulable: false)
        let one = cluster.submit(gpus: 1)
        let eight = cluster.submit(gpus: 8)
        let decision = cluster.schedule()
        #expect(decision.placements(one).first?.nodeId == small)
        #expect(decision.isAdmitted(eight))
    }

    @Test("over the concurrent-jobs quota a project waits with the reason; other projects go on")
    func concurrencyQuota() {
        var cluster = Scenario()
        cluster.node("n1", "a100", gpus: 8)
        cluster.projectQuotas[Scenario.projectA.projectId] = QuotaState(maxConcurrentJobs: 1, runningJobs: 0)
        let a1 = cluster.submit(Scenario.projectA, gpus: 1)
        let a2 = cluster.submit(Scenario.projectA, gpus: 1)
        let b1 = cluster.submit(Scenario.projectB, gpus: 1)
        let decision = cluster.schedule()
        #expect(decision.isAdmitted(a1) && decision.isAdmitted(b1))
        #expect(decision.waiting[a2] == "project quota: 1 of 1 concurrent jobs are running; waits for one to finish")
    }

    @Test("a used-up GPU-hour budget holds GPU work but not CPU-only work")
    func gpuBudget() {
        var cluster = Scenario()
        cluster.node("n1", "a100", gpus: 8)
        cluster.orgQuotas[Scenario.org] = QuotaState(maxGPUSecondsPerMonth: 36_000, usedGPUSecondsThisMonth: 36_000)
        let gpuJob = cluster.submit(gpus: 1)
        let cpuJob = cluster.submit(gpus: 0, type: nil)
        let decision = cluster.schedule()
        #expect(decision.waiting[gpuJob]?.hasPrefix("organization quota: GPU hours of this month used up (10.0 of 10.0 h)") == true)
        #expect(decision.isAdmitted(cpuJob))
    }

    @Test("two projects in one queue share it by dominant resource share")
    func fairShare() {
        var cluster = Scenario()
        let node = cluster.node("n1", "a100", gpus: 8)
        // Project A already holds 4 GPUs; B holds none, so B's jobs go first until the shares even out.
        cluster.run(Scenario.projectA, on: node, gpus: [0, 1, 2, 3])
        let a = (0..<4).map { _ in cluster.submit(Scenario.projectA, gpus: 1) }
        let b = (0..<4).map { _ in cluster.submit(Scenario.projectB, gpus: 1) }
        let decision = cluster.schedule()
        #expect(b.allSatisfy(decision.isAdmitted))
        #expect(!a.contains(where: decision.isAdmitted))

        // With equal usage the lanes alternate.
        var even = Scenario()
        even.node("n1", "a100", gpus: 4)
        let a2 = (0..<4).map { _ in even.submit(Scenario.projectA, gpus: 1) }
        let b2 = (0..<4).map { _ in even.submit(Scenario.projectB, gpus: 1) }
        let split = even.schedule()
        #expect(a2.filter(split.isAdmitted).count == 2 && b2.filter(split.isAdmitted).count == 2)
    }

    @Test("a high-priority job preempts the newest low-priority work, and only as much as it needs")
    func preemption() {
        var cluster = Scenario()
        let node = cluster.node("n1", "a100", gpus: 4)
        let older = cluster.run(on: node, gpus: [0, 1], priority: 0, startedAgo: 600)
        let newer = cluster.run(on: node, gpus: [2, 3], priority: 0, startedAgo: 60)
        let urgent = cluster.submit(gpus: 2, priority: 1_000)
        let equal = cluster.submit(gpus: 2, priority: 0)
        let decision = cluster.schedule()
        #expect(decision.preempted.map(\.victimId) == [newer])
        #expect(decision.preempted.first?.beneficiaryId == urgent)
        #expect(decision.waiting[urgent]?.hasPrefix("preempting 1 lower-priority workload") == true)
        #expect(decision.waiting[equal] != nil)
        #expect(!decision.preempted.contains { $0.victimId == older })

        // Next cycle, while the victim is inside its grace period: nobody else is preempted.
        cluster.running = cluster.running.map {
            var workload = $0; workload.terminating = workload.id == newer; return workload
        }
        let draining = cluster.schedule()
        #expect(draining.preempted.isEmpty)
        #expect(draining.waiting[urgent]?.hasPrefix("waiting for 1 preempted workload") == true)
        // The reserved GPUs are not given to the equal-priority job either.
        #expect(!draining.isAdmitted(equal))

        cluster.running.removeAll { $0.id == newer }
        #expect(cluster.schedule().placements(urgent).map(\.gpuIndices) == [[2, 3]])
    }

    @Test("no preemption of equal or higher priority work")
    func noPreemptionUpward() {
        var cluster = Scenario()
        let node = cluster.node("n1", "a100", gpus: 2)
        cluster.run(on: node, gpus: [0, 1], priority: 1_000)
        let job = cluster.submit(gpus: 1, priority: 100)
        let decision = cluster.schedule()
        #expect(decision.preempted.isEmpty)
        #expect(decision.waiting[job]?.contains("holds a reservation") == true)
    }

    @Test("EASY backfill: small work with a max runtime that ends before the reservation runs; the rest waits")
    func backfill() {
        var cluster = Scenario()
        let node = cluster.node("n1", "a100", gpus: 4)
        cluster.run(on: node, gpus: [0], startedAgo: 0, maxRuntime: 3_600)
        let big = cluster.submit(gpus: 4)
        let shortSmall = cluster.submit(gpus: 1, maxRuntime: 600)
        let longSmall = cluster.submit(gpus: 1, maxRuntime: 7_200)
        let openEnded = cluster.submit(gpus: 1)
        let decision = cluster.schedule()
        #expect(decision.waiting[big]?.contains("holds a reservation and starts by") == true)
        #expect(decision.isAdmitted(shortSmall))
        #expect(!decision.isAdmitted(longSmall) && !decision.isAdmitted(openEnded))
    }

    @Test("small work backfills onto nodes the blocked large job does not need")
    func backfillElsewhere() {
        var cluster = Scenario()
        let n1 = cluster.node("n1", "a100", gpus: 8)
        cluster.node("n2", "a100", gpus: 2)
        cluster.run(on: n1, gpus: [0, 1])
        let big = cluster.submit(gpus: 8)
        let small = cluster.submit(gpus: 2)
        let decision = cluster.schedule()
        #expect(!decision.isAdmitted(big))
        #expect(decision.placements(small).first?.nodeId == cluster.nodes[1].id)
    }

    @Test("every pending workload is admitted, waiting or rejected; 10,000 over 1,000 nodes in one cycle")
    func completeness() {
        var cluster = Scenario()
        for index in 0..<1_000 { cluster.node("n\(index)", index % 2 == 0 ? "a100" : "h100", gpus: 8) }
        // Seeded: a failure replays with the same 10,000 requests.
        var generator = SplitMix64(seed: 0x5EED_2026)
        for index in 0..<10_000 {
            let owner = index % 3 == 0 ? Scenario.projectA : Scenario.projectB
            cluster.submit(
                owner, gpus: [1, 2, 4, 8].randomElement(using: &generator)!, type: index % 2 == 0 ? "a100" : "h100",
                priority: [0, 100, 1_000][index % 3])
        }
        let decision = cluster.schedule()
        let accounted = decision.admitted.count + decision.waiting.count + decision.rejected.count
        #expect(accounted == 10_000)
        var used: [UUID: Set<Int>] = [:]
        for placement in decision.admitted.flatMap(\.placements) {
            #expect(used[placement.nodeId, default: []].isDisjoint(with: placement.gpuIndices))
            used[placement.nodeId, default: []].formUnion(placement.gpuIndices)
        }
        #expect(used.values.allSatisfy { $0.count <= 8 })
    }
}

/// A seeded generator (SplitMix64), so the randomised scenarios are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
