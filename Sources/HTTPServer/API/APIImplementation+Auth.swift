import AITIPAPI
import AITIPCore
import Foundation
import Identity

extension APIImplementation {
    func register(_ input: Operations.Register.Input) async throws -> Operations.Register.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let (user, org) = try await dependencies.auth.register(
            RegistrationInput(
                email: body.email, username: body.username, password: body.password,
                organizationName: body.organizationName), caller: caller)
        return .created(.init(body: .json(.init(user: .init(user), organization: .init(org)))))
    }

    func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let grant = try await dependencies.auth.login(body.username, password: body.password, caller: caller)
        return .ok(.init(body: .json(tokenResponse(grant, asCookie: body.sessionCookie == true))))
    }

    func refreshToken(_ input: Operations.RefreshToken.Input) async throws -> Operations.RefreshToken.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let cookie = RequestScope.sessionCookie
        let fromCookie = body.refreshToken == nil && cookie.refreshToken != nil
        let grant = try await dependencies.auth.refresh(body.refreshToken ?? cookie.refreshToken, caller: caller)
        // A session that lives in the cookie stays there, so the page never sees its refresh token.
        return .ok(.init(body: .json(tokenResponse(grant, asCookie: body.sessionCookie == true || fromCookie))))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        var refreshToken: String?
        if case .json(let body) = input.body { refreshToken = body.refreshToken }
        let cookie = RequestScope.sessionCookie
        try await dependencies.auth.logout(refreshToken: refreshToken ?? cookie.refreshToken, caller: caller)
        if cookie.refreshToken != nil { cookie.clear() }
        return .noContent(.init())
    }

    func changePassword(_ input: Operations.ChangePassword.Input) async throws -> Operations.ChangePassword.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        try await dependencies.auth.changePassword(current: body.currentPassword, new: body.newPassword, caller: caller)
        return .noContent(.init())
    }

    func listSessions(_ input: Operations.ListSessions.Input) async throws -> Operations.ListSessions.Output {
        let sessions = try await dependencies.auth.sessions(caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: sessions.map {
                            .init(
                                id: $0.id.lowercasedString, createdAt: $0.createdAt, lastUsedAt: $0.lastUsedAt, expiresAt: $0.expiresAt,
                                clientAddress: $0.clientAddress, userAgent: $0.userAgent, current: $0.current)
                        }))))
    }

    func revokeSession(_ input: Operations.RevokeSession.Input) async throws -> Operations.RevokeSession.Output {
        try await dependencies.auth.revokeSession(try Parse.id(input.path.sessionId, "session_id"), caller: caller)
        return .noContent(.init())
    }

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        let me = try await dependencies.auth.me(caller)
        let memberships = me.memberships.map { membership in
            Components.Schemas.MembershipSummary(
                organization: .init(membership.organization),
                role: Components.Schemas.Role(rawValue: membership.role.rawValue)!,
                permissions: me.principal.permissions(in: membership.organization.id).map(\.description).sorted())
        }
        let auth: Components.Schemas.Me.AuthPayload
        switch me.principal.credential {
        case .session:
            auth = .init(method: .session)
        case .apiKey(let id, let orgId, _):
            auth = .init(method: .apiKey, apiKeyId: id.lowercasedString, orgId: orgId.lowercasedString)
        }
        return .ok(.init(body: .json(.init(user: .init(me.user), memberships: memberships, auth: auth))))
    }

    func listApiKeys(_ input: Operations.ListApiKeys.Input) async throws -> Operations.ListApiKeys.Output {
        let page = try await dependencies.apiKeys.list(caller, page: Parse.page(limit: input.query.limit, cursor: input.query.cursor))
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.ApiKey.init), nextCursor: page.nextCursor))))
    }

    func createApiKey(_ input: Operations.CreateApiKey.Input) async throws -> Operations.CreateApiKey.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let created = try await dependencies.apiKeys.create(
            APIKeyInput(
                name: body.name, orgId: try Parse.optionalId(body.orgId, "org_id"), scopes: body.scopes,
                expiresAt: body.expiresAt), caller: caller)
        return .created(.init(body: .json(.init(value1: .init(created.key), value2: .init(key: created.secret)))))
    }

    func revokeApiKey(_ input: Operations.RevokeApiKey.Input) async throws -> Operations.RevokeApiKey.Output {
        let key = try await dependencies.apiKeys.revoke(try Parse.id(input.path.keyId, "key_id"), caller: caller)
        return .ok(.init(body: .json(.init(key))))
    }

    /// The token answer; with `asCookie` the refresh token goes into the session cookie instead of the body.
    private func tokenResponse(_ grant: TokenGrant, asCookie: Bool) -> Components.Schemas.TokenResponse {
        if asCookie { RequestScope.sessionCookie.set(grant.refreshToken, expires: grant.refreshTokenExpiresAt, now: Date()) }
        return Components.Schemas.TokenResponse(
            accessToken: grant.accessToken, tokenType: .bearer, expiresIn: max(0, Int(grant.accessTokenExpiresAt.timeIntervalSinceNow.rounded())),
            expiresAt: grant.accessTokenExpiresAt, refreshToken: asCookie ? nil : grant.refreshToken, refreshExpiresAt: grant.refreshTokenExpiresAt,
            user: .init(grant.user))
    }
}
