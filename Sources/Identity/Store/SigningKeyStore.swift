import AITIPCore
import Foundation
import SQLKit

/// The ring of access-token signing keys (`signing_keys`).
enum SigningKeyStore {
    private struct Row: Codable {
        var kid: String
        var secret: String
        var created_ms: Int64
        var retired_ms: Int64?
    }

    static func all(on sql: any SQLDatabase) async throws -> [SigningKey] {
        try await sql.select().columns("kid", "secret", "created_ms", "retired_ms").from("signing_keys").orderBy("created_ms")
            .all(decoding: Row.self)
            .map {
                SigningKey(
                    kid: $0.kid, secret: $0.secret, createdAt: Date(epochMilliseconds: $0.created_ms),
                    retiredAt: $0.retired_ms.map(Date.init(epochMilliseconds:)))
            }
    }

    static func insert(_ key: SigningKey, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "signing_keys").model(
            Row(kid: key.kid, secret: key.secret, created_ms: key.createdAt.epochMilliseconds, retired_ms: key.retiredAt?.epochMilliseconds)
        )
        .run()
    }

    /// Retires every active key but `kid`.
    static func retire(allBut kid: String, at now: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("signing_keys").set("retired_ms", to: now.epochMilliseconds).where("kid", .notEqual, kid).where(
            "retired_ms", .is, SQLLiteral.null
        ).run()
    }

    static func delete(allBut kid: String, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "signing_keys").where("kid", .notEqual, kid).run()
    }

    /// Retired keys nothing valid can carry any more (every token they signed has expired).
    static func deleteRetired(before cutoff: Date, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "signing_keys").where("retired_ms", .lessThan, cutoff.epochMilliseconds).run()
    }
}
