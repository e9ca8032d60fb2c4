import Foundation
import Workloads

/// An evaluation job: a workload of the kind `evaluation` that runs a model version (and its baseline) on a dataset
/// version's features, plus what aitip scores it with and what it found.
package struct EvaluationJob: Sendable {
    package var workload: Workload
    package var details: Details

    /// One row of `evaluation_jobs`.
    package struct Details: Sendable, Codable, Equatable {
        package var id: UUID
        package var orgId: UUID
        package var projectId: UUID
        package var benchmark: String
        package var benchmarkVersion: Int
        package var modelName: String
        package var modelVersion: Int
        package var modelVersionId: UUID
        package var baselineName: String?
        package var baselineVersion: Int?
        package var baselineVersionId: UUID?
        /// Why the baseline is the one it is (or why there is none).
        package var baselineReason: String
        package var datasetId: UUID
        package var datasetName: String
        package var datasetVersionId: UUID
        package var datasetVersion: String
        package var datasetPath: String
        package var datasetSha256: String
        package var datasetSizeBytes: Int64
        package var targetColumn: String
        /// JSON array of column names.
        package var sliceColumns: String
        /// JSON object: metric → `MetricThreshold`.
        package var thresholds: String
        /// The tracking run the candidate's metrics are logged to, when its version came from one the caller may write.
        package var runId: UUID?
        package var resultState: ResultState
        /// JSON `Results`, once scored.
        package var results: String?
        package var gatePassed: Bool?
        package var resultError: String?
        package var createdMs: Int64
        package var completedMs: Int64?

        enum CodingKeys: String, CodingKey {
            case id, benchmark, thresholds, results
            case orgId = "org_id"
            case projectId = "project_id"
            case benchmarkVersion = "benchmark_version"
            case modelName = "model_name"
            case modelVersion = "model_version"
            case modelVersionId = "model_version_id"
            case baselineName = "baseline_name"
            case baselineVersion = "baseline_version"
            case baselineVersionId = "baseline_version_id"
            case baselineReason = "baseline_reason"
            case datasetId = "dataset_id"
            case datasetName = "dataset_name"
            case datasetVersionId = "dataset_version_id"
            case datasetVersion = "dataset_version"
            case datasetPath = "dataset_path"
            case datasetSha256 = "dataset_sha256"
            case datasetSizeBytes = "dataset_size_bytes"
            case targetColumn = "target_column"
            case sliceColumns = "slice_columns"
            case runId = "run_id"
            case resultState = "result_state"
            case gatePassed = "gate_passed"
            case resultError = "result_error"
            case createdMs = "created_ms"
            case completedMs = "completed_ms"
        }

        package var modelURI: String { "models:/\(modelName)/\(modelVersion)" }
        package var baselineURI: String? { baselineName.flatMap { name in baselineVersion.map { "models:/\(name)/\($0)" } } }
        package var decodedThresholds: [String: MetricThreshold] {
            (try? JSONDecoder().decode([String: MetricThreshold].self, from: Data(thresholds.utf8))) ?? [:]
        }
        package var decodedSliceColumns: [String] { (try? JSONDecoder().decode([String].self, from: Data(sliceColumns.utf8))) ?? [] }
        package var decodedResults: Results? { results.flatMap { try? JSONDecoder().decode(Results.self, from: Data($0.utf8)) } }
    }

    /// `pending` until the workload ends; `ready` when its predictions were scored; `failed` when they could not be
    /// (the workload failed, or printed no complete predictions), with the reason in `resultError`.
    package enum ResultState: String, Sendable, Codable {
        case pending, ready, failed
    }

    /// What an evaluation found: each model's metrics on all rows and per slice, and the gate's verdict.
    package struct Results: Sendable, Codable, Equatable {
        package var rows: Int
        package var candidate: [String: MetricValue]
        package var baseline: [String: MetricValue]?
        package var slices: [Slice]
        package var gate: GateVerdict
        /// Metric → greater is better, where the job's result file declared it (script benchmarks).
        package var directions: [String: Bool]? = nil

        package struct Slice: Sendable, Codable, Equatable {
            package var column: String
            package var value: String
            package var rows: Int
            package var candidate: [String: MetricValue]
            package var baseline: [String: MetricValue]?
        }
    }
}
