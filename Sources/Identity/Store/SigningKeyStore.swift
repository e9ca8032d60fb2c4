import Foundation
import SQLKit

/// The ring of access-token signing keys (`signing_keys`).
enum SigningKeyStore {
    private struct Row: Codable {
        var kid: String
        var secret: String
        var created_at: Date
        var retired_at: Date?
    }

    static func all(on sql: any SQLDatabase) async throws -> [SigningKey] {
        try await sql.select().columns("kid", "secret", "created_at", "retired_at").from("signing_keys").orderBy("created_at")
            .all(decoding: Row.self)
            .map { SigningKey(kid: $0.kid, secret: $0.secret, createdAt: $0.created_at, retiredAt: $0.retired_at) }
    }

    static func insert(_ key: SigningKey, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "signing_keys").model(Row(kid: key.kid, secret: key.secret, created_at: key.createdAt, retired_at: key.retiredAt))
            .run()
    }

    /// Retires every active key but `kid`.
    static func retire(allBut kid: String, at now: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("signing_keys").set("retired_at", to: now).where("kid", .notEqual, kid).where("retired_at", .is, SQLLiteral.null).run()
    }

    static func delete(allBut kid: String, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "signing_keys").where("kid", .notEqual, kid).run()
    }

    /// Retired keys nothing valid can carry any more (every token they signed has expired).
    static func deleteRetired(before cutoff: Date, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "signing_keys").where("retired_at", .lessThan, cutoff).run()
    }
}
