import Foundation

/// One numbered, named schema change. The same definition runs on SQLite and PostgreSQL: `statements` receives the
/// dialect's column types. Shipped migrations are never edited; the migrator refuses to start when a recorded
/// checksum no longer matches.
package struct Migration: Sendable {
    package let version: Int
    package let name: String
    package let statements: @Sendable (ColumnTypes) -> [String]

    package init(_ version: Int, _ name: String, _ statements: @escaping @Sendable (ColumnTypes) -> [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Column types per dialect. JSON is stored as text on both databases so one Codable row shape works on both;
/// queries never look inside it (see Storage/README.md).
package struct ColumnTypes: Sendable {
    package let dialect: Dialect

    package var uuid: String { dialect == .postgres ? "UUID" : "TEXT" }
    package var timestamp: String { dialect == .postgres ? "TIMESTAMPTZ" : "REAL" }
    package var text: String { "TEXT" }
    package var json: String { "TEXT" }
    package var bigint: String { dialect == .postgres ? "BIGINT" : "INTEGER" }
    package var integer: String { "INTEGER" }
    package var bool: String { dialect == .postgres ? "BOOLEAN" : "INTEGER" }
    package var double: String { dialect == .postgres ? "DOUBLE PRECISION" : "REAL" }
    package var blob: String { dialect == .postgres ? "BYTEA" : "BLOB" }

    /// Statements that keep a blob column's values as written, uncompressed: for values that do not compress well and
    /// are written often (PostgreSQL compresses large values with pglz on insert; SQLite never compresses).
    package func storeUncompressed(_ table: String, _ column: String) -> [String] {
        dialect == .postgres ? ["ALTER TABLE \(table) ALTER COLUMN \(column) SET STORAGE EXTERNAL"] : []
    }
}
