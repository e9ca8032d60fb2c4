import AITIPCore
import Foundation
import Logging

/// The principal (if authenticated) and where the request came from: what every use case needs for
/// authorization and for its audit record.
package struct Caller: Sendable {
    package var principal: Principal?
    package var origin: RequestOrigin
    /// The request's logger (its lines carry the request id); nil outside a request.
    package var logger: Logger?

    package init(principal: Principal?, origin: RequestOrigin, logger: Logger? = nil) {
        self.principal = principal
        self.origin = origin
        self.logger = logger
    }

    package func requirePrincipal() throws(AppError) -> Principal {
        guard let principal else { throw AppError.unauthorized("Sign in or send an API key") }
        return principal
    }
}

package struct IdentityConfig: Sendable {
    package enum Registration: String, Sendable, CaseIterable {
        case open, closed
    }

    package var accessTokenLifetime: TimeInterval
    package var refreshTokenLifetime: TimeInterval
    package var registration: Registration
    package var bcryptCost: UInt8

    package init(
        accessTokenLifetime: TimeInterval = 15 * 60, refreshTokenLifetime: TimeInterval = 30 * 24 * 3600,
        registration: Registration = .closed, bcryptCost: UInt8 = 12
    ) {
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.registration = registration
        self.bcryptCost = bcryptCost
    }
}
