import Foundation

/// What one workload asks for. A gang of `nodes` nodes gets `gpus / nodes` GPUs on each, all of one type, or
/// nothing at all.
package struct ResourceRequest: Sendable, Hashable, Codable {
    /// nil: any GPU type.
    package var gpuType: String?
    package var gpus: Int
    package var nodes: Int
    /// CPU cores per node.
    package var cpu: Double
    /// Memory per node, in MiB.
    package var memoryMiB: Int

    package init(gpuType: String? = nil, gpus: Int = 0, nodes: Int = 1, cpu: Double = 1, memoryMiB: Int = 1_024) {
        self.gpuType = gpuType
        self.gpus = gpus
        self.nodes = nodes
        self.cpu = cpu
        self.memoryMiB = memoryMiB
    }

    package var gpusPerNode: Int { nodes > 0 ? gpus / nodes : gpus }

    /// The GPU description used in reasons, e.g. "4 a100 GPUs on 1 node".
    var summary: String {
        let type = gpuType.map { "\($0) " } ?? ""
        let gpuText = gpus == 0 ? "no GPU" : "\(gpus) \(type)GPU\(gpus == 1 ? "" : "s")"
        return "\(gpuText), \(Self.format(cpu)) CPU and \(memoryMiB) MiB on \(nodes == 1 ? "one node" : "each of \(nodes) nodes")"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}

/// Priority classes, highest value first. A workload may preempt only workloads of a strictly lower class.
package struct PriorityClass: Sendable, Hashable, Codable {
    package var name: String
    package var value: Int

    package init(name: String, value: Int) {
        self.name = name
        self.value = value
    }

    package static let low = PriorityClass(name: "low", value: 0)
    package static let normal = PriorityClass(name: "normal", value: 100)
    package static let high = PriorityClass(name: "high", value: 1_000)
    package static let defaults = [low, normal, high]
}

/// A node as the scheduler sees it: capacity and what is free right now.
package struct NodeCapacity: Sendable, Hashable {
    package var id: UUID
    package var name: String
    /// nil: a node without GPUs.
    package var gpuType: String?
    package var gpuCount: Int
    package var cpu: Double
    package var memoryMiB: Int
    /// Nodes in maintenance or offline keep their running work but take no new work.
    package var schedulable: Bool

    package init(id: UUID, name: String, gpuType: String?, gpuCount: Int, cpu: Double, memoryMiB: Int, schedulable: Bool = true) {
        self.id = id
        self.name = name
        self.gpuType = gpuType
        self.gpuCount = gpuCount
        self.cpu = cpu
        self.memoryMiB = memoryMiB
        self.schedulable = schedulable
    }
}

/// Where one part of a gang runs.
package struct Placement: Sendable, Hashable, Codable {
    package var nodeId: UUID
    package var gpuIndices: [Int]
    package var cpu: Double
    package var memoryMiB: Int

    package init(nodeId: UUID, gpuIndices: [Int], cpu: Double, memoryMiB: Int) {
        self.nodeId = nodeId
        self.gpuIndices = gpuIndices
        self.cpu = cpu
        self.memoryMiB = memoryMiB
    }
}

/// Who pays for a workload: quotas and fair share are counted per project (and per organization for quotas).
package struct Owner: Sendable, Hashable {
    package var orgId: UUID
    package var projectId: UUID

    package init(orgId: UUID, projectId: UUID) {
        self.orgId = orgId
        self.projectId = projectId
    }
}

package struct PendingWorkload: Sendable {
    package var id: UUID
    package var owner: Owner
    package var queue: String
    package var priority: Int
    package var request: ResourceRequest
    /// Submission order: FIFO within a project and priority.
    package var sequence: Int64
    package var maxRuntimeSeconds: Int?

    package init(
        id: UUID, owner: Owner, queue: String, priority: Int, request: ResourceRequest, sequence: Int64,
        maxRuntimeSeconds: Int? = nil
    ) {
        self.id = id
        self.owner = owner
        self.queue = queue
        self.priority = priority
        self.request = request
        self.sequence = sequence
        self.maxRuntimeSeconds = maxRuntimeSeconds
    }
}

package struct RunningWorkload: Sendable {
    package var id: UUID
    package var owner: Owner
    package var queue: String
    package var priority: Int
    package var placements: [Placement]
    package var startedAt: Date
    package var maxRuntimeSeconds: Int?
    /// Already told to stop (preempted or cancelled) and inside its grace period: its resources free up soon and
    /// must not be preempted a second time.
    package var terminating: Bool

    package init(
        id: UUID, owner: Owner, queue: String, priority: Int, placements: [Placement], startedAt: Date,
        maxRuntimeSeconds: Int? = nil, terminating: Bool = false
    ) {
        self.id = id
        self.owner = owner
        self.queue = queue
        self.priority = priority
        self.placements = placements
        self.startedAt = startedAt
        self.maxRuntimeSeconds = maxRuntimeSeconds
        self.terminating = terminating
    }

    var expectedEnd: Date { maxRuntimeSeconds.map { startedAt.addingTimeInterval(Double($0)) } ?? .distantFuture }
}

/// Limits of one project or organization, with what is in use now.
package struct QuotaState: Sendable {
    package var maxConcurrentJobs: Int?
    package var maxGPUSecondsPerMonth: Double?
    package var usedGPUSecondsThisMonth: Double
    package var runningJobs: Int

    package init(maxConcurrentJobs: Int? = nil, maxGPUSecondsPerMonth: Double? = nil, usedGPUSecondsThisMonth: Double = 0, runningJobs: Int = 0) {
        self.maxConcurrentJobs = maxConcurrentJobs
        self.maxGPUSecondsPerMonth = maxGPUSecondsPerMonth
        self.usedGPUSecondsThisMonth = usedGPUSecondsThisMonth
        self.runningJobs = runningJobs
    }
}

/// Everything one scheduling cycle looks at.
package struct ClusterSnapshot: Sendable {
    package var now: Date
    package var nodes: [NodeCapacity]
    package var running: [RunningWorkload]
    package var pending: [PendingWorkload]
    package var projectQuotas: [UUID: QuotaState]
    package var orgQuotas: [UUID: QuotaState]

    package init(
        now: Date, nodes: [NodeCapacity], running: [RunningWorkload], pending: [PendingWorkload],
        projectQuotas: [UUID: QuotaState] = [:], orgQuotas: [UUID: QuotaState] = [:]
    ) {
        self.now = now
        self.nodes = nodes
        self.running = running
        self.pending = pending
        self.projectQuotas = projectQuotas
        self.orgQuotas = orgQuotas
    }
}

/// What a cycle decided. Every pending workload appears in exactly one of admitted, waiting or rejected.
package struct SchedulingDecision: Sendable {
    package struct Admission: Sendable {
        package var workloadId: UUID
        package var placements: [Placement]
    }

    package struct Preemption: Sendable {
        package var victimId: UUID
        package var beneficiaryId: UUID
        package var reason: String
    }

    package var admitted: [Admission] = []
    package var preempted: [Preemption] = []
    /// Why each workload still waits, in words a user understands.
    package var waiting: [UUID: String] = [:]
    /// Workloads that can never run on this cluster, with the reason.
    package var rejected: [UUID: String] = [:]
}
