import AITIPCore
import Foundation

/// An MLflow 3 trace: one request through an application (a model call, an agent step), as the client's
/// `@mlflow.trace` and `mlflow.start_span` record it. The server keeps the trace's summary, tags and metadata, which
/// searches compare; its spans are a JSON file (`traces.json`) in the artifact store under the trace's
/// `mlflow.artifactLocation`, written by the client and read back for the span tree.
package struct TraceInfo: Sendable, Equatable {
    package static let states: Set<String> = ["STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS"]
    /// The tag naming where the client puts the spans; the server sets it and clients may not change it.
    package static let artifactLocationTag = "mlflow.artifactLocation"

    package var id: String
    package var experimentId: UUID
    package var clientRequestId: String?
    package var requestTimeMs: Int64
    package var executionMs: Int64
    package var state: String
    package var requestPreview: String?
    package var responsePreview: String?
    package var tags: [KeyValue]
    package var metadata: [KeyValue]

    package init(
        id: String, experimentId: UUID, clientRequestId: String? = nil, requestTimeMs: Int64, executionMs: Int64, state: String,
        requestPreview: String? = nil, responsePreview: String? = nil, tags: [KeyValue] = [], metadata: [KeyValue] = []
    ) {
        self.id = id
        self.experimentId = experimentId
        self.clientRequestId = clientRequestId
        self.requestTimeMs = requestTimeMs
        self.executionMs = executionMs
        self.state = state
        self.requestPreview = requestPreview
        self.responsePreview = responsePreview
        self.tags = tags
        self.metadata = metadata
    }

    /// The trace's name as the client records it (the root span's name).
    package var name: String? { tags.first { $0.key == "mlflow.traceName" }?.value }
    /// The run the trace was recorded in, if any.
    package var sourceRun: String? { metadata.first { $0.key == "mlflow.sourceRun" }?.value }
}

/// One span of a trace, read from the trace's `traces.json`. Attribute values are kept as the client wrote them (JSON
/// text: `mlflow.spanInputs` is `{"x": 1}`, `mlflow.spanType` is `"LLM"`).
package struct TraceSpan: Sendable, Equatable {
    package var spanId: String
    package var parentSpanId: String?
    package var name: String
    package var startNs: Int64
    package var endNs: Int64?
    package var statusCode: String
    package var statusMessage: String
    package var attributes: [KeyValue]
    package var events: [Event]

    package struct Event: Sendable, Equatable {
        package var name: String
        package var timeNs: Int64
        package var attributes: [KeyValue]
    }
}

/// A row of `traces`.
struct TraceRow: Codable, Sendable {
    var id: String
    var experimentId: UUID
    var clientRequestId: String?
    var requestTimeMs: Int64
    var executionMs: Int64
    var state: String
    var requestPreview: String?
    var responsePreview: String?

    enum CodingKeys: String, CodingKey {
        case id, state
        case experimentId = "experiment_id"
        case clientRequestId = "client_request_id"
        case requestTimeMs = "request_time_ms"
        case executionMs = "execution_ms"
        case requestPreview = "request_preview"
        case responsePreview = "response_preview"
    }

    init(_ info: TraceInfo) {
        id = info.id
        experimentId = info.experimentId
        clientRequestId = info.clientRequestId
        requestTimeMs = info.requestTimeMs
        executionMs = info.executionMs
        state = info.state
        requestPreview = info.requestPreview
        responsePreview = info.responsePreview
    }

    func info(tags: [KeyValue], metadata: [KeyValue]) -> TraceInfo {
        TraceInfo(
            id: id, experimentId: experimentId, clientRequestId: clientRequestId, requestTimeMs: requestTimeMs, executionMs: executionMs,
            state: state, requestPreview: requestPreview, responsePreview: responsePreview, tags: tags, metadata: metadata)
    }
}
