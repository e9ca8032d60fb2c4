import Foundation
import Workloads

/// A training job: a workload of kind `training` plus the design's training fields (framework, distributed mode,
/// hyper-parameter config, experiment and dataset links, checkpoint path, cost estimate and actual cost).
public struct TrainingJob: Sendable {
    public var workload: Workload
    public var details: Details
    /// GPU-hours used so far × the price of the GPU type.
    public var costActual: Double
    public var gpuSeconds: Double

    public struct Details: Sendable, Codable, Equatable {
        public var id: UUID
        public var projectId: UUID
        public var experimentId: UUID?
        public var datasetId: UUID?
        public var dataConfig: String
        public var framework: String?
        public var distributedMode: String
        public var config: String
        public var codeRepo: String?
        public var codeCommit: String?
        public var codePath: String?
        public var checkpointPath: String?
        public var costEstimate: Double?
        public var createdMs: Int64

        enum CodingKeys: String, CodingKey {
            case id, framework, config
            case projectId = "project_id"
            case experimentId = "experiment_id"
            case datasetId = "dataset_id"
            case dataConfig = "data_config"
            case distributedMode = "distributed_mode"
            case codeRepo = "code_repo"
            case codeCommit = "code_commit"
            case codePath = "code_path"
            case checkpointPath = "checkpoint_path"
            case costEstimate = "cost_estimate"
            case createdMs = "created_ms"
        }
    }
}
