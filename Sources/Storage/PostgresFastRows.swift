import Foundation
import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// PostgresKit's `SQLDatabase` for one connection, with rows whose common column types are decoded by PostgresNIO
/// directly.
///
/// PostgresKit decodes every cell through a general translation layer that builds a coding path (a formatted
/// string) and probes protocol conformances at run time: it was 30 % of the CPU of a run search on PostgreSQL
/// (perf, bench/tracking.sh), about 4 µs a cell. Strings, UUIDs, integers, doubles, booleans, dates and bytes (and
/// their optionals) take PostgresNIO's own decoders here; any other type, and any cell those decoders refuse, goes
/// to PostgresKit's path, so results and errors stay exactly PostgresKit's.
struct PostgresFastSQLDatabase: SQLDatabase {
    let connection: PostgresConnection
    /// PostgresKit's database over the same connection: its dialect, and the path for what is not handled here.
    let base: any SQLDatabase

    init(connection: PostgresConnection, queryLogLevel: Logger.Level?) {
        self.connection = connection
        base = connection.sql(queryLogLevel: queryLogLevel)
    }

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let (sql, binds) = serialize(query)
        guard let bindings = Self.bindings(binds) else { return base.execute(sql: query, onRow) }
        logQuery(sql)
        return connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger) { row in
            onRow(PostgresFastRow(row))
        }.map { _ in }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await execute(sql: query, onRow).get()
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    private func logQuery(_ sql: String) {
        if let queryLogLevel { logger.log(level: queryLogLevel, "Executing query", metadata: ["sql": .string(sql)]) }
    }

    /// The binds as PostgresNIO encodes them, as PostgresKit does for these types; nil when one needs PostgresKit's
    /// Codable path (the whole query then goes through PostgresKit).
    static func bindings(_ binds: [any Encodable & Sendable]) -> PostgresBindings? {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            var value: Any = bind
            if let optional = bind as? any OptionalBind {
                guard let wrapped = optional.wrappedBind else {
                    bindings.appendNull()
                    continue
                }
                value = wrapped
            }
            guard let encodable = value as? any PostgresThrowingDynamicTypeEncodable, (try? bindings.append(encodable)) != nil else { return nil }
        }
        return bindings
    }
}

private protocol OptionalBind {
    var wrappedBind: Any? { get }
}

extension Optional: OptionalBind {
    fileprivate var wrappedBind: Any? { self.map { $0 as Any } }
}

/// One row of a result, decoded as described on `PostgresFastSQLDatabase`.
struct PostgresFastRow: SQLRow {
    let row: PostgresRow
    let cells: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row
        cells = row.makeRandomAccess()
    }

    var allColumns: [String] { cells.map(\.columnName) }

    func contains(column: String) -> Bool { cells.contains(column) }

    func decodeNil(column: String) throws -> Bool {
        !cells.contains(column) || cells[column].bytes == nil
    }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        if cells.contains(column), let value = Self.decodeDirectly(cells[column], as: T.self) { return value }
        return try row.sql().decode(column: column, as: T.self)
    }

    /// nil: not a type decoded here, or PostgresNIO refused the cell (PostgresKit's path then decides).
    static func decodeDirectly<T>(_ cell: PostgresCell, as type: T.Type) -> T? {
        // PostgresKit reads user-defined types as text for String and numeric as Double: leave those to it.
        guard !cell.dataType.isUserDefined, cell.dataType != .numeric else { return nil }
        func take<Value: PostgresDecodable>(_: Value.Type) -> T? {
            guard let value = try? cell.decode(Value.self) else { return nil }
            return unsafeBitCast(value, to: T.self)
        }
        switch ObjectIdentifier(T.self) {
        case ObjectIdentifier(String.self): return take(String.self)
        case ObjectIdentifier(UUID.self): return take(UUID.self)
        case ObjectIdentifier(Int.self): return take(Int.self)
        case ObjectIdentifier(Int64.self): return take(Int64.self)
        case ObjectIdentifier(Int32.self): return take(Int32.self)
        case ObjectIdentifier(Double.self): return take(Double.self)
        case ObjectIdentifier(Bool.self): return take(Bool.self)
        case ObjectIdentifier(Date.self): return take(Date.self)
        case ObjectIdentifier(Data.self): return take(Data.self)
        case ObjectIdentifier(String?.self): return take(String?.self)
        case ObjectIdentifier(UUID?.self): return take(UUID?.self)
        case ObjectIdentifier(Int?.self): return take(Int?.self)
        case ObjectIdentifier(Int64?.self): return take(Int64?.self)
        case ObjectIdentifier(Double?.self): return take(Double?.self)
        case ObjectIdentifier(Bool?.self): return take(Bool?.self)
        case ObjectIdentifier(Date?.self): return take(Date?.self)
        case ObjectIdentifier(Data?.self): return take(Data?.self)
        default: return nil
        }
    }
}
