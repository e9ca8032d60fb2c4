#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import AITIPCore
import Foundation
import Tracking

/// Parses the body of `POST /api/v1/runs/{id}/log` (schema `RunLog` in openapi.yaml) straight from bytes.
/// The generated Codable decoder spent about 70% of an ingest request boxing each number through generic
/// containers (measured with perf on bench/ingest.py); this reads the same JSON in one pass. It accepts exactly the
/// documented shape and answers anything else with the field at fault.
struct RunLogParser {
    struct Body {
        var metrics: [MetricPoint] = []
        var params: [KeyValue] = []
        var tags: [KeyValue] = []
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private let now: Int64

    static func parse(_ data: [UInt8], now: Int64) throws(AppError) -> Body {
        do {
            return try data.withUnsafeBufferPointer { buffer in
                var parser = RunLogParser(bytes: buffer, now: now)
                return try parser.body()
            }
        } catch let error as AppError {
            throw error
        } catch {
            throw AppError.badRequest("The request body is not valid JSON")
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, now: Int64) {
        self.bytes = bytes
        self.now = now
    }

    private mutating func body() throws -> Body {
        var result = Body()
        try object { parser, key in
            switch key {
            case "metrics":
                var position = 0
                try parser.array { parser in
                    try parser.column(index: position, into: &result.metrics)
                    position += 1
                }
            case "params": result.params = try parser.stringMap(field: "params")
            case "tags": result.tags = try parser.stringMap(field: "tags")
            default: try parser.skipValue()
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw invalid("", "unexpected text after the JSON object") }
        return result
    }

    /// One `{"key", "steps", "values", "timestamps"}` entry, appended as points.
    private mutating func column(index position: Int, into points: inout [MetricPoint]) throws {
        let field = "metrics[\(position)]"
        var key: String?
        var steps: [Int64] = []
        var values: [Double] = []
        var timestamps: [Int64]?
        try object { parser, name in
            switch name {
            case "key": key = try parser.string(field: "\(field).key")
            case "steps": try parser.array { parser in steps.append(try parser.integer(field: "\(field).steps")) }
            case "values": try parser.array { parser in values.append(try parser.double(field: "\(field).values")) }
            case "timestamps":
                var list: [Int64] = []
                try parser.array { parser in list.append(try parser.integer(field: "\(field).timestamps")) }
                timestamps = list
            default: try parser.skipValue()
            }
        }
        guard let key else { throw AppError.validation([FieldError(field: "\(field).key", message: "is required")]) }
        guard steps.count == values.count, timestamps.map({ $0.count == values.count }) ?? true else {
            throw AppError.validation([FieldError(field: field, message: "steps, values and timestamps must have the same length")])
        }
        points.reserveCapacity(points.count + values.count)
        for position in values.indices {
            points.append(MetricPoint(key: key, value: values[position], timestampMs: timestamps?[position] ?? now, step: steps[position]))
        }
    }

    // MARK: JSON pieces

    private func invalid(_ field: String, _ message: String) -> AppError {
        field.isEmpty ? AppError.badRequest("Invalid JSON: \(message)")
            : AppError.validation([FieldError(field: field, message: message)])
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else {
            throw invalid("", "expected '\(Character(Unicode.Scalar(byte)))' at byte \(index)")
        }
        index += 1
    }

    private mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    private mutating func object(_ member: (inout RunLogParser, String) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") { index += 1; return }
        while true {
            let key = try string(field: "")
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
            guard let next = peek() else { throw invalid("", "unterminated object") }
            index += 1
            if next == UInt8(ascii: "}") { return }
            guard next == UInt8(ascii: ",") else { throw invalid("", "expected ',' or '}' at byte \(index - 1)") }
        }
    }

    private mutating func array(_ element: (inout RunLogParser) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") { index += 1; return }
        while true {
            try element(&self)
            guard let next = peek() else { throw invalid("", "unterminated array") }
            index += 1
            if next == UInt8(ascii: "]") { return }
            guard next == UInt8(ascii: ",") else { throw invalid("", "expected ',' or ']' at byte \(index - 1)") }
        }
    }

    private mutating func stringMap(field: String) throws -> [KeyValue] {
        var pairs: [KeyValue] = []
        try object { parser, key in pairs.append(KeyValue(key: key, value: try parser.string(field: "\(field).\(key)"))) }
        return pairs
    }

    private mutating func string(field: String) throws -> String {
        guard peek() == UInt8(ascii: "\"") else { throw invalid(field, "must be a string") }
        index += 1
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
        guard index < bytes.count else { throw invalid(field, "unterminated string") }
        if bytes[index] == UInt8(ascii: "\"") {
            defer { index += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }
        // Escapes: let Foundation decode this one string (rare in keys and values).
        index = start - 1
        let end = try endOfString()
        let literal = Data(UnsafeBufferPointer(rebasing: bytes[(start - 1)..<end]))
        guard let text = try? JSONDecoder().decode(String.self, from: literal) else { throw invalid(field, "has an invalid escape") }
        return text
    }

    /// The index just past the closing quote of the string starting at `index`.
    private mutating func endOfString() throws -> Int {
        index += 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): index += 1; return index
            default: index += 1
            }
        }
        throw invalid("", "unterminated string")
    }

    private mutating func integer(field: String) throws -> Int64 {
        skipWhitespace()
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        let start = index
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw invalid(field, "holds a number too large for 64 bits") }
            value = sum
            index += 1
        }
        guard index > start, index >= bytes.count || ![UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) else {
            throw invalid(field, "must hold whole numbers")
        }
        return negative ? -value : value
    }

    private mutating func double(field: String) throws -> Double {
        skipWhitespace()
        let start = index
        while index < bytes.count, (bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9"))
            || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            index += 1
        }
        let length = index - start
        guard length > 0, length < 64 else { throw invalid(field, "must hold numbers (NaN and infinities go through the MLflow API)") }
        // strtod needs a terminated string: copy the few bytes of the literal onto the stack.
        return try withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { text in
            for offset in 0..<length { text[offset] = CChar(bitPattern: bytes[start + offset]) }
            text[length] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(text.baseAddress!, &end)
            guard end == text.baseAddress! + length, value.isFinite else { throw invalid(field, "holds '\(String(cString: text.baseAddress!))', not a finite number") }
            return value
        }
    }

    private mutating func skipValue() throws {
        switch peek() {
        case UInt8(ascii: "{")?: try object { parser, _ in try parser.skipValue() }
        case UInt8(ascii: "[")?: try array { parser in try parser.skipValue() }
        case UInt8(ascii: "\"")?: _ = try endOfString()
        case nil: throw invalid("", "unexpected end")
        default:
            while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[index]),
                  ![0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) {
                index += 1
            }
        }
    }
}
