import AITIPCore
import Events
import Foundation
import HTTPServer
import HTTPTypes
import Hummingbird
import Identity
import Tracking

/// Experiments, runs, metrics and logged models of the MLflow API, translated to `TrackingService` calls.
struct MLflowHandlers: Sendable {
    let tracking: TrackingService
    let artifacts: ArtifactService
    let webhooks: WebhookService

    var traces: MLflowTraceHandlers {
        MLflowTraceHandlers(traces: artifacts.traces) { text, call in try await experimentId(text, call) }
    }

    func register(on groups: MLflowRouteGroups) {
        let route = groups.on
        // experiments
        route(.post, "experiments/create", createExperiment)
        route(.get, "experiments/get", getExperiment)
        route(.get, "experiments/get-by-name", getExperimentByName)
        groups.read(.post, "experiments/search", searchExperiments)
        groups.read(.get, "experiments/search", searchExperiments)
        route(.post, "experiments/update") { call in try await changeExperiment(call, .edit(name: try call.requiredString("new_name"))) }
        route(.post, "experiments/delete") { call in try await changeExperiment(call, .edit(stage: .deleted)) }
        route(.post, "experiments/restore") { call in try await changeExperiment(call, .edit(stage: .active)) }
        route(.post, "experiments/set-experiment-tag") { call in
            try await changeExperiment(call, .setTag(KeyValue(key: try call.requiredString("key"), value: call.string("value") ?? "")))
        }
        route(.post, "experiments/delete-experiment-tag") { call in try await changeExperiment(call, .deleteTag(try call.requiredString("key"))) }
        // runs
        route(.post, "runs/create", createRun)
        route(.get, "runs/get", getRun)
        route(.post, "runs/update", updateRun)
        route(.post, "runs/delete") { call in
            try await tracking.changeRun(try call.runId(), .update(stage: .deleted), caller: call.caller)
            return MLflowResponse.empty()
        }
        route(.post, "runs/restore") { call in
            try await tracking.changeRun(try call.runId(), .update(stage: .active), caller: call.caller)
            return MLflowResponse.empty()
        }
        groups.read(.post, "runs/search", searchRuns)
        route(.post, "runs/log-metric", logMetric)
        route(.post, "runs/log-parameter") { call in
            try await log(
                call, TrackingService.Batch(params: [KeyValue(key: try call.requiredString("key"), value: try call.requiredString("value"))]))
        }
        route(.post, "runs/set-tag") { call in
            try await log(call, TrackingService.Batch(tags: [KeyValue(key: try call.requiredString("key"), value: call.string("value") ?? "")]))
        }
        route(.post, "runs/delete-tag") { call in
            try await tracking.deleteTag(try call.requiredString("key"), from: try call.runId(), caller: call.caller)
            return MLflowResponse.empty()
        }
        groups.mutation(.post, "runs/log-batch", logBatch)
        route(.post, "runs/log-inputs") { call in
            var entries: [JSONValue] = try JSONValue.list(call.fields["datasets"])
            entries += try JSONValue.list(call.fields["models"])
            try await tracking.append(entries, to: .inputs, of: try call.runId(), caller: call.caller)
            return MLflowResponse.empty()
        }
        route(.post, "runs/outputs") { call in
            try await tracking.append(try JSONValue.list(call.fields["models"]), to: .outputs, of: try call.runId(), caller: call.caller)
            return MLflowResponse.empty()
        }
        route(.post, "runs/log-model", logModelHistory)
        route(.get, "metrics/get-history", metricHistory)
        route(.get, "artifacts/list", listArtifacts)
        // logged models (MLflow 3)
        route(.post, "logged-models", createLoggedModel)
        route(.get, "logged-models/:model_id") { call in
            try MLflowResponse.json(["model": MLLoggedModel(try await tracking.loggedModel(try call.pathParameter("model_id"), caller: call.caller))])
        }
        route(.patch, "logged-models/:model_id") { call in
            let status = try call.requiredString("status")
            let model = try await tracking.changeLoggedModel(try call.pathParameter("model_id"), .status(status), caller: call.caller)
            return try MLflowResponse.json(["model": MLLoggedModel(model)])
        }
        route(.delete, "logged-models/:model_id") { call in
            try await tracking.changeLoggedModel(try call.pathParameter("model_id"), .delete, caller: call.caller)
            return MLflowResponse.empty()
        }
        route(.patch, "logged-models/:model_id/tags") { call in
            try await tracking.changeLoggedModel(try call.pathParameter("model_id"), .setTags(try call.keyValues("tags")), caller: call.caller)
            return MLflowResponse.empty()
        }
        route(.delete, "logged-models/:model_id/tags/:tag_key") { call in
            try await tracking.changeLoggedModel(
                try call.pathParameter("model_id"), .deleteTag(try call.pathParameter("tag_key")), caller: call.caller)
            return MLflowResponse.empty()
        }
        groups.read(.post, "logged-models/search", searchLoggedModels)
        MLflowRegistryHandlers(tracking: tracking).register(on: groups)
        MLflowWebhookHandlers(tracking: tracking, webhooks: webhooks).register(on: groups)
        traces.register(on: groups)
    }

