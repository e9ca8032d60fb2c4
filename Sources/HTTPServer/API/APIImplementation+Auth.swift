import AITIPAPI
import AITIPCore
import Foundation
import Identity

extension APIImplementation {
    func register(_ input: Operations.Register.Input) async throws -> Operations.Register.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let (user, org) = try await dependencies.auth.register(
            RegistrationInput(email: body.email, username: body.username, password: body.password,
                              organizationName: body.organizationName), caller: caller)
        return .created(.init(body: .json(.init(user: .init(user), organization: .init(org)))))
    }

    func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let grant = try await dependencies.auth.login(body.username, password: body.password, caller: caller)
        return .ok(.init(body: .json(tokenResponse(grant))))
    }

    func refreshToken(_ input: Operations.RefreshToken.Input) async throws -> Operations.RefreshToken.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let grant = try await dependencies.auth.refresh(body.refreshToken, caller: caller)
        return .ok(.init(body: .json(tokenResponse(grant))))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        var refreshToken: String?
        if case .json(let body) = input.body { refreshToken = body.refreshToken }
        try await dependencies.auth.logout(refreshToken: refreshToken, caller: caller)
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
            APIKeyInput(name: body.name, orgId: try Parse.optionalId(body.orgId, "org_id"), scopes: body.scopes,
                        expiresAt: body.expiresAt), caller: caller)
        return .created(.init(body: .json(.init(value1: .init(created.key), value2: .init(key: created.secret)))))
    }

    func revokeApiKey(_ input: Operations.RevokeApiKey.Input) async throws -> Operations.RevokeApiKey.Output {
        let key = try await dependencies.apiKeys.revoke(try Parse.id(input.path.keyId, "key_id"), caller: caller)
        return .ok(.init(body: .json(.init(key))))
    }

    private func tokenResponse(_ grant: TokenGrant) -> Components.Schemas.TokenResponse {
        .init(accessToken: grant.accessToken, tokenType: .bearer,
              expiresIn: max(0, Int(grant.accessTokenExpiresAt.timeIntervalSinceNow.rounded())),
              expiresAt: grant.accessTokenExpiresAt, refreshToken: grant.refreshToken,
              refreshExpiresAt: grant.refreshTokenExpiresAt, user: .init(grant.user))
    }
}
