import Foundation

package enum NodeStatus: String, Sendable, Codable, CaseIterable {
    /// available: takes work; busy: all GPUs in use (derived); maintenance: drained, keeps running work;
    /// offline: no heartbeat.
    case available, busy, maintenance, offline
}

package struct GPUNode: Sendable, Codable, Equatable {
    package var id: UUID
    package var name: String
    /// GPU type (a100, h100, …); nil for a node without GPUs.
    package var nodeType: String?
    package var gpuCount: Int
    package var gpuMemoryGB: Int?
    package var cpuCores: Double
    package var memoryMiB: Int
    package var status: NodeStatus
    package var labelsJSON: String
    /// local, simulated or ray.
    package var source: String
    package var totalJobs: Int64
    package var totalGPUSeconds: Double
    package var lastHeartbeatMs: Int64?
    package var createdMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, status, source
        case nodeType = "node_type"
        case gpuCount = "gpu_count"
        case gpuMemoryGB = "gpu_memory_gb"
        case cpuCores = "cpu_cores"
        case memoryMiB = "memory_mib"
        case labelsJSON = "labels"
        case totalJobs = "total_jobs"
        case totalGPUSeconds = "total_gpu_seconds"
        case lastHeartbeatMs = "last_heartbeat_ms"
        case createdMs = "created_ms"
    }

    package var labels: [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(labelsJSON.utf8))) ?? [:]
    }
}

/// A node as seen right now: inventory plus what is in use.
package struct NodeView: Sendable {
    package var node: GPUNode
    package var gpusInUse: Int
    package var runningWorkloads: Int
    package var effectiveStatus: NodeStatus
}

package struct Quota: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID?
    package var scope: String
    package var maxGPUHoursMonth: Double?
    package var maxStorageGB: Int?
    package var maxConcurrentJobs: Int?
    package var maxModels: Int?
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, scope
        case orgId = "org_id"
        case projectId = "project_id"
        case maxGPUHoursMonth = "max_gpu_hours_month"
        case maxStorageGB = "max_storage_gb"
        case maxConcurrentJobs = "max_concurrent_jobs"
        case maxModels = "max_models"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }
}

/// A quota with what is used now (GPU hours this month, running jobs).
package struct QuotaView: Sendable {
    package var quota: Quota
    package var usedGPUHoursMonth: Double
    package var runningJobs: Int
}

/// GPU usage and cost, summed by one dimension.
package struct UsageLine: Sendable, Equatable {
    package var key: String
    package var gpuType: String
    package var gpuSeconds: Double
    package var cost: Double
}
