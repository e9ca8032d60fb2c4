import AITIPCore
import Foundation
import HTTPServer
import Hummingbird
import NIOCore
import Tracking

/// MLflow 3 tracing, as the client calls it: `StartTraceV3`, `GetTraceInfoV3` and `SearchTracesV3` under
/// `/api/3.0/mlflow/traces…`, tags and deletion under `/api/2.0/mlflow/traces…`. The client uploads each trace's spans
/// to the artifact location named in the trace's tags; the OTLP span endpoint (`/v1/traces`) answers that it is not
/// supported, which is the client's signal to do so.
struct MLflowTraceHandlers: Sendable {
    let traces: TraceService
    let experimentId: @Sendable (String, MLflowCall) async throws -> UUID

    /// The routes of MLflow's v3 prefix.
    func registerV3(on groups: MLflowRouteGroups) {
        groups.on(.post, "traces") { call in
            guard let trace = call.fields["trace"] as? [String: Any], let info = trace["trace_info"] as? [String: Any] else {
                throw MLflowCall.missing("trace.trace_info")
            }
            let started = try await traces.start(try await traceInfo(info, call), caller: call.caller)
            return try MLflowResponse.json(["trace": ["trace_info": MLTraceInfo(started)]])
        }
        groups.on(.get, "traces/:trace_id") { call in
            let trace = try await traces.trace(try call.pathParameter("trace_id"), caller: call.caller)
            return try MLflowResponse.json(["trace": ["trace_info": MLTraceInfo(trace)]])
        }
        groups.read(.post, "traces/search") { call in
            var experiments: [UUID] = []
            for location in try call.objects("locations") {
                guard let experiment = (location["mlflow_experiment"] as? [String: Any])?["experiment_id"] as? String else {
                    throw AppError.badRequest("Only MLFLOW_EXPERIMENT trace locations are supported")
                }
                experiments.append(try await experimentId(experiment, call))
            }
            for text in call.strings("experiment_ids") { experiments.append(try await experimentId(text, call)) }
            let offset = try OffsetPageToken.decode(call.string("page_token"))
            let page = try await traces.search(
                experimentIds: experiments, filter: call.string("filter"), orderBy: call.strings("order_by"),
                maxResults: try call.int("max_results", default: 100), offset: offset, caller: call.caller)
            return try MLflowResponse.json(
                MLTracePage(traces: page.traces.map(MLTraceInfo.init), next_page_token: page.nextOffset.map(OffsetPageToken.encode)))
        }
    }

    /// The routes of MLflow's v2 prefix.
    func register(on groups: MLflowRouteGroups) {
        groups.on(.patch, "traces/:trace_id/tags") { call in
            try await traces.changeTag(
                try call.requiredString("key"), to: call.string("value") ?? "", of: try call.pathParameter("trace_id"), caller: call.caller)
            return MLflowResponse.empty()
        }
        groups.on(.delete, "traces/:trace_id/tags") { call in
            try await traces.changeTag(try call.requiredString("key"), to: nil, of: try call.pathParameter("trace_id"), caller: call.caller)
            return MLflowResponse.empty()
        }
        groups.on(.post, "traces/delete-traces") { call in
            let deleted = try await traces.delete(
                in: try await experimentId(try call.requiredString("experiment_id"), call), ids: call.strings("request_ids"),
                olderThanMs: try call.int64("max_timestamp_millis"), maxTraces: try call.int64("max_traces").map { Int($0) },
                caller: call.caller)
            return try MLflowResponse.json(["traces_deleted": deleted])
        }
    }

