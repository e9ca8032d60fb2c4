import Foundation

/// One numbered, named schema change. The same definition runs on SQLite and PostgreSQL: `statements` receives the
/// dialect's column types. Shipped migrations are never edited; the migrator refuses to start when a recorded
/// checksum no longer matches.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: @Sendable (ColumnTypes) -> [String]

    public init(_ version: Int, _ name: String, _ statements: @escaping @Sendable (ColumnTypes) -> [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Column types per dialect. JSON is stored as text on both databases so one Codable row shape works on both;
/// queries never look inside it (see Storage/README.md).
public struct ColumnTypes: Sendable {
    public let dialect: Dialect

    public var uuid: String { dialect == .postgres ? "UUID" : "TEXT" }
    public var timestamp: String { dialect == .postgres ? "TIMESTAMPTZ" : "REAL" }
    public var text: String { "TEXT" }
    public var json: String { "TEXT" }
    public var bigint: String { dialect == .postgres ? "BIGINT" : "INTEGER" }
    public var integer: String { "INTEGER" }
    public var bool: String { dialect == .postgres ? "BOOLEAN" : "INTEGER" }
    public var double: String { dialect == .postgres ? "DOUBLE PRECISION" : "REAL" }
    public var blob: String { dialect == .postgres ? "BYTEA" : "BLOB" }

    /// Statements that keep a blob column's values as written, uncompressed: for values that do not compress well and
    /// are written often (PostgreSQL compresses large values with pglz on insert; SQLite never compresses).
    public func storeUncompressed(_ table: String, _ column: String) -> [String] {
        dialect == .postgres ? ["ALTER TABLE \(table) ALTER COLUMN \(column) SET STORAGE EXTERNAL"] : []
    }
}
