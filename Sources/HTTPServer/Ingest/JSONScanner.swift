import AITIPCore
import Foundation
import Tracking

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Reads JSON straight from bytes, one value at a time, for the bodies that carry thousands of numbers (bulk ingest,
/// MLflow's log-batch): the generic Codable decoders box every number through containers, which was most of those
/// requests' CPU (perf, bench/ingest.py and bench/tracking.sh). Errors name the field at fault.
///
/// Objects and arrays nest at most `maxDepth` deep: the scanner recurses once per level, and these bodies are read
/// before the caller's permission is checked, so an unbounded `[[[[…` would exhaust the stack and end the process.
package struct JSONScanner {
    /// Deeper than any body this server accepts needs (MLflow's and the bulk ingest's are three levels).
    package static let maxDepth = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    package private(set) var index = 0
    private var depth = 0

    package init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Fails unless only whitespace is left.
    package mutating func expectEnd() throws {
        skipWhitespace()
        guard index == bytes.count else { throw invalid("", "unexpected text after the JSON object") }
    }

    /// Consumes a `null` literal if one is next.
    package mutating func skipNull() -> Bool {
        guard peek() == UInt8(ascii: "n"), index + 4 <= bytes.count,
            bytes[index + 1] == UInt8(ascii: "u"), bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
        else { return false }
        index += 4
        return true
    }

    /// A protobuf JSON 64-bit integer: a number or a decimal string.
    package mutating func protobufInteger(field: String) throws -> Int64 {
        guard peek() == UInt8(ascii: "\"") else { return try integer(field: field) }
        let text = try string(field: field)
        guard let value = Int64(text) else { throw invalid(field, "must be a whole number") }
        return value
    }

    package func invalid(_ field: String, _ message: String) -> AppError {
        field.isEmpty
            ? AppError.badRequest("Invalid JSON: \(message)")
            : AppError.validation([FieldError(field: field, message: message)])
    }

    package mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    package mutating func expect(_ byte: UInt8) throws {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else {
            throw invalid("", "expected '\(Character(Unicode.Scalar(byte)))' at byte \(index)")
        }
        index += 1
    }

    package mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    package mutating func object(_ member: (inout JSONScanner, String) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        try enter()
        defer { depth -= 1 }
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

    package mutating func array(_ element: (inout JSONScanner) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        try enter()
        defer { depth -= 1 }
        if peek() == UInt8(ascii: "]") { index += 1; return }
        while true {
            try element(&self)
            guard let next = peek() else { throw invalid("", "unterminated array") }
            index += 1
            if next == UInt8(ascii: "]") { return }
            guard next == UInt8(ascii: ",") else { throw invalid("", "expected ',' or ']' at byte \(index - 1)") }
        }
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw invalid("", "objects and arrays nest more than \(Self.maxDepth) levels deep") }
    }

    package mutating func stringMap(field: String) throws -> [KeyValue] {
        var pairs: [KeyValue] = []
        try object { parser, key in pairs.append(KeyValue(key: key, value: try parser.string(field: "\(field).\(key)"))) }
        return pairs
    }

    package mutating func string(field: String) throws -> String {
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
    package mutating func endOfString() throws -> Int {
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

    package mutating func integer(field: String) throws -> Int64 {
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

    package mutating func double(field: String) throws -> Double {
        skipWhitespace()
        let start = index
        while index < bytes.count,
            (bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9"))
                || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index])
        {
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
            guard end == text.baseAddress! + length, value.isFinite else {
                throw invalid(field, "holds '\(String(cString: text.baseAddress!))', not a finite number")
            }
            return value
        }
    }

    package mutating func skipValue() throws {
        switch peek() {
        case UInt8(ascii: "{")?: try object { parser, _ in try parser.skipValue() }
        case UInt8(ascii: "[")?: try array { parser in try parser.skipValue() }
        case UInt8(ascii: "\"")?: _ = try endOfString()
        case nil: throw invalid("", "unexpected end")
        default:
            while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[index]),
                ![0x20, 0x0A, 0x0D, 0x09].contains(bytes[index])
            {
                index += 1
            }
        }
    }
}