    // MARK: experiments

    /// Experiment ids in requests: an id of this server, or "0", MLflow's default experiment (this project's "Default").
    func experimentId(_ text: String, _ call: MLflowCall) async throws -> UUID {
        if text == "0" {
            let scope = try await tracking.project(call.selector, caller: call.caller)
            return try await tracking.defaultExperiment(in: scope, caller: call.caller).id
        }
        return try MLflowCall.uuid(text, what: "Experiment with id '\(text)'")
    }

    func createExperiment(_ call: MLflowCall) async throws -> Response {
        let scope = try await tracking.project(call.selector, caller: call.caller)
        let input = TrackingService.ExperimentInput(
            name: try call.requiredString("name"), artifactLocation: call.string("artifact_location"),
            tags: try call.keyValues("tags"))
        let experiment = try await tracking.createExperiment(input, in: scope, caller: call.caller)
        return try MLflowResponse.json(["experiment_id": experiment.id.lowercasedString])
    }

    func getExperiment(_ call: MLflowCall) async throws -> Response {
        let id = try await experimentId(try call.requiredString("experiment_id"), call)
        let detail = try await tracking.experiment(id, caller: call.caller)
        return MLflowResponse.write { w in
            w.object { w in
                w.key("experiment"); MLWrite.experiment(&w, detail)
            }
        }
    }

    func getExperimentByName(_ call: MLflowCall) async throws -> Response {
        let scope = try await tracking.project(call.selector, caller: call.caller)
        let detail = try await tracking.experiment(named: try call.requiredString("experiment_name"), in: scope, caller: call.caller)
        return MLflowResponse.write { w in
            w.object { w in
                w.key("experiment"); MLWrite.experiment(&w, detail)
            }
        }
    }

    func searchExperiments(_ call: MLflowCall) async throws -> Response {
        let scope = try await tracking.project(call.selector, caller: call.caller)
        _ = try await tracking.defaultExperiment(in: scope, caller: call.caller)
        let page = try await tracking.searchExperiments(
            in: scope, view: try call.viewType("view_type"), filter: call.string("filter"), orderBy: call.strings("order_by"),
            maxResults: try call.int("max_results", default: 1_000), offset: try OffsetPageToken.decode(call.string("page_token")))
        return MLflowResponse.write { w in
            w.object { w in
                w.key("experiments")
                w.array(page.items) { w, detail in MLWrite.experiment(&w, detail) }
                w.field("next_page_token", page.nextOffset.map(OffsetPageToken.encode))
            }
        }
    }

    func changeExperiment(_ call: MLflowCall, _ change: TrackingService.ExperimentChange) async throws -> Response {
        let id = try await experimentId(try call.requiredString("experiment_id"), call)
        try await tracking.changeExperiment(id, change, caller: call.caller)
        return MLflowResponse.empty()
    }

    // MARK: runs

    func createRun(_ call: MLflowCall) async throws -> Response {
        let experiment = try await experimentId(call.string("experiment_id") ?? "0", call)
        let input = TrackingService.RunInput(
            userId: call.string("user_id"), name: call.string("run_name"), startMs: try call.int64("start_time"),
            tags: try call.keyValues("tags"))
        let detail = try await tracking.createRun(in: experiment, input, caller: call.caller)
        return MLflowResponse.write { w in
            w.object { w in
                w.key("run"); MLWrite.run(&w, detail)
            }
        }
    }

    func getRun(_ call: MLflowCall) async throws -> Response {
        let detail = try await tracking.run(try call.runId(), caller: call.caller)
        return MLflowResponse.write { w in
            w.object { w in
                w.key("run"); MLWrite.run(&w, detail)
            }
        }
    }

