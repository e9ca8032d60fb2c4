import AITIPCore
import Hummingbird
import Identity
import Logging
import NIOCore

/// Per-request facts only: the request id, the peer address, and (after authentication) the caller.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var requestId: String = ""
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var clientAddress: String? { remoteAddress?.ipAddress }
}

/// The caller of the request being handled, for the generated OpenAPI handlers, which receive no Hummingbird
/// context. Set by `AuthenticationMiddleware` for the duration of the request's task.
public enum RequestScope {
    @TaskLocal public static var caller: Caller = Caller(principal: nil, origin: .system)
}
