import AITIPCore
import Foundation
import Logging
import SQLKit
import Storage

/// Tokens handed out by login and refresh.
package struct TokenGrant: Sendable {
    package var accessToken: String
    package var accessTokenExpiresAt: Date
    package var refreshToken: String
    package var refreshTokenExpiresAt: Date
    package var user: User
}

package struct RegistrationInput: Sendable {
    package var email: String?
    package var username: String?
    package var password: String?
    package var organizationName: String?

    package init(email: String?, username: String?, password: String?, organizationName: String? = nil) {
        self.email = email
        self.username = username
        self.password = password
        self.organizationName = organizationName
    }
}

/// Registration, login, token refresh with rotation and reuse detection, logout, and authentication of bearer
/// credentials (access tokens and API keys).
package struct AuthService: Sendable {
    let database: Database
    let config: IdentityConfig
    let tokens: AccessTokens
    let hasher: PasswordHasher
    let clock: any Clock
    let audit: AuditLog
    let cache: PrincipalCache
    private let verifiedPasswords: PrincipalCache
    let logger: Logger

    /// API keys record `last_used_at` at most this often, so authentication stays a read.
    static let lastUsedResolution: TimeInterval = 60

    package init(
        database: Database, config: IdentityConfig, tokens: AccessTokens, hasher: PasswordHasher,
        clock: any Clock, audit: AuditLog, cache: PrincipalCache, logger: Logger
    ) {
        self.database = database
        self.config = config
        self.tokens = tokens
        self.hasher = hasher
        self.clock = clock
        self.audit = audit
        self.cache = cache
        self.verifiedPasswords = PrincipalCache(ttl: Self.basicVerificationTTL, clock: clock)
        self.logger = logger
    }

    static let basicVerificationTTL: TimeInterval = 60

    /// Drops remembered basic-auth passwords (after a password change they must be checked again).
    func forgetVerifiedPasswords() { verifiedPasswords.forgetAll() }

    // MARK: registration and login

    package func register(_ input: RegistrationInput, caller: Caller) async throws -> (User, Organization) {
        guard config.registration == .open else {
            throw AppError.forbidden("Registration is closed on this server; ask an organization admin to add you")
        }
        var validator = Validator()
        let (email, username, password) = UserValidation.check(
            email: input.email, username: input.username,
            password: input.password, into: &validator)
        let orgName = validator.optionalText(input.organizationName, "organization_name", maxLength: 255)
        try validator.finish()
        let passwordHash = try await hasher.hash(password)
        let now = clock.now()
        return try await database.transaction { sql in
            let taken = try await UserStore.exists(username: username, email: email, on: sql)
            if taken.username || taken.email {
                throw AppError.conflict(taken.username ? "The username '\(username)' is taken" : "An account with this email already exists")
            }
            let org = try await OrganizationService.insertOrganization(
                name: orgName ?? username, preferredSlug: Slug.from(orgName ?? username),
                now: now, on: sql)
            let user = User(
                id: IDGenerator.uuidV7(at: now), orgId: org.id, email: email, username: username,
                passwordHash: passwordHash, settings: "{}", lastLoginMs: nil, createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
            try await sql.insert(user, into: "users")
            try await sql.insert(Membership(orgId: org.id, userId: user.id, role: .owner, createdMs: now.epochMilliseconds), into: "org_members")
            try await sql.insert(
                Project.starter(orgId: org.id, ownerId: user.id, now: now, description: "Created with the organization"), into: "projects")
            try await audit.record(
                on: sql, caller, orgId: org.id, action: "auth.register", targetType: "user",
                targetId: user.id.lowercasedString, actorOverride: (user.id, user.username))
            return (user, org)
        }
    }

    package func login(_ login: String?, password: String?, caller: Caller) async throws -> TokenGrant {
        var validator = Validator()
        let login = validator.requireText(login, "username", maxLength: 255)
        validator.check(!(password ?? "").isEmpty, "password", "is required")
        try validator.finish()
        let user = try await database.read { sql in try await UserStore.find(login: login, on: sql) }
        guard try await hasher.verify(password ?? "", hash: user?.passwordHash), let user, user.passwordHash != nil else {
            throw AppError.unauthorized("Wrong username or password")
        }
        let now = clock.now()
        return try await database.transaction { sql in
            let grant = try await startSession(for: user, caller: caller, now: now, on: sql)
            try await UserStore.recordLogin(user.id, at: now, on: sql)
            try await audit.record(
                on: sql, caller, orgId: user.orgId, action: "auth.login", targetType: "session",
                targetId: grant.sessionId.lowercasedString, actorOverride: (user.id, user.username))
            return grant.grant
        }
    }

    // MARK: refresh and logout

    package func refresh(_ refreshToken: String?, caller: Caller) async throws -> TokenGrant {
        guard let refreshToken, let parsed = RefreshToken(refreshToken) else {
            throw AppError.unauthorized("The refresh token is missing or malformed; sign in again")
        }
        let now = clock.now()
        let session = try await database.read { sql in try await SessionStore.find(parsed.sessionId, on: sql) }
        guard let session, session.revokedMs == nil, session.expiresMs > now.epochMilliseconds else {
            throw AppError.unauthorized("This session has ended; sign in again")
        }
        let presentedHash = SecretToken.sha256(parsed.secret)
        guard presentedHash == session.tokenHash else {
            // An older token of this session came back: it was copied. End the session for everyone holding it.
            try await database.transaction { sql in
                try await SessionStore.revoke(session.id, reason: "refresh token reuse detected", at: now, on: sql)
                try await audit.record(
                    on: sql, caller, orgId: nil, action: "auth.refresh_reuse_detected",
                    targetType: "session", targetId: session.id.lowercasedString,
                    detail: "session revoked", actorOverride: (session.userId, ""))
            }
            cache.forget(userId: session.userId)
            (caller.logger ?? logger).warning("refresh token reuse detected; session revoked", metadata: ["session": "\(session.id)"])
            throw AppError.unauthorized("This refresh token was already used; the session has been revoked. Sign in again")
        }
        let secret = SecretToken.random()
        let expiresAt = now.addingTimeInterval(config.refreshTokenLifetime)
        return try await database.transaction { sql in
            let rotated = try await SessionStore.rotate(
                session.id, from: presentedHash, to: SecretToken.sha256(secret),
                generation: session.generation + 1, now: now, expiresAt: expiresAt, on: sql)
            guard rotated, let user = try await UserStore.find(session.userId, on: sql) else {
                throw AppError.unauthorized("This refresh token was already used; sign in again")
            }
            let access = try await tokens.sign(userId: user.id, sessionId: session.id, now: now)
            try await audit.record(
                on: sql, caller, orgId: user.orgId, action: "auth.refresh", targetType: "session",
                targetId: session.id.lowercasedString, actorOverride: (user.id, user.username))
            return TokenGrant(
                accessToken: access.token, accessTokenExpiresAt: access.expiresAt,
                refreshToken: RefreshToken(sessionId: session.id, secret: secret).text,
                refreshTokenExpiresAt: expiresAt, user: user)
        }
    }

    /// Ends the caller's login session, or the session of the refresh token given (which must be the caller's).
    package func logout(refreshToken: String?, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        var sessionId: UUID?
        if case .session(let id) = principal.credential { sessionId = id }
        if let refreshToken {
            guard let parsed = RefreshToken(refreshToken) else {
                throw AppError.validation([FieldError(field: "refresh_token", message: "is not a refresh token issued by this server")])
            }
            sessionId = parsed.sessionId
        }
        guard let sessionId else {
            throw AppError.badRequest("API keys have no session to end; revoke the key instead, or pass refresh_token")
        }
        let now = clock.now()
        try await database.transaction { sql in
            guard let session = try await SessionStore.find(sessionId, on: sql), session.userId == principal.userId else {
                throw AppError.notFound("Session")
            }
            try await SessionStore.revoke(sessionId, reason: "logout", at: now, on: sql)
            try await audit.record(
                on: sql, caller, orgId: nil, action: "auth.logout", targetType: "session",
                targetId: sessionId.lowercasedString)
        }
        cache.forget(userId: principal.userId)
    }

    // MARK: authentication

    /// The principal behind a bearer credential, or nil when it is not valid (bad signature, expired, revoked).
    package func authenticate(bearer token: String) async throws -> Principal? {
        let now = clock.now()
        if SecretToken.isAPIKey(token) {
            return try await authenticateAPIKey(token, now: now)
        }
        await tokens.refreshIfStale(now: now)
        var verified = tokens.verify(token, now: now)
        if verified == nil, tokens.namesUnknownKey(token), await tokens.reloadForUnknownKey(now: now) {
            verified = tokens.verify(token, now: now)
        }
        guard let claims = verified else { return nil }
        let cacheKey = "session:\(claims.sessionId)"
        if let known = cache.principal(for: cacheKey), known.userId == claims.userId { return known }
        let rows = try await database.read { sql in
            try await PrincipalStore.forSession(claims.sessionId, userId: claims.userId, now: now, on: sql)
        }
        let principal = Self.principal(from: rows, credential: .session(id: claims.sessionId))
        if let principal { cache.remember(principal, for: cacheKey) }
        return principal
    }

    /// HTTP basic credentials, for clients that only know username and password (the MLflow client's
    /// MLFLOW_TRACKING_USERNAME/PASSWORD). An API key as the password works with any username. A verified password
    /// is remembered for `basicVerificationTTL` under a hash of the pair, so a client that sends it with every call
    /// costs one bcrypt check a minute, not one per request; changing the password ends that within the minute.
    package func authenticate(basicUsername username: String, password: String) async throws -> Principal? {
        if SecretToken.isAPIKey(password) { return try await authenticateAPIKey(password, now: clock.now()) }
        let pairHash = SecretToken.sha256("\(username)\u{0}\(password)")
        let userId: UUID
        if let known = verifiedPasswords.principal(for: pairHash) {
            userId = known.userId
        } else {
            let user = try await database.read { sql in try await UserStore.find(login: username, on: sql) }
            guard try await hasher.verify(password, hash: user?.passwordHash), let user, user.passwordHash != nil else { return nil }
            userId = user.id
            verifiedPasswords.remember(
                Principal(userId: user.id, username: user.username, credential: .session(id: user.id), memberships: [:]),
                for: pairHash)
        }
        let cacheKey = "user:\(userId)"
        if let known = cache.principal(for: cacheKey) { return known }
        let rows = try await database.read { sql in try await PrincipalStore.forUser(userId, on: sql) }
        // Basic credentials act like a session of the user (all their organizations, their roles).
        let principal = Self.principal(from: rows, credential: .session(id: userId))
        if let principal { cache.remember(principal, for: cacheKey) }
        return principal
    }

    private func authenticateAPIKey(_ token: String, now: Date) async throws -> Principal? {
        let hash = SecretToken.sha256(token)
        let cacheKey = "key:\(hash)"
        if let known = cache.principal(for: cacheKey) { return known }
        let found = try await database.read { sql -> (APIKey, [PrincipalRow])? in
            guard let key = try await APIKeyStore.find(hash: hash, on: sql) else { return nil }
            return (key, try await PrincipalStore.forUser(key.userId, on: sql))
        }
        guard let (key, rows) = found, key.revokedMs == nil, key.expiresMs.map({ $0 > now.epochMilliseconds }) ?? true else { return nil }
        if key.lastUsedMs.map({ now.timeIntervalSince(Date(epochMilliseconds: $0)) > Self.lastUsedResolution }) ?? true {
            try await database.transaction { sql in try await APIKeyStore.touch(key.id, at: now, on: sql) }
        }
        let principal = Self.principal(from: rows, credential: .apiKey(id: key.id, orgId: key.orgId, scopes: APIKeyService.expand(key.scopes)))
        if let principal { cache.remember(principal, for: cacheKey) }
        return principal
    }

    static func principal(from rows: [PrincipalRow], credential: Principal.Credential) -> Principal? {
        guard let first = rows.first else { return nil }
        var memberships: [UUID: Role] = [:]
        for row in rows {
            if let orgId = row.orgId, let role = row.role { memberships[orgId] = role }
        }
        return Principal(
            userId: first.userId, username: first.username, credential: credential, memberships: memberships,
            homeOrgId: first.homeOrgId)
    }

    // MARK: me

    package struct Me: Sendable {
        package var user: User
        package var memberships: [(organization: Organization, role: Role)]
        package var principal: Principal
    }

    package func me(_ caller: Caller) async throws -> Me {
        let principal = try caller.requirePrincipal()
        return try await database.read { sql in
            guard let user = try await UserStore.find(principal.userId, on: sql) else { throw AppError.notFound("User") }
            var memberships: [(Organization, Role)] = []
            for orgId in principal.visibleOrgIds.sorted(by: { $0.uuidString < $1.uuidString }) {
                if let org = try await OrganizationStore.find(orgId, on: sql), let role = principal.memberships[orgId] {
                    memberships.append((org, role))
                }
            }
            return Me(user: user, memberships: memberships, principal: principal)
        }
    }

    // MARK: sessions

    private func startSession(for user: User, caller: Caller, now: Date, on sql: any SQLDatabase) async throws -> (grant: TokenGrant, sessionId: UUID)
    {
        let secret = SecretToken.random()
        let expiresAt = now.addingTimeInterval(config.refreshTokenLifetime)
        let session = RefreshSession(
            id: IDGenerator.uuidV7(at: now), userId: user.id, tokenHash: SecretToken.sha256(secret),
            generation: 1, clientAddress: caller.origin.clientAddress,
            userAgent: caller.origin.userAgent.map { String($0.prefix(255)) },
            createdMs: now.epochMilliseconds, rotatedMs: now.epochMilliseconds, expiresMs: expiresAt.epochMilliseconds,
            revokedMs: nil, revokedReason: nil)
        try await sql.insert(session, into: "refresh_sessions")
        let access = try await tokens.sign(userId: user.id, sessionId: session.id, now: now)
        let grant = TokenGrant(
            accessToken: access.token, accessTokenExpiresAt: access.expiresAt,
            refreshToken: RefreshToken(sessionId: session.id, secret: secret).text,
            refreshTokenExpiresAt: expiresAt, user: user)
        return (grant, session.id)
    }
}

/// `<session id>.<secret>`: the session id finds the row, the secret proves possession.
struct RefreshToken {
    var sessionId: UUID
    var secret: String

    init(sessionId: UUID, secret: String) {
        self.sessionId = sessionId
        self.secret = secret
    }

    init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let id = UUID(uuidString: String(parts[0])), parts[1].count >= 20 else { return nil }
        self.init(sessionId: id, secret: String(parts[1]))
    }

    var text: String { "\(sessionId.uuidString.lowercased()).\(secret)" }
}

enum UserValidation {
    static func check(email: String?, username: String?, password: String?, into validator: inout Validator) -> (String, String, String) {
        let email = validator.requireText(email, "email", maxLength: 254).lowercased()
        if !email.isEmpty {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            validator.check(parts.count == 2 && !parts[0].isEmpty && parts[1].contains("."), "email", "is not an email address")
        }
        let username = validator.requireText(username, "username", maxLength: 64).lowercased()
        if !username.isEmpty {
            validator.check(
                username.count >= 3 && username.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) },
                "username", "must be 3–64 characters of letters, digits, '.', '_' or '-'")
        }
        let password = password ?? ""
        if password.isEmpty {
            validator.add("password", "is required")
        } else {
            validator.check(password.count >= 8, "password", "must be at least 8 characters")
            validator.check(password.utf8.count <= 72, "password", "must be at most 72 bytes (a bcrypt limit)")
        }
        return (email, username, password)
    }
}