    func updateRun(_ call: MLflowCall) async throws -> Response {
        var status: RunStatus?
        if let text = call.string("status") {
            guard let parsed = RunStatus(rawValue: text) else { throw MLflowCall.invalid("status", text) }
            status = parsed
        }
        let run = try await tracking.changeRun(
            try call.runId(), .update(status: status, endMs: try call.int64("end_time"), name: call.string("run_name")),
            caller: call.caller)
        return MLflowResponse.write { w in
            w.object { w in
                w.key("run_info"); MLWrite.runInfo(&w, run)
            }
        }
    }

    func searchRuns(_ call: MLflowCall) async throws -> Response {
        var experiments: [UUID] = []
        for text in call.strings("experiment_ids") { experiments.append(try await experimentId(text, call)) }
        let page = try await tracking.searchRuns(
            experimentIds: experiments, filter: call.string("filter"), view: try call.viewType("run_view_type"), orderBy: call.strings("order_by"),
            maxResults: try call.int("max_results", default: 1_000), offset: try OffsetPageToken.decode(call.string("page_token")),
            caller: call.caller)
        return MLflowResponse.write(capacity: 1_024 * page.runs.count) { w in
            w.object { w in
                w.key("runs")
                w.array(page.runs) { w, detail in MLWrite.run(&w, detail) }
                w.field("next_page_token", page.nextOffset.map(OffsetPageToken.encode))
            }
        }
    }

    func log(_ call: MLflowCall, _ batch: TrackingService.Batch) async throws -> Response {
        try await tracking.log(batch, to: try call.runId(), caller: call.caller)
        return MLflowResponse.empty()
    }

    func logMetric(_ call: MLflowCall) async throws -> Response {
        let point = MetricPoint(
            key: try call.requiredString("key"), value: try MLflowCall.metricValue(call.fields["value"], field: "value"),
            timestampMs: try call.int64("timestamp") ?? Date().epochMilliseconds, step: try call.int64("step") ?? 0)
        return try await log(call, TrackingService.Batch(metrics: [point]))
    }

