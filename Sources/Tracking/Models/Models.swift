import AITIPCore
import Foundation
import SQLKit
import Storage

// Rows of the tracking tables. Times are epoch milliseconds, as in MLflow's wire format.

package enum LifecycleStage: String, Sendable, Codable {
    case active, deleted
}

/// Which lifecycle stages a list or search includes (MLflow's ViewType).
package enum ViewType: String, Sendable {
    case activeOnly = "ACTIVE_ONLY", deletedOnly = "DELETED_ONLY", all = "ALL"

    var stages: [String] {
        switch self {
        case .activeOnly: ["active"]
        case .deletedOnly: ["deleted"]
        case .all: ["active", "deleted"]
        }
    }
}

package enum RunStatus: String, Sendable, Codable, CaseIterable {
    case running = "RUNNING", scheduled = "SCHEDULED", finished = "FINISHED", failed = "FAILED", killed = "KILLED"

    package var isTerminal: Bool { [.finished, .failed, .killed].contains(self) }
}

package struct Experiment: Codable, Sendable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var ownerId: UUID?
    package var name: String
    package var description: String?
    package var hypothesis: String?
    package var config: String
    package var lifecycleStage: LifecycleStage
    package var artifactLocation: String
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, description, hypothesis, config
        case orgId = "org_id"
        case projectId = "project_id"
        case ownerId = "owner_id"
        case lifecycleStage = "lifecycle_stage"
        case artifactLocation = "artifact_location"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }

    package var policyResource: Policy.Resource {
        Policy.Resource(kind: "Experiment", orgId: orgId, projectId: projectId, createdBy: ownerId)
    }
}

package struct KeyValue: Codable, Sendable, Equatable, Hashable {
    package var key: String
    package var value: String

    package init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

package struct Run: Codable, Sendable, Equatable {
    package var id: UUID
    package var experimentId: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var ownerId: UUID?
    package var name: String
    package var userId: String
    package var status: RunStatus
    package var startMs: Int64
    package var endMs: Int64?
    package var lifecycleStage: LifecycleStage
    package var artifactURI: String
    package var trainingJobId: UUID?
    /// JSON arrays as logged through `log-inputs` and `runs/outputs`; returned as given.
    package var inputs: String
    package var outputs: String

    enum CodingKeys: String, CodingKey {
        case id, name, status, inputs, outputs
        case experimentId = "experiment_id"
        case orgId = "org_id"
        case projectId = "project_id"
        case ownerId = "owner_id"
        case userId = "user_id"
        case startMs = "start_ms"
        case endMs = "end_ms"
        case lifecycleStage = "lifecycle_stage"
        case artifactURI = "artifact_uri"
        case trainingJobId = "training_job_id"
    }

    package var policyResource: Policy.Resource {
        Policy.Resource(kind: "Run", orgId: orgId, projectId: projectId, createdBy: ownerId)
    }
}

/// A dataset a run used, as MLflow's `log_input` records it (`mlflow.data` datasets: name, digest, source).
package struct RunDatasetInput: Sendable, Equatable {
    package var name: String
    package var digest: String
    package var sourceType: String?
    package var source: String?
    /// The `mlflow.data.context` tag: training, validation, evaluation…
    package var context: String?
    package var schema: String?
    package var profile: String?
}

/// An MLflow 3 logged model the run used (`log-inputs` models) or produced (`runs/outputs`, at a step).
package struct RunModelLink: Sendable, Equatable {
    package enum Direction: String, Sendable { case input, output }

    package var modelId: String
    package var direction: Direction
    package var step: Int64?
}

extension Run {
    /// The dataset inputs among `inputs`, in the order logged (entries that are not datasets are skipped).
    package var datasetInputs: [RunDatasetInput] {
        Self.entries(inputs).compactMap { entry in
            guard case .object(let dataset)? = entry["dataset"], case .string(let name)? = dataset["name"] else { return nil }
            func text(_ object: JSONObject, _ key: String) -> String? {
                if case .string(let value)? = object[key] { return value }
                return nil
            }
            var context: String?
            if case .array(let tags)? = entry["tags"] {
                for case .object(let tag) in tags where text(tag, "key") == "mlflow.data.context" { context = text(tag, "value") }
            }
            return RunDatasetInput(
                name: name, digest: text(dataset, "digest") ?? "", sourceType: text(dataset, "source_type"), source: text(dataset, "source"),
                context: context, schema: text(dataset, "schema"), profile: text(dataset, "profile"))
        }
    }

    /// Logged models the run used, then those it produced.
    package var modelLinks: [RunModelLink] {
        func links(_ text: String, _ direction: RunModelLink.Direction) -> [RunModelLink] {
            Self.entries(text).compactMap { entry in
                guard case .string(let id)? = entry["model_id"] else { return nil }
                var step: Int64?
                switch entry["step"] {
                case .number(let value)?: step = Int64(exactly: value.rounded())
                case .string(let value)?: step = Int64(value)
                default: break
                }
                return RunModelLink(modelId: id, direction: direction, step: step)
            }
        }
        return links(inputs, .input) + links(outputs, .output)
    }

    private static func entries(_ text: String) -> [JSONObject] {
        guard text != "[]", let values = try? JSONDecoder().decode([JSONValue].self, from: Data(text.utf8)) else { return [] }
        return values.compactMap { if case .object(let object) = $0 { object } else { nil } }
    }
}

extension Run {
    /// Decoded by hand: runs come back by the hundred from searches, and Codable decoding of their UUID columns
    /// dominated those requests.
    init(row: any SQLRow) throws {
        self.init(
            id: try row.uuid("id"), experimentId: try row.uuid("experiment_id"),
            orgId: try row.uuid("org_id"), projectId: try row.uuid("project_id"),
            ownerId: try row.optionalUUID("owner_id"),
            name: try row.decode(column: "name", as: String.self), userId: try row.decode(column: "user_id", as: String.self),
            status: RunStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .running,
            startMs: try row.decode(column: "start_ms", as: Int64.self), endMs: try row.decode(column: "end_ms", as: Int64?.self),
            lifecycleStage: LifecycleStage(rawValue: try row.decode(column: "lifecycle_stage", as: String.self)) ?? .active,
            artifactURI: try row.decode(column: "artifact_uri", as: String.self),
            trainingJobId: try row.optionalUUID("training_job_id"),
            inputs: try row.decode(column: "inputs", as: String.self), outputs: try row.decode(column: "outputs", as: String.self))
    }
}

/// One point of a metric's time series.
package struct MetricPoint: Sendable, Equatable {
    package var key: String
    package var value: Double
    package var timestampMs: Int64
    package var step: Int64

    package init(key: String, value: Double, timestampMs: Int64, step: Int64) {
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
        self.step = step
    }
}

/// A run with everything MLflow returns for it: latest metric values, params and tags.
package struct RunDetail: Sendable {
    package var run: Run
    package var metrics: [MetricPoint]
    package var params: [KeyValue]
    package var tags: [KeyValue]
}

package struct ExperimentDetail: Sendable {
    package var experiment: Experiment
    package var tags: [KeyValue]
}

package struct LoggedModel: Codable, Sendable, Equatable {
    package var id: String
    package var experimentId: UUID
    package var name: String
    package var sourceRunId: UUID?
    package var status: String
    package var modelType: String?
    package var artifactLocation: String
    package var params: String
    package var tags: String
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, status, params, tags
        case experimentId = "experiment_id"
        case sourceRunId = "source_run_id"
        case modelType = "model_type"
        case artifactLocation = "artifact_location"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }
}