    /// OTLP ingestion of single spans is not offered; the client then uploads whole traces as artifacts. The message
    /// is the one the client looks for to stop trying.
    static func otlpNotSupported() -> Response {
        let body = #"{"error_code":"NOT_IMPLEMENTED","message":"REST OTLP span logging is not supported by this server: traces are logged whole"}"#
        return Response(status: .notImplemented, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func traceInfo(_ info: [String: Any], _ call: MLflowCall) async throws -> TraceInfo {
        guard let id = info["trace_id"] as? String else { throw MLflowCall.missing("trace_info.trace_id") }
        guard let location = info["trace_location"] as? [String: Any],
            let experiment = (location["mlflow_experiment"] as? [String: Any])?["experiment_id"] as? String
        else {
            throw AppError.badRequest("trace_info.trace_location must name an MLflow experiment (mlflow_experiment.experiment_id)")
        }
        return TraceInfo(
            id: id, experimentId: try await experimentId(experiment, call), clientRequestId: info["client_request_id"] as? String,
            requestTimeMs: try Self.milliseconds(info["request_time"]), executionMs: try Self.durationMs(info["execution_duration"]),
            state: info["state"] as? String ?? "STATE_UNSPECIFIED",
            requestPreview: info["request_preview"] as? String, responsePreview: info["response_preview"] as? String,
            tags: try Self.stringMap(info["tags"], "tags"), metadata: try Self.stringMap(info["trace_metadata"], "trace_metadata"))
    }

    /// A protobuf Timestamp in JSON: RFC 3339 text, `2026-12-06T15:46:40.123Z`.
    static func milliseconds(_ value: Any?) throws(AppError) -> Int64 {
        guard let text = value as? String else { throw MLflowCall.missing("trace_info.request_time") }
        guard let date = MLTraceInfo.timestamps.date(from: text) ?? MLTraceInfo.wholeSeconds.date(from: text) else {
            throw MLflowCall.invalid("trace_info.request_time", text)
        }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// A protobuf Duration in JSON: seconds with an `s`, `1.500s`.
    static func durationMs(_ value: Any?) throws(AppError) -> Int64 {
        guard let text = value as? String else { return 0 }
        guard text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds.isFinite, seconds >= 0, seconds < 1e12 else {
            throw MLflowCall.invalid("trace_info.execution_duration", text)
        }
        return Int64((seconds * 1000).rounded())
    }

    static func stringMap(_ value: Any?, _ name: String) throws(AppError) -> [KeyValue] {
        switch value {
        case nil, is NSNull: return []
        case let object as [String: Any]:
            var pairs: [KeyValue] = []
            for key in object.keys.sorted() {
                guard let text = object[key] as? String else { throw MLflowCall.invalid("\(name).\(key)", "(not a string)") }
                pairs.append(KeyValue(key: key, value: text))
            }
            return pairs
        case let other?: throw MLflowCall.invalid(name, type(of: other))
        }
    }
}

/// MLflow's `TraceInfoV3` in protobuf JSON.
struct MLTraceInfo: Encodable {
    /// Protobuf Timestamps as the client writes them (`…T10:00:00.250Z`), and without the fraction, which JSON allows.
    /// Made once: a search page formats up to a thousand. (ISO8601DateFormatter is safe to share between threads.)
    nonisolated(unsafe) static let timestamps: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
    nonisolated(unsafe) static let wholeSeconds = ISO8601DateFormatter()

    struct Location: Encodable {
        var type = "MLFLOW_EXPERIMENT"
        var mlflow_experiment: [String: String]
    }

    var trace_id: String
    var client_request_id: String?
    var trace_location: Location
    var request_preview: String?
    var response_preview: String?
    var request_time: String
    var execution_duration: String
    var state: String
    var trace_metadata: [String: String]
    var tags: [String: String]

    init(_ trace: TraceInfo) {
        trace_id = trace.id
        client_request_id = trace.clientRequestId
        trace_location = Location(mlflow_experiment: ["experiment_id": trace.experimentId.lowercasedString])
        request_preview = trace.requestPreview
        response_preview = trace.responsePreview
        request_time = Self.timestamps.string(from: Date(timeIntervalSince1970: Double(trace.requestTimeMs) / 1000))
        execution_duration = String(format: "%.3fs", Double(trace.executionMs) / 1000)
        state = trace.state
        trace_metadata = Dictionary(trace.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        tags = Dictionary(trace.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

struct MLTracePage: Encodable {
    var traces: [MLTraceInfo]
    var next_page_token: String?
}
