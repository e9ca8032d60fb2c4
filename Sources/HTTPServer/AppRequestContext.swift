import AITIPCore
import Foundation
import Hummingbird
import Identity
import Logging
import NIOCore
import Synchronization

/// Per-request facts only: the request id, the peer address, and (after authentication) the caller.
package struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let remoteAddress: SocketAddress?
    package var requestId: String = ""
    package var principal: Principal?
    /// Whether the body is in memory (`BodyLimitMiddleware` collected it), so that a later reader may read it again;
    /// a streamed upload can be read once, by its handler.
    package var bodyCollected = false

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    package var clientAddress: String? { remoteAddress?.ipAddress }
}

/// The caller of the request being handled, for the generated OpenAPI handlers, which receive no Hummingbird
/// context. Set by `AuthenticationMiddleware` for the duration of the request's task.
package enum RequestScope {
    @TaskLocal package static var caller: Caller = Caller(principal: nil, origin: .system)
    /// The bearer token or API key the request authenticated with (the agent API acts with it, and nothing more).
    @TaskLocal package static var bearer: String?
    /// The browser session cookie (`SessionCookie`) of the request, if it sent one, and the one to send back.
    @TaskLocal package static var sessionCookie: SessionCookie.Exchange = .init(received: nil, secure: false)
}

/// The refresh token of a browser session, kept in an HttpOnly, SameSite=Strict cookie that only `/api/v1/auth`
/// routes receive, so the page's scripts never hold it (an injected script could otherwise steal a 30-day credential).
package enum SessionCookie {
    package static let name = "aitip_refresh"
    static let path = "/api/v1/auth"

    /// One request's cookie: the refresh token it brought, and the `Set-Cookie` value a handler chose to answer
    /// with. AuthenticationMiddleware writes that header itself: the generated server percent-encodes header values,
    /// which would turn a cookie's `=` and `;` into `%3D` and `%3B`.
    package final class Exchange: Sendable {
        package let refreshToken: String?
        /// The request came over https (an https proxy says so with X-Forwarded-Proto): the cookie is marked Secure.
        package let secure: Bool
        private let answer = Mutex<String?>(nil)

        init(received refreshToken: String?, secure: Bool) {
            self.refreshToken = refreshToken
            self.secure = secure
        }

        var setCookie: String? { answer.withLock { $0 } }

        /// Answers with a fresh cookie holding `refreshToken`.
        func set(_ refreshToken: String, expires: Date, now: Date) {
            answer.withLock {
                $0 =
                    "\(name)=\(refreshToken); Path=\(path); Max-Age=\(max(0, Int(expires.timeIntervalSince(now)))); HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")"
            }
        }

        /// Answers with the cookie expired (signed out).
        func clear() {
            answer.withLock { $0 = "\(name)=; Path=\(path); Max-Age=0; HttpOnly; SameSite=Strict\(secure ? "; Secure" : "")" }
        }
    }

    static func exchange(cookieHeader: String?, forwardedProto: String?) -> Exchange {
        let token = cookieHeader?.split(separator: ";").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        return Exchange(received: token.flatMap { $0.isEmpty ? nil : $0 }, secure: forwardedProto?.lowercased() == "https")
    }
}
