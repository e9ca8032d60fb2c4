import AITIPCore
import Foundation
import SQLKit
import Storage

/// What a signed-in person does with their own account: change the password, see where they are signed in, and
/// end sessions they do not recognise.
extension AuthService {
    /// A login session as its owner sees it.
    package struct SessionInfo: Sendable {
        package var id: UUID
        package var createdAt: Date
        package var lastUsedAt: Date
        package var expiresAt: Date
        package var clientAddress: String?
        package var userAgent: String?
        /// The session of the token that asked.
        package var current: Bool
    }

    /// Changes the caller's password after checking the current one, and ends every other session of theirs (a
    /// password is usually changed because someone else might know it). The session that asked stays signed in.
    package func changePassword(current: String?, new: String?, caller: Caller) async throws {
        let sessionId = try Self.sessionOf(caller, "Change a password signed in as the person, not with an API key")
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        validator.check(!(current ?? "").isEmpty, "current_password", "is required")
        if let new, !new.isEmpty {
            validator.check(new.count >= 8, "new_password", "must be at least 8 characters")
            validator.check(new.utf8.count <= 72, "new_password", "must be at most 72 bytes (a bcrypt limit)")
            validator.check(new != current, "new_password", "must differ from the current password")
        } else {
            validator.add("new_password", "is required")
        }
        try validator.finish()
        let user = try await database.read { sql in try await UserStore.find(principal.userId, on: sql) }
        guard let user, try await hasher.verify(current ?? "", hash: user.passwordHash), user.passwordHash != nil else {
            throw AppError.forbidden("The current password is wrong")
        }
        let hash = try await hasher.hash(new ?? "")
        let now = clock.now()
        try await database.transaction { sql in
            try await UserStore.setPasswordHash(user.id, hash, at: now, on: sql)
            try await SessionStore.revokeAll(of: user.id, except: sessionId, reason: "password changed", at: now, on: sql)
            try await audit.record(
                on: sql, caller, orgId: nil, action: "auth.password_change", targetType: "user", targetId: user.id.lowercasedString,
                detail: "other sessions ended")
        }
        cache.forget(userId: user.id)
        forgetVerifiedPasswords()
    }

    /// The caller's live sessions, most recently used first (a person's own business: not for API keys).
    package func sessions(caller: Caller) async throws -> [SessionInfo] {
        let current = try Self.sessionOf(caller, "See your sessions signed in as yourself, not with an API key")
        let now = clock.now()
        let userId = try caller.requirePrincipal().userId
        return try await database.read { sql in try await SessionStore.active(of: userId, now: now, on: sql) }.map {
            SessionInfo(
                id: $0.id, createdAt: Date(epochMilliseconds: $0.createdMs), lastUsedAt: Date(epochMilliseconds: $0.rotatedMs),
                expiresAt: Date(epochMilliseconds: $0.expiresMs), clientAddress: $0.clientAddress,
                userAgent: $0.userAgent, current: $0.id == current)
        }
    }

    /// Ends one of the caller's sessions (its refresh token stops working at once, its access token within the cache's ttl).
    package func revokeSession(_ id: UUID, caller: Caller) async throws {
        _ = try Self.sessionOf(caller, "End sessions signed in as yourself, not with an API key")
        let principal = try caller.requirePrincipal()
        let now = clock.now()
        try await database.transaction { sql in
            guard let session = try await SessionStore.find(id, on: sql), session.userId == principal.userId, session.revokedMs == nil else {
                throw AppError.notFound("Session")
            }
            try await SessionStore.revoke(id, reason: "ended by its owner", at: now, on: sql)
            try await audit.record(on: sql, caller, orgId: nil, action: "auth.session_revoke", targetType: "session", targetId: id.lowercasedString)
        }
        cache.forget(userId: principal.userId)
    }

    /// The login session of a signed-in person; API keys are refused with `refusal`.
    static func sessionOf(_ caller: Caller, _ refusal: String) throws -> UUID {
        guard case .session(let id) = try caller.requirePrincipal().credential else { throw AppError.forbidden(refusal) }
        return id
    }
}
