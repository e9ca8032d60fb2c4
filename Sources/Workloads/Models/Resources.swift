import Foundation

public enum NodeStatus: String, Sendable, Codable, CaseIterable {
    /// available: takes work; busy: all GPUs in use (derived); maintenance: drained, keeps running work;
    /// offline: no heartbeat.
    case available, busy, maintenance, offline
}

public struct GPUNode: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    /// GPU type (a100, h100, …); nil for a node without GPUs.
    public var nodeType: String?
    public var gpuCount: Int
    public var gpuMemoryGB: Int?
    public var cpuCores: Double
    public var memoryMiB: Int
    public var status: NodeStatus
    public var labelsJSON: String
    /// local, simulated or ray.
    public var source: String
    public var totalJobs: Int64
    public var totalGPUSeconds: Double
    public var lastHeartbeatMs: Int64?
    public var createdMs: Int64

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

    public var labels: [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(labelsJSON.utf8))) ?? [:]
    }
}

/// A node as seen right now: inventory plus what is in use.
public struct NodeView: Sendable {
    public var node: GPUNode
    public var gpusInUse: Int
    public var runningWorkloads: Int
    public var effectiveStatus: NodeStatus
}

public struct Quota: Sendable, Codable, Equatable {
    public var id: UUID
    public var orgId: UUID
    public var projectId: UUID?
    public var scope: String
    public var maxGPUHoursMonth: Double?
    public var maxStorageGB: Int?
    public var maxConcurrentJobs: Int?
    public var maxModels: Int?
    public var createdMs: Int64
    public var updatedMs: Int64

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
public struct QuotaView: Sendable {
    public var quota: Quota
    public var usedGPUHoursMonth: Double
    public var runningJobs: Int
}

/// GPU usage and cost, summed by one dimension.
public struct UsageLine: Sendable, Equatable {
    public var key: String
    public var gpuType: String
    public var gpuSeconds: Double
    public var cost: Double
}
