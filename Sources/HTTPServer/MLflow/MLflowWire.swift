import AITIPCore
import Foundation
import Tracking

// MLflow's JSON shapes (protobuf JSON of service.proto / model_registry.proto), built from tracking entities.
// Ids are strings; times are epoch milliseconds; NaN and infinities are the strings "NaN", "Infinity", "-Infinity".

struct MLKeyValue: Encodable {
    var key: String
    var value: String

    init(_ pair: KeyValue) {
        key = pair.key
        value = pair.value
    }
}

struct MLMetric: Encodable {
    var key: String
    var value: Double
    var timestamp: Int64
    var step: Int64

    init(_ point: MetricPoint) {
        key = point.key
        value = point.value
        timestamp = point.timestampMs
        step = point.step
    }
}

struct MLExperiment: Encodable {
    var experiment_id: String
    var name: String
    var artifact_location: String
    var lifecycle_stage: String
    var last_update_time: Int64
    var creation_time: Int64
    var tags: [MLKeyValue]

    init(_ detail: ExperimentDetail) {
        let experiment = detail.experiment
        experiment_id = experiment.id.lowercasedString
        name = experiment.name
        artifact_location = experiment.artifactLocation
        lifecycle_stage = experiment.lifecycleStage.rawValue
        last_update_time = experiment.updatedMs
        creation_time = experiment.createdMs
        tags = detail.tags.map(MLKeyValue.init)
    }
}

struct MLRunInfo: Encodable {
    var run_uuid: String
    var run_id: String
    var run_name: String
    var experiment_id: String
    var user_id: String
    var status: String
    var start_time: Int64
    var end_time: Int64?
    var artifact_uri: String
    var lifecycle_stage: String

    init(_ run: Run) {
        run_uuid = run.id.lowercasedString
        run_id = run_uuid
        run_name = run.name
        experiment_id = run.experimentId.lowercasedString
        user_id = run.userId
        status = run.status.rawValue
        start_time = run.startMs
        end_time = run.endMs
        artifact_uri = run.artifactURI
        lifecycle_stage = run.lifecycleStage.rawValue
    }
}

struct MLRun: Encodable {
    struct Data: Encodable {
        var metrics: [MLMetric]
        var params: [MLKeyValue]
        var tags: [MLKeyValue]
    }

    struct Inputs: Encodable {
        var dataset_inputs: [JSONValue]?
        var model_inputs: [JSONValue]?
    }

    struct Outputs: Encodable {
        var model_outputs: [JSONValue]?
    }

    var info: MLRunInfo
    var data: Data
    var inputs: Inputs
    var outputs: Outputs

    init(_ detail: RunDetail) {
        info = MLRunInfo(detail.run)
        data = Data(metrics: detail.metrics.map(MLMetric.init), params: detail.params.map(MLKeyValue.init), tags: detail.tags.map(MLKeyValue.init))
        let inputs = (try? JSONDecoder().decode([JSONValue].self, from: Foundation.Data(detail.run.inputs.utf8))) ?? []
        let datasets = inputs.filter { if case .object(let object) = $0 { object["dataset"] != nil } else { false } }
        let models = inputs.filter { if case .object(let object) = $0 { object["model_id"] != nil } else { false } }
        self.inputs = Inputs(dataset_inputs: datasets.isEmpty ? nil : datasets, model_inputs: models.isEmpty ? nil : models)
        let outputs = (try? JSONDecoder().decode([JSONValue].self, from: Foundation.Data(detail.run.outputs.utf8))) ?? []
        self.outputs = Outputs(model_outputs: outputs.isEmpty ? nil : outputs)
    }
}

struct MLLoggedModel: Encodable {
    struct Info: Encodable {
        var model_id: String
        var experiment_id: String
        var name: String
        var creation_timestamp_ms: Int64
        var last_updated_timestamp_ms: Int64
        var artifact_uri: String
        var status: String
        var model_type: String?
        var source_run_id: String?
        var tags: [MLKeyValue]
    }

    struct Data: Encodable {
        var params: [MLKeyValue]
        var metrics: [MLMetric]
    }

    var info: Info
    var data: Data

    init(_ model: LoggedModel) {
        info = Info(model_id: model.id, experiment_id: model.experimentId.lowercasedString, name: model.name,
                    creation_timestamp_ms: model.createdMs, last_updated_timestamp_ms: model.updatedMs,
                    artifact_uri: model.artifactLocation, status: model.status, model_type: model.modelType,
                    source_run_id: model.sourceRunId?.lowercasedString, tags: model.tagPairs.map(MLKeyValue.init))
        data = Data(params: model.paramPairs.map(MLKeyValue.init), metrics: [])
    }
}

struct MLModelVersion: Encodable {
    var name: String
    var version: String
    var creation_timestamp: Int64
    var last_updated_timestamp: Int64
    var user_id: String
    var current_stage: String
    var description: String
    var source: String
    var run_id: String?
    var model_id: String?
    var status: String
    var run_link: String
    var tags: [MLKeyValue]
    var aliases: [String]

    init(_ detail: ModelVersionDetail) {
        let version = detail.version
        name = detail.modelName
        self.version = String(version.version)
        creation_timestamp = version.createdMs
        last_updated_timestamp = version.updatedMs
        user_id = version.userId
        current_stage = version.currentStage
        description = version.description
        source = version.source
        run_id = version.runId?.lowercasedString
        model_id = version.loggedModelId
        status = version.status
        run_link = ""
        tags = version.tagPairs.map(MLKeyValue.init)
        aliases = detail.aliases
    }
}

struct MLRegisteredModel: Encodable {
    struct Alias: Encodable {
        var alias: String
        var version: String
    }

    var name: String
    var creation_timestamp: Int64
    var last_updated_timestamp: Int64
    var user_id: String
    var description: String
    var latest_versions: [MLModelVersion]
    var tags: [MLKeyValue]
    var aliases: [Alias]

    init(_ detail: RegisteredModelDetail) {
        name = detail.model.name
        creation_timestamp = detail.model.createdMs
        last_updated_timestamp = detail.model.updatedMs
        user_id = ""
        description = detail.model.description
        latest_versions = detail.latestVersions.map { version in
            MLModelVersion(ModelVersionDetail(version: version, modelName: detail.model.name,
                                              aliases: detail.aliases.filter { $0.version == version.version }.map(\.alias)))
        }
        tags = detail.tags.map(MLKeyValue.init)
        aliases = detail.aliases.map { Alias(alias: $0.alias, version: String($0.version)) }
    }
}
