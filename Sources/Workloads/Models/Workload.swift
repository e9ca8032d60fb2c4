import AITIPCore
import Executors
import Foundation
import Scheduler

/// `pending → queued → admitted → starting → running → succeeded | failed | cancelled`, with `preempted` recorded
/// on the way back to `queued` when higher-priority work takes the resources (ARCHITECTURE §4).
package enum WorkloadState: String, Sendable, Codable, CaseIterable {
    case pending, queued, admitted, starting, running, succeeded, failed, cancelled, preempted

    package var isFinal: Bool { [.succeeded, .failed, .cancelled].contains(self) }
    /// Holding resources on a node.
    package var isActive: Bool { [.admitted, .starting, .running].contains(self) }
}

/// What to run, beyond the resource columns: stored as JSON with the workload.
package struct WorkloadSpec: Sendable, Codable, Equatable {
    package var entrypoint: String
    package var env: [String: String]
    /// SHA-256 of an uploaded code archive (`POST /api/v1/training/code`).
    package var codeArchive: String?
    package var repository: LaunchRequest.Repository?
    package var distributed: DistributedMode
    package var isolateNetwork: Bool
    /// nil: the bubblewrap sandbox (`container`), as for every workload stored before isolation levels existed.
    package var isolation: Isolation?
    /// `LaunchRequest.companion`: a program run beside the entrypoint in a sandbox of its own.
    package var companion: String?

    package init(
        entrypoint: String, env: [String: String] = [:], codeArchive: String? = nil, repository: LaunchRequest.Repository? = nil,
        distributed: DistributedMode = .single, isolateNetwork: Bool = false, isolation: Isolation? = nil, companion: String? = nil
    ) {
        self.companion = companion
        self.isolation = isolation
        self.entrypoint = entrypoint
        self.env = env
        self.codeArchive = codeArchive
        self.repository = repository
        self.distributed = distributed
        self.isolateNetwork = isolateNetwork
    }

    enum CodingKeys: String, CodingKey {
        case entrypoint, env, repository, distributed, isolation, companion
        case codeArchive = "code_archive"
        case isolateNetwork = "isolate_network"
    }
}

package struct Workload: Sendable, Codable, Equatable {
    package var id: UUID
    package var kind: String
    package var orgId: UUID
    package var projectId: UUID
    package var ownerId: UUID?
    package var name: String
    package var queue: String
    package var priorityClass: String
    package var priority: Int
    package var state: WorkloadState
    /// Why it is in its state: why it waits, why it failed, who stopped it.
    package var reason: String
    package var specJSON: String
    package var gpuType: String?
    package var gpuCount: Int
    package var nodeCount: Int
    package var cpu: Double
    package var memoryMiB: Int
    package var maxRuntimeSeconds: Int?
    package var maxRetries: Int
    package var attempt: Int
    package var sequence: Int64
    package var placementJSON: String?
    package var executor: String?
    package var executorRef: String?
    package var exitCode: Int?
    package var stopRequestedMs: Int64?
    package var stopReason: StopReason?
    package var createdMs: Int64
    package var startedMs: Int64?
    /// GPU usage is metered up to here.
    package var meteredMs: Int64?
    package var finishedMs: Int64?
    package var updatedMs: Int64

    package enum StopReason: String, Sendable, Codable {
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

    package var spec: WorkloadSpec {
        (try? JSONDecoder().decode(WorkloadSpec.self, from: Data(specJSON.utf8))) ?? WorkloadSpec(entrypoint: "")
    }

    package var placements: [Placement] {
        guard let placementJSON else { return [] }
        return (try? JSONDecoder().decode([Placement].self, from: Data(placementJSON.utf8))) ?? []
    }

    package var request: ResourceRequest {
        ResourceRequest(gpuType: gpuType, gpus: gpuCount, nodes: nodeCount, cpu: cpu, memoryMiB: memoryMiB)
    }

    package var owner: Owner { Owner(orgId: orgId, projectId: projectId) }
}

/// One stored transition.
package struct WorkloadEvent: Sendable, Codable, Equatable {
    package var id: UUID
    package var workloadId: UUID
    package var atMs: Int64
    package var fromState: WorkloadState?
    package var toState: WorkloadState
    package var reason: String

    enum CodingKeys: String, CodingKey {
        case id, reason
        case workloadId = "workload_id"
        case atMs = "at_ms"
        case fromState = "from_state"
        case toState = "to_state"
    }
}
