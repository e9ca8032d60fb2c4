import AITIPCore
import Foundation
import SQLKit

// Rows are Codable structs whose CodingKeys name the snake_case columns. No key strategy: SQLKit would convert
// every column name of every row again (it was the largest cost of a list request when measured).

extension SQLQueryFetcher {
    package func rows<Row: Decodable>(_ type: Row.Type) async throws -> [Row] {
        try await all(decoding: type)
    }

    package func row<Row: Decodable>(_ type: Row.Type) async throws -> Row? {
        try await first(decoding: type)
    }
}

extension SQLDatabase {
    /// Inserts one Codable row; nil properties are left to the column default.
    package func insert<Row: Encodable>(_ row: Row, into table: String) async throws {
        try await insert(into: table).model(row).run()
    }

    /// Rewrites every column of the row with this id from a Codable value. nil properties are written as NULL:
    /// SQLKit's default encoder skips them, which would silently keep a stale value.
    package func updateRow<Row: Encodable & Sendable>(_ row: Row, in table: String, id: UUID) async throws {
        try await update(table).set(model: row, with: SQLQueryEncoder(nilEncodingStrategy: .asNil)).where("id", .equal, id).run()
    }
}

extension SQLRow {
    /// A UUID column, however the database keeps it: SQLite as text (parsed by `ValuesRow` without Foundation's
    /// scanf-based parser, which showed in profiles of run searches), PostgreSQL as 16 bytes. Only Storage knows which.
    package func uuid(_ column: String) throws -> UUID {
        try decode(column: column, as: UUID.self)
    }

    package func optionalUUID(_ column: String) throws -> UUID? {
        if try decodeNil(column: column) { return nil }
        return try uuid(column)
    }
}
