import SQLKit

// Rows are Codable structs with camelCase properties over snake_case columns.

extension SQLQueryFetcher {
    public func rows<Row: Decodable>(_ type: Row.Type) async throws -> [Row] {
        try await all(decoding: type, keyDecodingStrategy: .convertFromSnakeCase)
    }

    public func row<Row: Decodable>(_ type: Row.Type) async throws -> Row? {
        try await first(decoding: type, keyDecodingStrategy: .convertFromSnakeCase)
    }
}

extension SQLDatabase {
    /// Inserts one Codable row; nil properties are left to the column default.
    public func insert<Row: Encodable>(_ row: Row, into table: String) async throws {
        try await insert(into: table).model(row, keyEncodingStrategy: .convertToSnakeCase).run()
    }
}
