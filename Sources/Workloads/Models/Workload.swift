import AITIPCore
import Executors
import Foundation
import Scheduler

/// `pending → queued → admitted → starting → running → succeeded | failed | cancelled`, with `preempted` recorded
/// on the way back to `queued` when higher-priority work takes the resources (ARCHITECTURE §4).
public enum WorkloadState: String, Sendable, Codable, CaseIterable {
    case pending, queued, admitted, starting, running, succeeded, failed, cancelled, preempted

    public var isFinal: Bool { [.succeeded, .failed, .cancelled].contains(self) }
    /// Holding resources on a node.
    public var isActive: Bool { [.admitted, .starting, .running].contains(self) }
}

/// What to run, beyond the resource columns: stored as JSON with the workload.
public struct WorkloadSpec: Sendable, Codable, Equatable {
    public var entrypoint: String
    public var env: [String: String]
    /// SHA-256 of an uploaded code archive (`POST /api/v1/training/code`).
    public var codeArchive: String?
    public var repository: LaunchRequest.Repository?
    public var distributed: DistributedMode
    public var isolateNetwork: Bool

    public init(entrypoint: String, env: [String: String] = [:], codeArchive: String? = nil, repository: LaunchRequest.Repository? = nil,
                distributed: DistributedMode = .single, isolateNetwork: Bool = false) {
        self.entrypoint = entrypoint
        self.env = env
        self.codeArchive = codeArchive
        self.repository = repository
        self.distributed = distributed
        self.isolateNetwork = isolateNetwork
    }

    enum CodingKeys: String, CodingKey {
        case entrypoint, env, repository, distributed
        case codeArchive = "code_archive"
        case isolateNetwork = "isolate_network"
    }
}

public struct Workload: Sendable, Codable, Equatable {
    public var id: UUID
    public var kind: String
    public var orgId: UUID
    public var projectId: UUID
    public var ownerId: UUID?
    public var name: String
    public var queue: String
    public var priorityClass: String
    public var priority: Int
    public var state: WorkloadState
    /// Why it is in its state: why it waits, why it failed, who stopped it.
    public var reason: String
    public var specJSON: String
    public var gpuType: String?
    public var gpuCount: Int
    public var nodeCount: Int
    public var cpu: Double
    public var memoryMiB: Int
    public var maxRuntimeSeconds: Int?
    public var maxRetries: Int
    public var attempt: Int
    public var sequence: Int64
    public var placementJSON: String?
    public var executor: String?
    public var executorRef: String?
    public var exitCode: Int?
    public var stopRequestedMs: Int64?
    public var stopReason: StopReason?
    public var createdMs: Int64
    public var startedMs: Int64?
    /// GPU usage is metered up to here.
    public var meteredMs: Int64?
    public var finishedMs: Int64?
    public var updatedMs: Int64

    public enum StopReason: String, Sendable, Codable {
        case cancel, preempt, timeout
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, name, queue, priority, state, reason, cpu, attempt, sequence, executor
        case orgId = "org_id"
        case projectId = "project_id"
        case ownerId = "owner_id"
        case priorityClass = "priority_class"
        case specJSON = "spec"
        case gpuType = "gpu_type"
        case gpuCount = "gpu_count"
        case nodeCount = "node_count"
        case memoryMiB = "memory_mib"
        case maxRuntimeSeconds = "max_runtime_seconds"
        case maxRetries = "max_retries"
        case placementJSON = "placement"
        case executorRef = "executor_ref"
        case exitCode = "exit_code"
        case stopRequestedMs = "stop_requested_ms"
        case stopReason = "stop_reason"
        case createdMs = "created_ms"
        case startedMs = "started_ms"
        case meteredMs = "metered_ms"
        case finishedMs = "finished_ms"
        case updatedMs = "updated_ms"
    }

    public var spec: WorkloadSpec {
        (try? JSONDecoder().decode(WorkloadSpec.self, from: Data(specJSON.utf8))) ?? WorkloadSpec(entrypoint: "")
    }

    public var placements: [Placement] {
        guard let placementJSON else { return [] }
        return (try? JSONDecoder().decode([Placement].self, from: Data(placementJSON.utf8))) ?? []
    }

    public var request: ResourceRequest {
        ResourceRequest(gpuType: gpuType, gpus: gpuCount, nodes: nodeCount, cpu: cpu, memoryMiB: memoryMiB)
    }

    public var owner: Owner { Owner(orgId: orgId, projectId: projectId) }
}

/// One stored transition.
public struct WorkloadEvent: Sendable, Codable, Equatable {
    public var id: UUID
    public var workloadId: UUID
    public var atMs: Int64
    public var fromState: WorkloadState?
    public var toState: WorkloadState
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case id, reason
        case workloadId = "workload_id"
        case atMs = "at_ms"
        case fromState = "from_state"
        case toState = "to_state"
    }
}
