import Foundation
import Workloads

/// A training job: a workload of kind `training` plus the design's training fields (framework, distributed mode,
/// hyper-parameter config, experiment and dataset links, checkpoint path, cost estimate and actual cost).
package struct TrainingJob: Sendable {
    package var workload: Workload
    package var details: Details
    /// GPU-hours used so far × the price of the GPU type.
    package var costActual: Double
    package var gpuSeconds: Double

    package struct Details: Sendable, Codable, Equatable {
        package var id: UUID
        package var projectId: UUID
        package var experimentId: UUID?
        package var datasetId: UUID?
        package var dataConfig: String
        package var framework: String?
        package var distributedMode: String
        package var config: String
        package var codeRepo: String?
        package var codeCommit: String?
        package var codePath: String?
        package var checkpointPath: String?
        package var costEstimate: Double?
        package var createdMs: Int64

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
