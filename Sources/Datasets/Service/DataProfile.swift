import AITIPCore
import Foundation

/// Schema and column statistics of a csv or jsonl file, computed in one streaming pass (`feed` chunk by chunk),
/// so a file of any size is profiled in constant memory. Malformed input stops profiling at the first bad
/// record and says where in `error`; the file itself is still stored.
package struct DataProfile: Sendable, Codable, Equatable {
    package var format: String
    package var rows: Int64
    package var columns: [Column]
    package var error: String?

    package struct Column: Sendable, Codable, Equatable {
        package var name: String
        /// integer, number, boolean, string, object, array, or null when every value was empty.
        package var type: String
        /// Non-empty values.
        package var count: Int64
        package var nulls: Int64
        package var min: Double?
        package var max: Double?
        package var mean: Double?
    }

    /// The profile of a whole version: columns merged by name across files (types widened, counts summed).
    package static func merge(_ profiles: [DataProfile]) -> DataProfile? {
        guard var result = profiles.first else { return nil }
        for profile in profiles.dropFirst() {
            let earlierRows = result.rows
            result.rows += profile.rows
            if result.format != profile.format { result.format = "mixed" }
            if result.error == nil { result.error = profile.error }
            // A column a file does not have is null in every row of that file.
            let present = Set(profile.columns.map(\.name))
            for index in result.columns.indices where !present.contains(result.columns[index].name) {
                result.columns[index].nulls += profile.rows
            }
            for column in profile.columns {
                guard let index = result.columns.firstIndex(where: { $0.name == column.name }) else {
                    var added = column
                    added.nulls += earlierRows
                    result.columns.append(added)
                    continue
                }
                var merged = result.columns[index]
                let total = merged.count + column.count
                if let left = merged.mean, let right = column.mean, total > 0 {
                    merged.mean = (left * Double(merged.count) + right * Double(column.count)) / Double(total)
                } else {
                    merged.mean = merged.mean ?? column.mean
                }
                merged.type = ColumnType.widen(merged.type, column.type)
                merged.count = total
                merged.nulls += column.nulls
                merged.min = [merged.min, column.min].compactMap { $0 }.min()
                merged.max = [merged.max, column.max].compactMap { $0 }.max()
                result.columns[index] = merged
            }
        }
        return result
    }
}

enum ColumnType {
    static func widen(_ left: String, _ right: String) -> String {
        if left == right || right == "null" { return left }
        if left == "null" { return right }
        if Set([left, right]) == ["integer", "number"] { return "number" }
        return "string"
    }
}

/// Accumulates one column's type and statistics.
struct ColumnStats {
    var name: String
    var type = "null"
    var count: Int64 = 0
    var nulls: Int64 = 0
    var min: Double?
    var max: Double?
    var sum = 0.0
    var numeric: Int64 = 0

    mutating func observe(type observed: String, number: Double?) {
        guard observed != "null" else { nulls += 1; return }
        count += 1
        type = ColumnType.widen(type, observed)
        if let number, number.isFinite {
            numeric += 1
            sum += number
            min = Swift.min(min ?? number, number)
            max = Swift.max(max ?? number, number)
        }
    }

    var column: DataProfile.Column {
        let isNumeric = type == "integer" || type == "number"
        return .init(
            name: name, type: type, count: count, nulls: nulls, min: isNumeric ? min : nil, max: isNumeric ? max : nil,
            mean: isNumeric && numeric > 0 ? sum / Double(numeric) : nil)
    }
}

/// Which profiler a file gets, by its name.
package enum DataProfiler {
    package static func forPath(_ path: String?) -> (any StreamingProfiler)? {
        switch path?.split(separator: ".").last?.lowercased() {
        case "csv": CSVProfiler()
        case "jsonl", "ndjson": JSONLinesProfiler()
        default: nil
        }
    }
}

package protocol StreamingProfiler: Sendable {
    mutating func feed(_ bytes: UnsafeRawBufferPointer)
    mutating func finish() -> DataProfile
}

