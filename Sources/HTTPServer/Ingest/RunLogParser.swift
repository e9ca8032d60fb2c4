import AITIPCore
import Foundation
import Tracking

/// Parses the body of `POST /api/v1/runs/{id}/log` (schema `RunLog` in openapi.yaml) straight from bytes.
/// The generated Codable decoder spent about 70% of an ingest request boxing each number through generic
/// containers (measured with perf on bench/ingest.py); this reads the same JSON in one pass. It accepts exactly the
/// documented shape and answers anything else with the field at fault.
enum RunLogParser {
    struct Body {
        var metrics: [MetricPoint] = []
        var params: [KeyValue] = []
        var tags: [KeyValue] = []
    }

    static func parse(_ data: [UInt8], now: Int64) throws(AppError) -> Body {
        do {
            return try data.withUnsafeBufferPointer { buffer in
                var json = JSONScanner(bytes: buffer)
                var result = Body()
                try json.object { json, key in
                    switch key {
                    case "metrics":
                        var position = 0
                        try json.array { json in
                            try column(&json, index: position, now: now, into: &result.metrics)
                            position += 1
                        }
                    case "params": result.params = try json.stringMap(field: "params")
                    case "tags": result.tags = try json.stringMap(field: "tags")
                    default: try json.skipValue()
                    }
                }
                try json.expectEnd()
                return result
            }
        } catch let error as AppError {
            throw error
        } catch {
            throw AppError.badRequest("The request body is not valid JSON")
        }
    }

    /// One `{"key", "steps", "values", "timestamps"}` entry, appended as points.
    private static func column(_ json: inout JSONScanner, index position: Int, now: Int64, into points: inout [MetricPoint]) throws {
        let field = "metrics[\(position)]"
        var key: String?
        var steps: [Int64] = []
        var values: [Double] = []
        var timestamps: [Int64]?
        try json.object { parser, name in
            switch name {
            case "key": key = try parser.string(field: "\(field).key")
            case "steps": try numbers(&parser, into: &steps) { try $0.integer(field: "\(field).steps") }
            case "values": try numbers(&parser, into: &values) { try $0.double(field: "\(field).values") }
            case "timestamps":
                var list: [Int64] = []
                try numbers(&parser, into: &list) { try $0.integer(field: "\(field).timestamps") }
                timestamps = list
            default: try parser.skipValue()
            }
        }
        guard let key else { throw AppError.validation([FieldError(field: "\(field).key", message: "is required")]) }
        guard steps.count == values.count, timestamps.map({ $0.count == values.count }) ?? true else {
            throw AppError.validation([FieldError(field: field, message: "steps, values and timestamps must have the same length")])
        }
        guard points.count + values.count <= Limits.maxBulkPoints else { throw tooMany }
        points.reserveCapacity(points.count + values.count)
        for position in values.indices {
            points.append(MetricPoint(key: key, value: values[position], timestampMs: timestamps?[position] ?? now, step: steps[position]))
        }
    }

    private static var tooMany: AppError { Limits.tooManyBulkPoints(got: "more than \(Limits.maxBulkPoints)") }

    /// An array of numbers, refused as soon as it holds more than a request may.
    private static func numbers<Number>(_ json: inout JSONScanner, into list: inout [Number], _ read: (inout JSONScanner) throws -> Number) throws {
        try json.array { json in
            guard list.count < Limits.maxBulkPoints else { throw tooMany }
            list.append(try read(&json))
        }
    }
}
