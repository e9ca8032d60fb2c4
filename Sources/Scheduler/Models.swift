import Foundation

/// What one workload asks for. A gang of `nodes` nodes gets `gpus / nodes` GPUs on each, all of one type, or
/// nothing at all.
public struct ResourceRequest: Sendable, Hashable, Codable {
    /// nil: any GPU type.
    public var gpuType: String?
    public var gpus: Int
    public var nodes: Int
    /// CPU cores per node.
    public var cpu: Double
    /// Memory per node, in MiB.
    public var memoryMiB: Int

    public init(gpuType: String? = nil, gpus: Int = 0, nodes: Int = 1, cpu: Double = 1, memoryMiB: Int = 1_024) {
        self.gpuType = gpuType
        self.gpus = gpus
        self.nodes = nodes
        self.cpu = cpu
        self.memoryMiB = memoryMiB
    }

    public var gpusPerNode: Int { nodes > 0 ? gpus / nodes : gpus }

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
public struct PriorityClass: Sendable, Hashable, Codable {
    public var name: String
    public var value: Int

    public init(name: String, value: Int) {
        self.name = name
        self.value = value
    }

    public static let low = PriorityClass(name: "low", value: 0)
    public static let normal = PriorityClass(name: "normal", value: 100)
    public static let high = PriorityClass(name: "high", value: 1_000)
    public static let defaults = [low, normal, high]
}

/// A node as the scheduler sees it: capacity and what is free right now.
public struct NodeCapacity: Sendable, Hashable {
    public var id: UUID
    public var name: String
    /// nil: a node without GPUs.
    public var gpuType: String?
    public var gpuCount: Int
    public var cpu: Double
    public var memoryMiB: Int
    /// Nodes in maintenance or offline keep their running work but take no new work.
    public var schedulable: Bool

    public init(id: UUID, name: String, gpuType: String?, gpuCount: Int, cpu: Double, memoryMiB: Int, schedulable: Bool = true) {
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
public struct Placement: Sendable, Hashable, Codable {
    public var nodeId: UUID
    public var gpuIndices: [Int]
    public var cpu: Double
    public var memoryMiB: Int

    public init(nodeId: UUID, gpuIndices: [Int], cpu: Double, memoryMiB: Int) {
        self.nodeId = nodeId
        self.gpuIndices = gpuIndices
        self.cpu = cpu
        self.memoryMiB = memoryMiB
    }
}

/// Who pays for a workload: quotas and fair share are counted per project (and per organization for quotas).
public struct Owner: Sendable, Hashable {
    public var orgId: UUID
    public var projectId: UUID

    public init(orgId: UUID, projectId: UUID) {
        self.orgId = orgId
        self.projectId = projectId
    }
}

public struct PendingWorkload: Sendable {
    public var id: UUID
    public var owner: Owner
    public var queue: String
    public var priority: Int
    public var request: ResourceRequest
    /// Submission order: FIFO within a project and priority.
    public var sequence: Int64
    public var maxRuntimeSeconds: Int?

    public init(id: UUID, owner: Owner, queue: String, priority: Int, request: ResourceRequest, sequence: Int64,
                maxRuntimeSeconds: Int? = nil) {
        self.id = id
        self.owner = owner
        self.queue = queue
        self.priority = priority
        self.request = request
        self.sequence = sequence
        self.maxRuntimeSeconds = maxRuntimeSeconds
    }
}

public struct RunningWorkload: Sendable {
    public var id: UUID
    public var owner: Owner
    public var queue: String
    public var priority: Int
    public var placements: [Placement]
    public var startedAt: Date
    public var maxRuntimeSeconds: Int?
    /// Already told to stop (preempted or cancelled) and inside its grace period: its resources free up soon and
    /// must not be preempted a second time.
    public var terminating: Bool

    public init(id: UUID, owner: Owner, queue: String, priority: Int, placements: [Placement], startedAt: Date,
                maxRuntimeSeconds: Int? = nil, terminating: Bool = false) {
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
public struct QuotaState: Sendable {
    public var maxConcurrentJobs: Int?
    public var maxGPUSecondsPerMonth: Double?
    public var usedGPUSecondsThisMonth: Double
    public var runningJobs: Int

    public init(maxConcurrentJobs: Int? = nil, maxGPUSecondsPerMonth: Double? = nil, usedGPUSecondsThisMonth: Double = 0, runningJobs: Int = 0) {
        self.maxConcurrentJobs = maxConcurrentJobs
        self.maxGPUSecondsPerMonth = maxGPUSecondsPerMonth
        self.usedGPUSecondsThisMonth = usedGPUSecondsThisMonth
        self.runningJobs = runningJobs
    }
}

/// Everything one scheduling cycle looks at.
public struct ClusterSnapshot: Sendable {
    public var now: Date
    public var nodes: [NodeCapacity]
    public var running: [RunningWorkload]
    public var pending: [PendingWorkload]
    public var projectQuotas: [UUID: QuotaState]
    public var orgQuotas: [UUID: QuotaState]

    public init(now: Date, nodes: [NodeCapacity], running: [RunningWorkload], pending: [PendingWorkload],
                projectQuotas: [UUID: QuotaState] = [:], orgQuotas: [UUID: QuotaState] = [:]) {
        self.now = now
        self.nodes = nodes
        self.running = running
        self.pending = pending
        self.projectQuotas = projectQuotas
        self.orgQuotas = orgQuotas
    }
}

/// What a cycle decided. Every pending workload appears in exactly one of admitted, waiting or rejected.
public struct SchedulingDecision: Sendable {
    public struct Admission: Sendable {
        public var workloadId: UUID
        public var placements: [Placement]
    }

    public struct Preemption: Sendable {
        public var victimId: UUID
        public var beneficiaryId: UUID
        public var reason: String
    }

    public var admitted: [Admission] = []
    public var preempted: [Preemption] = []
    /// Why each workload still waits, in words a user understands.
    public var waiting: [UUID: String] = [:]
    /// Workloads that can never run on this cluster, with the reason.
    public var rejected: [UUID: String] = [:]
}