/// RFC 4180 csv: the first record names the columns; quoted fields may hold commas, quotes ("") and newlines.
package struct CSVProfiler: StreamingProfiler {
    static let maxColumns = 1_000
    private var records = CSVRecords()
    private var columns: [ColumnStats] = []
    private var header: [String]?
    private var rows: Int64 = 0
    private var error: String?

    package init() {}

    package mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard error == nil else { return }
        // The tokenizer is taken out while it feeds `take`, which changes this profiler.
        var tokenizer = records
        tokenizer.feed(bytes) { record, line in self.take(record, line: line) }
        records = tokenizer
    }

    package mutating func finish() -> DataProfile {
        if error == nil {
            var tokenizer = records
            do { try tokenizer.finish { record, line in self.take(record, line: line) } } catch { self.error = error.detail }
        }
        return DataProfile(format: "csv", rows: rows, columns: columns.map(\.column), error: error)
    }

    /// Takes one record; false stops the tokenizer at the first bad one.
    private mutating func take(_ record: [[UInt8]], line: Int64) -> Bool {
        guard let header else {
            guard record.count <= Self.maxColumns else {
                error = "line \(line): more than \(Self.maxColumns) columns"
                return false
            }
            let names = CSVRecords.columnNames(record)
            self.header = names
            columns = names.map { ColumnStats(name: $0) }
            return true
        }
        guard record.count == header.count else {
            error = "line \(line): \(record.count) fields where the header has \(header.count)"
            return false
        }
        rows += 1
        for (index, value) in record.enumerated() {
            let (type, number) = Self.classify(value)
            columns[index].observe(type: type, number: number)
        }
        return true
    }

    static func classify(_ value: [UInt8]) -> (String, Double?) {
        if value.isEmpty { return ("null", nil) }
        var digits = 0
        var isInteger = true
        for (index, byte) in value.enumerated() {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { digits += 1; continue }
            if index == 0 && (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")) { continue }
            isInteger = false
            break
        }
        let text = String(decoding: value, as: UTF8.self)
        if isInteger && digits > 0 { return ("integer", Double(text)) }
        if value.count <= 5, ["true", "false"].contains(text.lowercased()) { return ("boolean", nil) }
        if let number = Double(text), number.isFinite { return ("number", number) }
        return ("string", nil)
    }
}

/// One JSON object per line; columns are the keys, in the order first seen.
package struct JSONLinesProfiler: StreamingProfiler {
    static let maxLine = 16 << 20
    static let maxColumns = 1_000
    private var columns: [ColumnStats] = []
    private var index: [String: Int] = [:]
    private var rows: Int64 = 0
    private var pending: [UInt8] = []
    private var line: Int64 = 0
    private var error: String?

    package init() {}

    package mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard error == nil else { return }
        var start = bytes.startIndex
        while error == nil, let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            pending.append(contentsOf: bytes[start..<newline])
            consumeLine()
            start = newline + 1
        }
        if error == nil {
            pending.append(contentsOf: bytes[start...])
            if pending.count > Self.maxLine { error = "line \(line + 1) is longer than \(Self.maxLine >> 20) MiB" }
        }
    }

    package mutating func finish() -> DataProfile {
        if error == nil, !pending.isEmpty { consumeLine() }
        let rowCount = rows
        return DataProfile(
            format: "jsonl", rows: rowCount,
            columns: columns.map {
                var column = $0.column
                column.nulls = rowCount - column.count // a key missing from a row counts as null
                return column
            }, error: error)
    }

    private mutating func consumeLine() {
        line += 1
        defer { pending.removeAll(keepingCapacity: true) }
        let text = pending.last == UInt8(ascii: "\r") ? pending.dropLast() : pending[...]
        guard text.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return }
        guard case .object(let object) = try? JSONDecoder().decode(JSONValue.self, from: Data(text)) else {
            error = "line \(line): not a JSON object"
            return
        }
        rows += 1
        for key in object.keys.sorted() {
            let slot: Int
            if let known = index[key] {
                slot = known
            } else {
                guard columns.count < Self.maxColumns else { error = "line \(line): more than \(Self.maxColumns) keys"; return }
                slot = columns.count
                index[key] = slot
                columns.append(ColumnStats(name: key))
            }
            switch object[key]! {
            case .null: columns[slot].observe(type: "null", number: nil)
            case .bool: columns[slot].observe(type: "boolean", number: nil)
            case .number(let value):
                let integral = value.rounded() == value && abs(value) < 9.0e15
                columns[slot].observe(type: integral ? "integer" : "number", number: value)
            case .string: columns[slot].observe(type: "string", number: nil)
            case .array: columns[slot].observe(type: "array", number: nil)
            case .object: columns[slot].observe(type: "object", number: nil)
            }
        }
    }
}