extension LoggedModel {
    package var tagPairs: [KeyValue] { TagColumn.decode(tags) }
    package var paramPairs: [KeyValue] { TagColumn.decode(params) }
}

extension ModelVersion {
    package var tagPairs: [KeyValue] { TagColumn.decode(tags) }
}

package struct RegisteredModel: Codable, Sendable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var ownerId: UUID?
    package var name: String
    package var description: String
    package var framework: String?
    package var modelFormat: String?
    package var latestVersion: Int
    package var metadata: String
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, description, framework, metadata
        case orgId = "org_id"
        case projectId = "project_id"
        case ownerId = "owner_id"
        case modelFormat = "model_format"
        case latestVersion = "latest_version"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }

    package var policyResource: Policy.Resource {
        Policy.Resource(kind: "Registered model", orgId: orgId, projectId: projectId, createdBy: ownerId)
    }
}

package struct ModelVersion: Codable, Sendable, Equatable {
    package var id: UUID
    package var modelId: UUID
    package var version: Int
    package var description: String
    /// The URI the version was registered from (`models:/m-…`, `runs:/…/model`, …).
    package var source: String
    /// Where its files are: an `mlflow-artifacts:` URI that resolves in this server's object store.
    package var storagePath: String
    package var runId: UUID?
    package var loggedModelId: String?
    package var trainingJobId: UUID?
    package var datasetVersionId: UUID?
    package var status: String
    package var currentStage: String
    package var userId: String
    package var tags: String
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, version, description, source, status, tags
        case modelId = "model_id"
        case storagePath = "storage_path"
        case runId = "run_id"
        case loggedModelId = "logged_model_id"
        case trainingJobId = "training_job_id"
        case datasetVersionId = "dataset_version_id"
        case currentStage = "current_stage"
        case userId = "user_id"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }
}

package struct RegisteredModelDetail: Sendable {
    package var model: RegisteredModel
    package var tags: [KeyValue]
    package var aliases: [(alias: String, version: Int)]
    package var latestVersions: [ModelVersion]
}

package struct ModelVersionDetail: Sendable {
    package var version: ModelVersion
    package var modelName: String
    package var aliases: [String]

    package init(version: ModelVersion, modelName: String, aliases: [String]) {
        self.version = version
        self.modelName = modelName
        self.aliases = aliases
    }
}

/// Tags stored as a JSON object column (logged models, model versions).
enum TagColumn {
    static func decode(_ text: String) -> [KeyValue] {
        guard let object = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else { return [] }
        return object.sorted { $0.key < $1.key }.map { KeyValue(key: $0.key, value: $0.value) }
    }

    static func encode(_ pairs: [KeyValue]) -> String {
        var object: [String: String] = [:]
        for pair in pairs { object[pair.key] = pair.value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(object)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
