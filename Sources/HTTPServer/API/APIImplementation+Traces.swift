import AITIPAPI
import AITIPCore
import Foundation
import Tracking

/// MLflow 3 traces for the console: summaries searched with MLflow's trace grammar, and one trace's span tree.
extension APIImplementation {
    var traces: TraceService { dependencies.artifacts.traces }

    func listTraces(_ input: Operations.ListTraces.Input) async throws -> Operations.ListTraces.Output {
        let page = try await traces.search(
            experimentIds: [try Parse.id(input.path.experimentId, "experiment_id")], filter: input.query.filter, orderBy: [],
            maxResults: try PageRequest.limit(input.query.limit), offset: try Cursor.parse(input.query.cursor)?.int(0) ?? 0, caller: caller)
        return .ok(
            .init(
                body: .json(.init(items: page.traces.map(Components.Schemas.Trace.init), nextCursor: page.nextOffset.map { Cursor(offset: $0).text }))
            ))
    }

    func getTrace(_ input: Operations.GetTrace.Input) async throws -> Operations.GetTrace.Output {
        let (trace, spans) = try await traces.spans(input.path.traceId, caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        value1: .init(trace),
                        value2: .init(spansAvailable: spans != nil, spans: (spans ?? []).map(Components.Schemas.TraceSpan.init))))))
    }
}

extension Components.Schemas.Trace {
    init(_ trace: TraceInfo) {
        self.init(
            traceId: trace.id, experimentId: trace.experimentId.lowercasedString, name: trace.name,
            state: .init(rawValue: trace.state) ?? .stateUnspecified,
            requestTime: trace.requestTimeMs, executionMs: trace.executionMs, requestPreview: trace.requestPreview,
            responsePreview: trace.responsePreview, runId: trace.sourceRun, clientRequestId: trace.clientRequestId,
            tags: APIImplementation.map(trace.tags), metadata: APIImplementation.map(trace.metadata))
    }
}

extension Components.Schemas.TraceSpan {
    init(_ span: TraceSpan) {
        self.init(
            spanId: span.spanId, parentSpanId: span.parentSpanId, name: span.name, startNs: span.startNs, endNs: span.endNs,
            statusCode: span.statusCode, statusMessage: span.statusMessage, attributes: APIImplementation.map(span.attributes),
            events: span.events.map { .init(name: $0.name, timeNs: $0.timeNs, attributes: APIImplementation.map($0.attributes)) })
    }
}
