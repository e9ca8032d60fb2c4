import AITIPCore

/// RFC 4180 csv split into records, fed in chunks of any size: quoted fields may hold commas, quotes ("") and
/// newlines; CRLF and LF both end a record; blank lines are skipped. One tokenizer serves the profiler and every
/// reader of a dataset's tables (an evaluation's labels).
package struct CSVRecords: Sendable {
    /// A longer field is cut to this many bytes (a profile or a label needs no more).
    package static let maxField = 1 << 20
    private var record: [[UInt8]] = []
    private var field: [UInt8] = []
    private var quoted = false
    private var inQuotes = false
    private var quoteSeen = false
    private var atFieldStart = true
    private var line: Int64 = 1
    private var stopped = false

    package init() {}

    /// Feeds bytes; `take` gets each whole record and the line it ended on, and returns false to stop reading.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer, take: (_ record: [[UInt8]], _ line: Int64) -> Bool) {
        guard !stopped else { return }
        for byte in bytes {
            if inQuotes {
                if quoteSeen {
                    quoteSeen = false
                    if byte == UInt8(ascii: "\"") { append(byte); continue }
                    inQuotes = false // the quote closed the field; the byte after it is read as usual
                    if byte == UInt8(ascii: "\r") { continue }
                } else if byte == UInt8(ascii: "\"") {
                    quoteSeen = true
                    continue
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    append(byte)
                    continue
                }
            }
            switch byte {
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\n"):
                endField()
                let complete = endRecord(take)
                line += 1
                if !complete { stopped = true; return }
            case UInt8(ascii: "\""):
                if atFieldStart {
                    inQuotes = true
                    quoted = true
                    atFieldStart = false
                } else {
                    append(byte)
                }
            default:
                append(byte)
            }
        }
    }

    /// Ends the input: the last record may lack its newline; a quoted field still open is an error.
    package mutating func finish(take: (_ record: [[UInt8]], _ line: Int64) -> Bool) throws(AppError) {
        guard !stopped else { return }
        if inQuotes && !quoteSeen {
            throw AppError.badRequest("line \(line): a quoted field is not closed before the end of the file")
        }
        if !atFieldStart || !record.isEmpty || quoted {
            inQuotes = false
            endField()
            _ = endRecord(take)
        }
    }

    /// A header record's names; an empty one is called `column_<n>`.
    package static func columnNames(_ record: [[UInt8]]) -> [String] {
        record.enumerated().map { $0.element.isEmpty ? "column_\($0.offset + 1)" : String(decoding: $0.element, as: UTF8.self) }
    }

    private mutating func append(_ byte: UInt8) {
        atFieldStart = false
        if field.count < Self.maxField { field.append(byte) }
    }

    private mutating func endField() {
        if !quoted, field.last == UInt8(ascii: "\r") { field.removeLast() }
        record.append(field)
        field.removeAll(keepingCapacity: true)
        quoted = false
        atFieldStart = true
    }

    private mutating func endRecord(_ take: ([[UInt8]], Int64) -> Bool) -> Bool {
        defer { record.removeAll(keepingCapacity: true) }
        if record.count == 1, record[0].isEmpty { return true } // blank line
        return take(record, line)
    }
}

/// A whole csv file as columns of text, for readers that need every row (an evaluation's labels and slices).
package struct CSVTable: Sendable {
    package var columns: [String]
    package var rows: [[String]]

    /// Parses `bytes`; a record with another field count than the header, or more than `maxRows` rows, is an error
    /// that names its line.
    package init(parsing bytes: [UInt8], maxRows: Int) throws(AppError) {
        var records = CSVRecords()
        var header: [String]?
        var rows: [[String]] = []
        var failure: AppError?
        let take: ([[UInt8]], Int64) -> Bool = { record, line in
            guard let names = header else {
                header = CSVRecords.columnNames(record)
                return true
            }
            guard record.count == names.count else {
                failure = AppError.badRequest("line \(line): \(record.count) fields where the header has \(names.count)")
                return false
            }
            guard rows.count < maxRows else {
                failure = AppError.badRequest("more than \(maxRows) rows")
                return false
            }
            rows.append(record.map { String(decoding: $0, as: UTF8.self) })
            return true
        }
        bytes.withUnsafeBytes { records.feed($0, take: take) }
        if let failure { throw failure }
        try records.finish(take: take)
        if let failure { throw failure }
        guard let header else { throw AppError.badRequest("the file is empty: a csv table starts with a header row") }
        columns = header
        self.rows = rows
    }

    package func column(_ name: String) -> [String]? {
        columns.firstIndex(of: name).map { index in rows.map { $0[index] } }
    }
}
