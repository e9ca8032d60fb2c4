import AITIPCore
import Foundation
import SQLKit
import SQLiteKit

// Rows are Codable structs whose CodingKeys name the snake_case columns. No key strategy: SQLKit would convert
// every column name of every row again (it was the largest cost of a list request when measured).

extension SQLQueryFetcher {
    public func rows<Row: Decodable>(_ type: Row.Type) async throws -> [Row] {
        try await all(decoding: type)
    }

    public func row<Row: Decodable>(_ type: Row.Type) async throws -> Row? {
        try await first(decoding: type)
    }
}

extension SQLDatabase {
    /// Inserts one Codable row; nil properties are left to the column default.
    public func insert<Row: Encodable>(_ row: Row, into table: String) async throws {
        try await insert(into: table).model(row).run()
    }
}

extension SQLRow {
    /// A UUID column, parsed without Foundation's scanf-based parser where the database hands out text (SQLite).
    /// PostgreSQL sends UUIDs as 16 bytes: decoded directly (trying text first would throw and catch per value).
    public func uuid(_ column: String) throws -> UUID {
        if self is SQLiteRow, let id = UUID(canonical: try decode(column: column, as: String.self)) { return id }
        return try decode(column: column, as: UUID.self)
    }

    public func optionalUUID(_ column: String) throws -> UUID? {
        if try decodeNil(column: column) { return nil }
        return try uuid(column)
    }
}
