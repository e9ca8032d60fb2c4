import AITIPCore
import Foundation
import HTTPServer
import NIOCore
import Tracking

/// MLflow's log-batch body — `{run_id, metrics: [{key, value, timestamp, step}], params: [{key, value}], tags: […]}`
/// with protobuf JSON's numbers (64-bit integers as numbers or strings, "NaN"/"Infinity" as strings) — read in one
/// pass. Foundation's JSONDecoder spent half of the server's CPU of a 1,000-metric call here (perf, bench/tracking.sh).
enum LogBatchParser {
    struct Body {
        var runId: String?
        var metrics: [MetricPoint] = []
        var params: [KeyValue] = []
        var tags: [KeyValue] = []
    }

    static func parse(_ buffer: ByteBuffer, now: Int64) throws(AppError) -> Body {
        do {
            return try buffer.withUnsafeReadableBytes { raw in
                var json = JSONScanner(bytes: raw.assumingMemoryBound(to: UInt8.self))
                var body = Body()
                var runUUID: String?
                try json.object { json, name in
                    switch name {
                    case "run_id": body.runId = json.skipNull() ? nil : try json.string(field: "run_id")
                    case "run_uuid": runUUID = json.skipNull() ? nil : try json.string(field: "run_uuid")
                    case "metrics": body.metrics = try list(&json, .metrics) { json, field in try metric(&json, field: field, now: now) }
                    case "params": body.params = try list(&json, .params, pair)
                    case "tags": body.tags = try list(&json, .tags, pair)
                    default: try json.skipValue()
                    }
                }
                try json.expectEnd()
                if body.runId == nil { body.runId = runUUID }
                return body
            }
        } catch let error as AppError {
            throw error
        } catch {
            throw AppError.badRequest("Invalid log-batch request: the body is not valid JSON")
        }
    }

    /// Stops at MLflow's limit for `part` instead of reading a whole oversized body first.
    private static func list<Element>(
        _ json: inout JSONScanner, _ part: Limits.BatchPart,
        _ element: (inout JSONScanner, String) throws -> Element
    ) throws -> [Element] {
        var items: [Element] = []
        if json.skipNull() { return items }
        let limit = Limits.maxPerBatch(part)
        try json.array { json in
            guard items.count < limit else { throw Limits.tooMany(part, got: "more than \(limit)") }
            items.append(try element(&json, "\(part.rawValue)[\(items.count)]"))
        }
        return items
    }

    private static func metric(_ json: inout JSONScanner, field: String, now: Int64) throws -> MetricPoint {
        var key: String?
        var value: Double?
        var timestamp: Int64?
        var step: Int64?
        try json.object { json, name in
            switch name {
            case "key": key = try json.string(field: "\(field).key")
            case "value":
                if json.peek() == UInt8(ascii: "\"") {
                    value = try MLflowCall.metricValue(text: try json.string(field: "\(field).value"), field: "\(field).value")
                } else {
                    value = try json.double(field: "\(field).value")
                }
            case "timestamp": timestamp = json.skipNull() ? nil : try json.protobufInteger(field: "\(field).timestamp")
            case "step": step = json.skipNull() ? nil : try json.protobufInteger(field: "\(field).step")
            default: try json.skipValue()
            }
        }
        guard let key else { throw json.invalid("\(field).key", "is required") }
        guard let value else { throw json.invalid("\(field).value", "is required") }
        return MetricPoint(key: key, value: value, timestampMs: timestamp ?? now, step: step ?? 0)
    }

    private static func pair(_ json: inout JSONScanner, field: String) throws -> KeyValue {
        var key: String?
        var value = ""
        try json.object { json, name in
            switch name {
            case "key": key = try json.string(field: "\(field).key")
            case "value": value = json.skipNull() ? "" : try json.string(field: "\(field).value")
            default: try json.skipValue()
            }
        }
        guard let key else { throw json.invalid("\(field).key", "is required") }
        return KeyValue(key: key, value: value)
    }
}
