import AITIPCore
import Foundation
import Logging

/// The principal (if authenticated) and where the request came from: what every use case needs for
/// authorization and for its audit record.
public struct Caller: Sendable {
    public var principal: Principal?
    public var origin: RequestOrigin
    /// The request's logger (its lines carry the request id); nil outside a request.
    public var logger: Logger?

    public init(principal: Principal?, origin: RequestOrigin, logger: Logger? = nil) {
        self.principal = principal
        self.origin = origin
        self.logger = logger
    }

    public func requirePrincipal() throws(AppError) -> Principal {
        guard let principal else { throw AppError.unauthorized("Sign in or send an API key") }
        return principal
    }
}

public struct IdentityConfig: Sendable {
    public enum Registration: String, Sendable, CaseIterable {
        case open, closed
    }

    public var accessTokenLifetime: TimeInterval
    public var refreshTokenLifetime: TimeInterval
    public var registration: Registration
    public var bcryptCost: UInt8

    public init(accessTokenLifetime: TimeInterval = 15 * 60, refreshTokenLifetime: TimeInterval = 30 * 24 * 3600,
                registration: Registration = .closed, bcryptCost: UInt8 = 12) {
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.registration = registration
        self.bcryptCost = bcryptCost
    }
}
