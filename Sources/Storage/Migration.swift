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
    /// The type of the first tables' time columns: shipped migrations keep it (their text must not change). New
    /// columns are epoch milliseconds in `bigint` columns named `*_ms` (Storage/README.md, "Stored timestamps").
    package var legacyTimestamp: String { dialect == .postgres ? "TIMESTAMPTZ" : "REAL" }
    package var text: String { "TEXT" }
    package var json: String { "TEXT" }
    package var bigint: String { dialect == .postgres ? "BIGINT" : "INTEGER" }
    package var integer: String { "INTEGER" }
    package var bool: String { dialect == .postgres ? "BOOLEAN" : "INTEGER" }
    /// A `bool` column's literal, e.g. for `DEFAULT`.
    package func literal(_ value: Bool) -> String { dialect == .postgres ? (value ? "TRUE" : "FALSE") : (value ? "1" : "0") }
    package var double: String { dialect == .postgres ? "DOUBLE PRECISION" : "REAL" }
    package var blob: String { dialect == .postgres ? "BYTEA" : "BLOB" }

    /// Statements that turn a `legacyTimestamp` column into epoch milliseconds in a new `bigint` column, keeping
    /// every value as the API showed it (whole milliseconds, the rest cut off) and nulls as nulls, and drop the old
    /// column. SQLite's values are seconds in a double: rounded to the microsecond first, as SQLiteNIO read them.
    ///
    /// SQLite cannot add a `NOT NULL` column without a default, and rebuilding the table instead would cascade
    /// deletes through the foreign keys that point at it; so there a required column gets `DEFAULT 0`, which no
    /// write relies on (every insert names it). PostgreSQL adds the column plain and sets `NOT NULL` after the copy.
    package func epochMillisecondsReplacing(_ table: String, _ old: String, with new: String, required: Bool) -> [String] {
        switch dialect {
        case .postgres:
            [
                "ALTER TABLE \(table) ADD COLUMN \(new) BIGINT",
                "UPDATE \(table) SET \(new) = FLOOR(EXTRACT(EPOCH FROM \(old)) * 1000)::BIGINT",
            ]
                + (required ? ["ALTER TABLE \(table) ALTER COLUMN \(new) SET NOT NULL"] : [])
                + ["ALTER TABLE \(table) DROP COLUMN \(old)"]
        case .sqlite:
            [
                "ALTER TABLE \(table) ADD COLUMN \(new) INTEGER" + (required ? " NOT NULL DEFAULT 0" : ""),
                "UPDATE \(table) SET \(new) = CAST(ROUND(\(old) * 1000000) / 1000 AS INTEGER)",
                "ALTER TABLE \(table) DROP COLUMN \(old)",
            ]
        }
    }

    /// Statements that keep a blob column's values as written, uncompressed: for values that do not compress well and
    /// are written often (PostgreSQL compresses large values with pglz on insert; SQLite never compresses).
    package func storeUncompressed(_ table: String, _ column: String) -> [String] {
        dialect == .postgres ? ["ALTER TABLE \(table) ALTER COLUMN \(column) SET STORAGE EXTERNAL"] : []
    }
}
