import Foundation
import NIOCore
import SQLKit
import SQLiteKit
import VaporCSQLite

/// A SQLite connection driven through the C API on the calling thread, with its statements prepared once and kept.
///
/// Not thread-safe: `SharedSQLiteConnection` owns it and uses it only under its lock (hence `@unchecked Sendable`).
/// Opened with foreign keys on, WAL, `synchronous = NORMAL` (durable across a process crash; synced at checkpoints), a
/// bounded busy wait, and case-sensitive LIKE (as on PostgreSQL; ILIKE exists for the other).
final class RawSQLiteConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// Prepared statements by their SQL. The write paths use a few dozen shapes; past the bound the cache starts over.
    private var statements: [String: OpaquePointer] = [:]
    private static let statementLimit = 256

    init(path: String, busyTimeoutMilliseconds: Int) throws {
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE
        let opened = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard opened == SQLITE_OK else {
            let failure = SQLiteFailure(code: opened, message: handle.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "cannot open")
            sqlite_nio_sqlite3_close(handle)
            handle = nil
            throw failure
        }
        do {
            for pragma in [
                "PRAGMA busy_timeout = \(busyTimeoutMilliseconds)", "PRAGMA foreign_keys = ON", "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL", "PRAGMA case_sensitive_like = ON",
            ] {
                try execute(pragma, [], onRow: { _ in })
            }
        } catch {
            close()
            throw error
        }
    }

    /// False once the connection is back in autocommit mode, for instance after an error that ended the transaction.
    var inTransaction: Bool { handle.map { sqlite_nio_sqlite3_get_autocommit($0) == 0 } ?? false }

    func execute(_ sql: String, _ binds: [SQLiteData], onRow: (any SQLRow) -> Void) throws {
        let statement = try prepared(sql)
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        for (offset, value) in binds.enumerated() {
            try check(bind(value, at: Int32(offset + 1), of: statement))
        }
        var columns: ColumnNames?
        while true {
            let stepped = sqlite_nio_sqlite3_step(statement)
            if stepped == SQLITE_DONE { return }
            guard stepped == SQLITE_ROW else { throw failure(stepped) }
            // Names are read after the first step: a statement re-prepared for another connection's schema change
            // reports the new ones only then.
            let names = columns ?? ColumnNames(statement)
            columns = names
            onRow(ValuesRow(columns: names, values: (0..<Int32(names.names.count)).map { value(at: $0, of: statement) }))
        }
    }

    func close() {
        forgetStatements()
        sqlite_nio_sqlite3_close(handle)
        handle = nil
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        guard handle != nil else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the connection is closed") }
        if statements.count >= Self.statementLimit { forgetStatements() }
        var statement: OpaquePointer?
        let result = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw failure(result) }
        statements[sql] = statement
        return statement
    }

    private func forgetStatements() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        statements = [:]
    }

    private func bind(_ value: SQLiteData, at index: Int32, of statement: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let number): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(number))
        case .float(let number): sqlite_nio_sqlite3_bind_double(statement, index, number)
        case .text(let text): sqlite_nio_sqlite3_bind_text64(statement, index, text, UInt64(text.utf8.count), transient, UInt8(SQLITE_UTF8))
        case .null: sqlite_nio_sqlite3_bind_null(statement, index)
        case .blob(let bytes):
            bytes.withUnsafeReadableBytes { sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient) }
        }
    }

    private func value(at column: Int32, of statement: OpaquePointer) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            // The pointer first, then the length: asking for the length first could convert the value twice.
            let text = sqlite_nio_sqlite3_column_text(statement, column)
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .text(text.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: count), as: UTF8.self) } ?? "")
        case SQLITE_BLOB:
            let bytes = sqlite_nio_sqlite3_column_blob(statement, column)
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let bytes { buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count)) }
            return .blob(buffer)
        default: return .null
        }
    }

    private func check(_ result: Int32) throws {
        guard result == SQLITE_OK else { throw failure(result) }
    }

    private func failure(_ result: Int32) -> SQLiteFailure {
        guard let handle else { return SQLiteFailure(code: result, message: "the connection is closed") }
        return SQLiteFailure(code: sqlite_nio_sqlite3_extended_errcode(handle), message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }

    /// SQLite's SQLITE_TRANSIENT: it copies a bound value before the call returns.
    private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// An error SQLite reported on the writer's connection, with its extended result code.
package struct SQLiteFailure: Error, CustomStringConvertible {
    package let code: Int32
    package let message: String
    package var description: String { "SQLite error \(code): \(message)" }

    static let misuse = SQLITE_MISUSE
    static let uniqueViolation: Int32 = 2067 // SQLITE_CONSTRAINT_UNIQUE
    static let primaryKeyViolation: Int32 = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
}

/// A statement's column names and where each first appears (SQLiteNIO's rule for a repeated name).
private final class ColumnNames: Sendable {
    let names: [String]
    let offsets: [String: Int]

    init(_ statement: OpaquePointer) {
        let count = Int(sqlite_nio_sqlite3_column_count(statement))
        names = (0..<count).map { sqlite_nio_sqlite3_column_name(statement, Int32($0)).map { String(cString: $0) } ?? "" }
        offsets = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// One row, decoded as SQLiteKit decodes its own rows.
struct ValuesRow: SQLRow {
    fileprivate let columns: ColumnNames
    fileprivate let values: [SQLiteData]

    var allColumns: [String] { columns.names }
    func contains(column: String) -> Bool { columns.offsets[column] != nil }
    func decodeNil(column: String) throws -> Bool { (value(column) ?? .null) == .null }

    func value(_ column: String) -> SQLiteData? { columns.offsets[column].map { values[$0] } }

    /// The common cells (text, UUIDs kept as text, integers, doubles) are read directly; the rest, and any cell of
    /// another storage class, go through SQLiteKit's decoder, whose protocol casts cost a few microseconds a cell.
    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let value = value(column) else {
            throw SQLiteFailure(code: SQLITE_ERROR, message: "the query has no column \(column)")
        }
        switch value {
        case .text(let text):
            if D.self == String.self { return unsafeBitCast(text, to: D.self) }
            if D.self == UUID.self, let id = UUID(canonical: text) { return unsafeBitCast(id, to: D.self) }
        case .integer(let number):
            if D.self == Int.self { return unsafeBitCast(number, to: D.self) }
            if D.self == Int64.self { return unsafeBitCast(Int64(number), to: D.self) }
        case .float(let number):
            if D.self == Double.self { return unsafeBitCast(number, to: D.self) }
        case .blob, .null: break
        }
        return try SQLiteDataDecoder().decode(D.self, from: value)
    }
}
