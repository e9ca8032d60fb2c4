import AITIPCore
import Foundation
import HTTPServer
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

/// The large shapes (runs, metrics, experiments), written with `JSONWriter`.
enum MLWrite {
    static func metric(_ writer: inout JSONWriter, _ point: MetricPoint) {
        writer.object { w in
            w.field("key", point.key)
            w.field("value", point.value)
            w.field("timestamp", point.timestampMs)
            w.field("step", point.step)
        }
    }

    static func keyValues(_ writer: inout JSONWriter, _ pairs: [KeyValue]) {
        writer.array(pairs) { w, pair in
            w.object { w in
                w.field("key", pair.key)
                w.field("value", pair.value)
            }
        }
    }

    static func runInfo(_ writer: inout JSONWriter, _ run: Run) {
        writer.object { w in
            let id = run.id.lowercasedString
            w.field("run_uuid", id)
            w.field("run_id", id)
            w.field("run_name", run.name)
            w.field("experiment_id", run.experimentId.lowercasedString)
            w.field("user_id", run.userId)
            w.field("status", run.status.rawValue)
            w.field("start_time", run.startMs)
            w.field("end_time", run.endMs)
            w.field("artifact_uri", run.artifactURI)
            w.field("lifecycle_stage", run.lifecycleStage.rawValue)
        }
    }

    static func run(_ writer: inout JSONWriter, _ detail: RunDetail) {
        writer.object { w in
            w.key("info")
            runInfo(&w, detail.run)
            w.key("data")
            w.object { w in
                w.key("metrics")
                w.array(detail.metrics) { w, point in metric(&w, point) }
                w.key("params")
                keyValues(&w, detail.params)
                w.key("tags")
                keyValues(&w, detail.tags)
            }
            // Inputs hold dataset entries (`dataset`) and model entries (`model_id`); outputs hold model entries.
            let inputs = detail.run.inputs == "[]" ? [] : (try? JSONDecoder().decode([JSONValue].self, from: Data(detail.run.inputs.utf8))) ?? []
            w.key("inputs")
            w.object { w in
                let datasets = inputs.filter { if case .object(let object) = $0 { object["dataset"] != nil } else { false } }
                let models = inputs.filter { if case .object(let object) = $0 { object["model_id"] != nil } else { false } }
                if !datasets.isEmpty { w.key("dataset_inputs"); w.raw(encode(datasets)) }
                if !models.isEmpty { w.key("model_inputs"); w.raw(encode(models)) }
            }
            w.key("outputs")
            w.object { w in
                if detail.run.outputs != "[]" { w.key("model_outputs"); w.raw(detail.run.outputs) }
            }
        }
    }

    static func experiment(_ writer: inout JSONWriter, _ detail: ExperimentDetail) {
        let experiment = detail.experiment
        writer.object { w in
            w.field("experiment_id", experiment.id.lowercasedString)
            w.field("name", experiment.name)
            w.field("artifact_location", experiment.artifactLocation)
            w.field("lifecycle_stage", experiment.lifecycleStage.rawValue)
            w.field("last_update_time", experiment.updatedMs)
            w.field("creation_time", experiment.createdMs)
            w.key("tags")
            keyValues(&w, detail.tags)
        }
    }

    private static func encode(_ values: [JSONValue]) -> String {
        String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self)
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
        info = Info(
            model_id: model.id, experiment_id: model.experimentId.lowercasedString, name: model.name,
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
            MLModelVersion(
                ModelVersionDetail(
                    version: version, modelName: detail.model.name,
                    aliases: detail.aliases.filter { $0.version == version.version }.map(\.alias)))
        }
        tags = detail.tags.map(MLKeyValue.init)
        aliases = detail.aliases.map { Alias(alias: $0.alias, version: String($0.version)) }
    }
}
