import AITIPCore
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// How long a client may keep a connection busy without making progress.
package struct ConnectionTimeouts: Sendable {
    /// A connection with no request in progress, or a request whose head or body stops arriving, is closed after this.
    package var idle: TimeAmount
    /// A request body must arrive at this average rate (bytes/s) once `bodyGrace` has passed, or it is refused (408).
    package var minimumBodyRate: Int
    package var bodyGrace: Duration

    package init(idle: TimeAmount = .seconds(60), minimumBodyRate: Int = 1_024, bodyGrace: Duration = .seconds(30)) {
        self.idle = idle
        self.minimumBodyRate = minimumBodyRate
        self.bodyGrace = bodyGrace
    }
}

/// The HTTP/1.1 server with the WebSocket upgrade (`WS /ws/training/{id}/logs`) and the connection timeouts: the
/// first request's head must arrive within `idle` (NIO's upgrade handler holds it until it is whole, before
/// Hummingbird's idle timer starts), and Hummingbird's idle timer covers everything after it.
package func serverBuilder(_ dependencies: ServerDependencies) -> HTTPServerBuilder {
    let timeouts = dependencies.limits.timeouts
    let shouldUpgrade = LogWebSocket.shouldUpgrade(dependencies)
    return HTTPServerBuilder { responder in
        FirstHeadDeadlineChannel(
            deadline: timeouts.idle,
            inner: HTTP1WebSocketUpgradeChannel(
                responder: responder, configuration: .init(http1: .init(idleTimeout: timeouts.idle), ws: .init()), shouldUpgrade: shouldUpgrade))
    }
}

/// Puts `FirstHeadDeadlineHandler` in front of another child channel's pipeline, and runs the connection's requests
/// on the connection's own event loop (see `EventLoopTaskExecutor`).
struct FirstHeadDeadlineChannel<Inner: ServerChildChannel>: ServerChildChannel {
    let deadline: TimeAmount
    let inner: Inner

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FirstHeadDeadlineHandler(deadline: deadline), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await inner.handle(value: value, logger: logger)
        }
    }
}

/// Runs a connection's task on the event loop that reads and writes its socket. Left to the global executor, every
/// request crosses threads twice (the event loop hands the request to a pool thread, which hands the response back):
/// 5 context switches a request there, 1 here (docs/benchmarks.md). Handlers do not block for long: SQLite statements
/// run on the calling thread either way, and everything else awaits.
package final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    package init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}

/// Closes a connection whose first request head (up to its blank line) has not arrived within `deadline` of the
/// connection opening; then leaves the pipeline.
final class FirstHeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let deadline: TimeAmount
    private var timer: Scheduled<Void>?
    /// The last bytes seen, to find "\r\n\r\n" split across reads.
    private var tail: [UInt8] = []

    init(deadline: TimeAmount) {
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let bytes = tail + buffer.readableBytesView
        let complete =
            bytes.count >= 4
            && (0...(bytes.count - 4)).contains { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }
        tail = Array(bytes.suffix(3))
        context.fireChannelRead(data)
        if complete {
            timer?.cancel()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// Refuses a request body that trickles in: once `bodyGrace` has passed, the bytes received so far must average
/// at least `minimumBodyRate` per second. (A body that stops arriving altogether is closed by the idle timeout.)
package struct MinimumBodyRateMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let timeouts: ConnectionTimeouts

    package init(timeouts: ConnectionTimeouts) {
        self.timeouts = timeouts
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard timeouts.minimumBodyRate > 0, request.method != .get, request.method != .head else { return try await next(request, context) }
        var request = request
        let body = request.body
        request.body = RequestBody(asyncSequence: RateGuardedBody(base: body, timeouts: timeouts))
        return try await next(request, context)
    }
}

struct RateGuardedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let timeouts: ConnectionTimeouts

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let timeouts: ConnectionTimeouts
        let start = ContinuousClock.now
        var received = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            received += chunk.readableBytes
            let elapsed = ContinuousClock.now - start
            if elapsed > timeouts.bodyGrace {
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                if Double(received) / seconds < Double(timeouts.minimumBodyRate) {
                    throw AppError(
                        .timeout,
                        "The request body arrives slower than \(timeouts.minimumBodyRate) bytes per second; send it faster, or in smaller requests")
                }
            }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), timeouts: timeouts)
    }
}
