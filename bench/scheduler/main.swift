import Foundation
import Scheduler

// The scheduler's cycle on a simulated cluster: 1,000 nodes with 8 GPUs each (two GPU types), 10,000 pending
// workloads from 20 projects in 3 priority classes, project concurrency quotas. The first cycle starts on an empty
// cluster; then, for 500 cycles, 2% of running work finishes, preempted work requeues and new work keeps 10,000
// pending. Reports admissions/s (admitted workloads per second of scheduler time) and cycle latency percentiles.
// Usage: swift run -c release scheduler-bench [pending] [nodes] [cycles]

let arguments = CommandLine.arguments.dropFirst().compactMap(Int.init)
let pendingCount = arguments.first ?? 10_000
let nodeCount = arguments.dropFirst().first ?? 1_000
let cycles = arguments.dropFirst(2).first ?? 500
var random = SplitMix(seed: 42)

let org = UUID()
let projects = (0..<20).map { _ in Owner(orgId: org, projectId: UUID()) }
let nodes = (0..<nodeCount).map { index in
    NodeCapacity(id: UUID(), name: "node-\(index)", gpuType: index % 2 == 0 ? "a100" : "h100", gpuCount: 8, cpu: 96, memoryMiB: 1_024_000)
}
var quotas: [UUID: QuotaState] = [:]
for project in projects { quotas[project.projectId] = QuotaState(maxConcurrentJobs: 600) }

var sequence: Int64 = 0
@MainActor func newWorkload(_ index: Int) -> PendingWorkload {
    sequence += 1
    return PendingWorkload(id: UUID(), owner: projects[Int(random.next() % 20)], queue: index % 4 == 0 ? "research" : "default",
                           priority: [0, 100, 1_000][Int(random.next() % 3)],
                           request: ResourceRequest(gpuType: random.next() % 2 == 0 ? "a100" : "h100",
                                                    gpus: [1, 1, 2, 4, 8][Int(random.next() % 5)], cpu: 4, memoryMiB: 16_000),
                           sequence: sequence, maxRuntimeSeconds: random.next() % 2 == 0 ? 3_600 : nil)
}
var pending = (0..<pendingCount).map(newWorkload)
var running: [UUID: RunningWorkload] = [:]
var now = Date(timeIntervalSince1970: 1_800_000_000)
let scheduler = Scheduler()
var latencies: [Double] = []
var admitted = 0
var firstAdmissions = 0
var preempted = 0
var schedulerSeconds = 0.0

while latencies.count <= cycles {
    var projectQuotas = quotas
    for workload in running.values { projectQuotas[workload.owner.projectId]!.runningJobs += 1 }
    let snapshot = ClusterSnapshot(now: now, nodes: nodes, running: Array(running.values), pending: pending,
                                   projectQuotas: projectQuotas)
    let started = DispatchTime.now().uptimeNanoseconds
    let decision = scheduler.schedule(snapshot)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    latencies.append(seconds)
    if latencies.count == 1 { firstAdmissions = decision.admitted.count } else { admitted += decision.admitted.count; schedulerSeconds += seconds }
    preempted += decision.preempted.count

    let byId = Dictionary(uniqueKeysWithValues: pending.map { ($0.id, $0) })
    for admission in decision.admitted {
        let workload = byId[admission.workloadId]!
        running[workload.id] = RunningWorkload(id: workload.id, owner: workload.owner, queue: workload.queue, priority: workload.priority,
                                               placements: admission.placements, startedAt: now, maxRuntimeSeconds: workload.maxRuntimeSeconds)
    }
    let gone = Set(decision.admitted.map(\.workloadId)).union(decision.rejected.keys)
    pending.removeAll { gone.contains($0.id) }
    // Victims stop at once here (their grace period is the executor's business) and go back to the queue.
    for preemption in decision.preempted {
        guard let victim = running.removeValue(forKey: preemption.victimId) else { continue }
        sequence += 1
        pending.append(PendingWorkload(id: victim.id, owner: victim.owner, queue: victim.queue, priority: victim.priority,
                                       request: ResourceRequest(gpuType: nodes.first { $0.id == victim.placements[0].nodeId }?.gpuType,
                                                                gpus: victim.placements.reduce(0) { $0 + $1.gpuIndices.count },
                                                                nodes: victim.placements.count, cpu: 4, memoryMiB: 16_000),
                                       sequence: sequence, maxRuntimeSeconds: victim.maxRuntimeSeconds))
    }
    for id in running.keys where random.next() % 50 == 0 { running.removeValue(forKey: id) }
    while pending.count < pendingCount { pending.append(newWorkload(Int(sequence))) }
    now = now.addingTimeInterval(1)
}

let firstCycle = latencies.removeFirst()
let firstAdmitted = firstAdmissions
latencies.sort()
let sorted = latencies
func percentile(_ fraction: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))] * 1_000 }
print(String(format: "nodes=%d gpus=%d pending=%d cycles=%d admitted=%d preempted=%d", nodeCount, nodeCount * 8, pendingCount,
             latencies.count, admitted, preempted))
print(String(format: "first cycle (empty cluster): %.2f ms, %d admitted (%.0f admissions/s)", firstCycle * 1_000, firstAdmitted,
             Double(firstAdmitted) / firstCycle))
print(String(format: "steady state: admissions/s=%.0f cycle_ms p50=%.2f p90=%.2f p99=%.2f max=%.2f",
             Double(admitted) / schedulerSeconds, percentile(0.5), percentile(0.9), percentile(0.99),
             (latencies.last ?? 0) * 1_000))

/// A seeded generator so runs are comparable.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