    /// log-batch carries up to 1,000 metrics: read by `LogBatchParser` in one pass.
    func logBatch(_ request: Request, context: AppRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: .max)
        let body = try LogBatchParser.parse(buffer, now: Date().epochMilliseconds)
        guard let runText = body.runId else { throw MLflowCall.missing("run_id") }
        let batch = TrackingService.Batch(metrics: body.metrics, params: body.params, tags: body.tags)
        try await tracking.log(batch, to: try MLflowCall.uuid(runText, what: "Run with id=\(runText)"), caller: RequestScope.caller)
        return MLflowResponse.empty()
    }

    /// MLflow 2's log-model: appends the model's MLmodel JSON to the run's `mlflow.log-model.history` tag, as MLflow does.
    func logModelHistory(_ call: MLflowCall) async throws -> Response {
        let runId = try call.runId()
        let modelJSON = try call.requiredString("model_json")
        guard let entry = try? JSONDecoder().decode(JSONValue.self, from: Data(modelJSON.utf8)) else {
            throw MLflowCall.invalid("model_json", "(not JSON)")
        }
        let detail = try await tracking.run(runId, caller: call.caller)
        let key = "mlflow.log-model.history"
        var history = detail.tags.first { $0.key == key }.flatMap { try? JSONDecoder().decode([JSONValue].self, from: Data($0.value.utf8)) } ?? []
        history.append(entry)
        let text = String(decoding: try JSONEncoder().encode(history), as: UTF8.self)
        try await tracking.log(TrackingService.Batch(tags: [KeyValue(key: key, value: text)]), to: runId, caller: call.caller)
        return MLflowResponse.empty()
    }

    func metricHistory(_ call: MLflowCall) async throws -> Response {
        let page = try await tracking.metricHistory(
            run: try call.runId(), key: try call.requiredString("metric_key"),
            maxResults: try call.int("max_results", default: 25_000), offset: try OffsetPageToken.decode(call.string("page_token")),
            caller: call.caller)
        // Streamed in pieces: the client reads the first points while the rest are written, and no buffer the size of
        // the whole history (≈ 80 bytes a point) is allocated and faulted in for every request.
        let body = ResponseBody { writer in
            var json = JSONWriter(capacity: Self.historyPieceBytes + 1_024)
            json.beginObject()
            json.key("metrics")
            json.beginArray()
            for point in page.points {
                MLWrite.metric(&json, point)
                if json.pendingBytes >= Self.historyPieceBytes { try await writer.write(json.takeWritten()) }
            }
            json.endArray()
            json.field("next_page_token", page.nextOffset.map(OffsetPageToken.encode))
            json.endObject()
            try await writer.write(json.takeWritten())
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    /// Below glibc's mmap threshold, so pieces come from (and return to) the heap instead of fresh pages.
    static let historyPieceBytes = 64 * 1_024

    /// One level of a run's artifacts, paths relative to the run's artifact root, as MLflow's UI and older clients
    /// ask for them (current clients list through the proxied `mlflow-artifacts` routes instead).
    func listArtifacts(_ call: MLflowCall) async throws -> Response {
        let run = try await tracking.run(try call.runId(), caller: call.caller).run
        let relative = (call.string("path") ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let location = try ArtifactLocation(uri: relative.isEmpty ? run.artifactURI : run.artifactURI + "/" + relative)
        let files = try await artifacts.list(location, caller: call.caller).map { entry in
            MLflowArtifactHandlers.FileInfo(
                path: relative.isEmpty ? entry.name : relative + "/" + entry.name, is_dir: entry.isDirectory,
                file_size: entry.size)
        }
        return try MLflowResponse.json(ArtifactList(root_uri: run.artifactURI, files: files.isEmpty ? nil : files))
    }

    struct ArtifactList: Encodable {
        var root_uri: String
        var files: [MLflowArtifactHandlers.FileInfo]?
    }

    // MARK: logged models

    func createLoggedModel(_ call: MLflowCall) async throws -> Response {
        let experiment = try await experimentId(try call.requiredString("experiment_id"), call)
        let sourceRun = try call.string("source_run_id").map { text throws(AppError) in try MLflowCall.uuid(text, what: "Run with id=\(text)") }
        let input = TrackingService.LoggedModelInput(
            name: call.string("name"), sourceRunId: sourceRun, modelType: call.string("model_type"),
            params: try call.keyValues("params"), tags: try call.keyValues("tags"))
        let model = try await tracking.createLoggedModel(in: experiment, input, caller: call.caller)
        return try MLflowResponse.json(["model": MLLoggedModel(model)])
    }

    struct LoggedModelsPage: Encodable {
        var models: [MLLoggedModel]
        var next_page_token: String?
    }

    func searchLoggedModels(_ call: MLflowCall) async throws -> Response {
        var experiments: [UUID] = []
        for text in call.strings("experiment_ids") { experiments.append(try await experimentId(text, call)) }
        let page = try await tracking.searchLoggedModels(
            experimentIds: experiments, filter: call.string("filter"),
            maxResults: try call.int("max_results", default: 100), offset: try OffsetPageToken.decode(call.string("page_token")),
            caller: call.caller)
        return try MLflowResponse.json(
            LoggedModelsPage(models: page.models.map(MLLoggedModel.init), next_page_token: page.nextOffset.map(OffsetPageToken.encode)))
    }
}

extension MLflowCall {
    func viewType(_ name: String) throws(AppError) -> ViewType {
        guard let text = string(name) else { return .activeOnly }
        switch text {
        case "ACTIVE_ONLY", "1": return .activeOnly
        case "DELETED_ONLY", "2": return .deletedOnly
        case "ALL", "3": return .all
        default: throw Self.invalid(name, text)
        }
    }

    func pathParameter(_ name: String) throws(AppError) -> String {
        guard let value = context.parameters.get(name) else { throw Self.missing(name) }
        return value.removingPercentEncoding ?? value
    }
}

extension JSONValue {
    /// A JSON list from JSONSerialization output, as typed values (for inputs/outputs stored verbatim).
    static func list(_ raw: Any?) throws(AppError) -> [JSONValue] {
        guard let raw, !(raw is NSNull) else { return [] }
        guard let list = raw as? [Any], JSONSerialization.isValidJSONObject(list),
            let data = try? JSONSerialization.data(withJSONObject: list),
            let values = try? JSONDecoder().decode([JSONValue].self, from: data)
        else {
            throw AppError.badRequest("Expected a JSON list")
        }
        return values
    }
}
