import AITIPCore
import Foundation
import SQLKit
import Storage

// Rows of the tracking tables. Times are epoch milliseconds, as in MLflow's wire format.

public enum LifecycleStage: String, Sendable, Codable {
    case active, deleted
}

/// Which lifecycle stages a list or search includes (MLflow's ViewType).
public enum ViewType: String, Sendable {
    case activeOnly = "ACTIVE_ONLY", deletedOnly = "DELETED_ONLY", all = "ALL"

    var stages: [String] {
        switch self {
        case .activeOnly: ["active"]
        case .deletedOnly: ["deleted"]
        case .all: ["active", "deleted"]
        }
    }
}

public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case running = "RUNNING", scheduled = "SCHEDULED", finished = "FINISHED", failed = "FAILED", killed = "KILLED"

    public var isTerminal: Bool { [.finished, .failed, .killed].contains(self) }
}

public struct Experiment: Codable, Sendable, Equatable {
    public var id: UUID
    public var orgId: UUID
    public var projectId: UUID
    public var ownerId: UUID?
    public var name: String
    public var description: String?
    public var hypothesis: String?
    public var config: String
    public var lifecycleStage: LifecycleStage
    public var artifactLocation: String
    public var createdMs: Int64
    public var updatedMs: Int64

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

    public var policyResource: Policy.Resource {
        Policy.Resource(kind: "Experiment", orgId: orgId, projectId: projectId, createdBy: ownerId)
    }
}

public struct KeyValue: Codable, Sendable, Equatable, Hashable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

public struct Run: Codable, Sendable, Equatable {
    public var id: UUID
    public var experimentId: UUID
    public var orgId: UUID
    public var projectId: UUID
    public var ownerId: UUID?
    public var name: String
    public var userId: String
    public var status: RunStatus
    public var startMs: Int64
    public var endMs: Int64?
    public var lifecycleStage: LifecycleStage
    public var artifactURI: String
    public var trainingJobId: UUID?
    /// JSON arrays as logged through `log-inputs` and `runs/outputs`; returned as given.
    public var inputs: String
    public var outputs: String

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

    public var policyResource: Policy.Resource {
        Policy.Resource(kind: "Run", orgId: orgId, projectId: projectId, createdBy: ownerId)
    }
}

extension Run {
    /// Decoded by hand: runs come back by the hundred from searches, and Codable decoding of their UUID columns
    /// dominated those requests.
    init(row: any SQLRow) throws {
        self.init(id: try row.uuid("id"), experimentId: try row.uuid("experiment_id"),
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
public struct MetricPoint: Sendable, Equatable {
    public var key: String
    public var value: Double
    public var timestampMs: Int64
    public var step: Int64

    public init(key: String, value: Double, timestampMs: Int64, step: Int64) {
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
        self.step = step
    }
}

/// A run with everything MLflow returns for it: latest metric values, params and tags.
public struct RunDetail: Sendable {
    public var run: Run
    public var metrics: [MetricPoint]
    public var params: [KeyValue]
    public var tags: [KeyValue]
}

public struct ExperimentDetail: Sendable {
    public var experiment: Experiment
    public var tags: [KeyValue]
}

public struct LoggedModel: Codable, Sendable, Equatable {
    public var id: String
    public var experimentId: UUID
    public var name: String
    public var sourceRunId: UUID?
    public var status: String
    public var modelType: String?
    public var artifactLocation: String
    public var params: String
    public var tags: String
    public var createdMs: Int64
    public var updatedMs: Int64

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
    public var tagPairs: [KeyValue] { TagColumn.decode(tags) }
    public var paramPairs: [KeyValue] { TagColumn.decode(params) }
}

extension ModelVersion {
    public var tagPairs: [KeyValue] { TagColumn.decode(tags) }
}

public struct RegisteredModel: Codable, Sendable, Equatable {
    public var id: UUID
    public var orgId: UUID
    public var projectId: UUID
    public var ownerId: UUID?
    public var name: String
    public var description: String
    public var framework: String?
    public var modelFormat: String?
    public var latestVersion: Int
    public var metadata: String
    public var createdMs: Int64
    public var updatedMs: Int64

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

    public var policyResource: Policy.Resource {
        Policy.Resource(kind: "Registered model", orgId: orgId, projectId: projectId, createdBy: ownerId)
    }
}

public struct ModelVersion: Codable, Sendable, Equatable {
    public var id: UUID
    public var modelId: UUID
    public var version: Int
    public var description: String
    /// The URI the version was registered from (`models:/m-…`, `runs:/…/model`, …).
    public var source: String
    /// Where its files are: an `mlflow-artifacts:` URI that resolves in this server's object store.
    public var storagePath: String
    public var runId: UUID?
    public var loggedModelId: String?
    public var trainingJobId: UUID?
    public var datasetVersionId: UUID?
    public var status: String
    public var currentStage: String
    public var userId: String
    public var tags: String
    public var createdMs: Int64
    public var updatedMs: Int64

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

public struct RegisteredModelDetail: Sendable {
    public var model: RegisteredModel
    public var tags: [KeyValue]
    public var aliases: [(alias: String, version: Int)]
    public var latestVersions: [ModelVersion]
}

public struct ModelVersionDetail: Sendable {
    public var version: ModelVersion
    public var modelName: String
    public var aliases: [String]

    public init(version: ModelVersion, modelName: String, aliases: [String]) {
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
