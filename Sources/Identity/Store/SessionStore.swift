import AITIPCore
import Foundation
import SQLKit
import Storage

/// Login sessions (`refresh_sessions`): one per sign-in, rotated on every refresh.
enum SessionStore {
    static func find(_ id: UUID, on sql: any SQLDatabase) async throws -> RefreshSession? {
        try await sql.select().column("*").from("refresh_sessions").where("id", .equal, id).row(RefreshSession.self)
    }

    /// Swaps the token hash only if it is still the one presented: of two concurrent refreshes with one token,
    /// exactly one wins.
    static func rotate(
        _ id: UUID, from oldHash: String, to newHash: String, generation: Int, now: Date, expiresAt: Date,
        on sql: any SQLDatabase
    ) async throws -> Bool {
        try await sql.update("refresh_sessions")
            .set("token_hash", to: newHash).set("generation", to: generation).set("rotated_ms", to: now.epochMilliseconds)
            .set("expires_ms", to: expiresAt.epochMilliseconds)
            .where("id", .equal, id).where("token_hash", .equal, oldHash).where("revoked_ms", .is, SQLLiteral.null)
            .returning("id").first() != nil
    }

    static func revoke(_ id: UUID, reason: String, at date: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("refresh_sessions").set("revoked_ms", to: date.epochMilliseconds).set("revoked_reason", to: reason)
            .where("id", .equal, id).where("revoked_ms", .is, SQLLiteral.null).run()
    }

    /// The live sessions of a user (not revoked, not expired), newest first.
    static func active(of userId: UUID, now: Date, on sql: any SQLDatabase) async throws -> [RefreshSession] {
        try await sql.select().column("*").from("refresh_sessions").where("user_id", .equal, userId)
            .where("revoked_ms", .is, SQLLiteral.null).where("expires_ms", .greaterThan, now.epochMilliseconds)
            .orderBy("rotated_ms", .descending).orderBy("id", .descending).limit(200).rows(RefreshSession.self)
    }

    /// Ends every live session of a user but `except`.
    static func revokeAll(of userId: UUID, except: UUID?, reason: String, at date: Date, on sql: any SQLDatabase) async throws {
        var query = sql.update("refresh_sessions").set("revoked_ms", to: date.epochMilliseconds).set("revoked_reason", to: reason)
            .where("user_id", .equal, userId).where("revoked_ms", .is, SQLLiteral.null)
        if let except { query = query.where("id", .notEqual, except) }
        try await query.run()
    }
}
