import HTTPServer
import NIOCore
import NIOPosix
import Testing

@Suite("Event-loop task executor")
struct EventLoopTaskExecutorTests {
    @Test("a connection's task runs on its event loop, before and after it awaits, and so do its child tasks, not the tasks it starts")
    func staysOnTheLoop() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let seen = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            var seen = [loop.inEventLoop]
            try? await Task.sleep(for: .milliseconds(2))
            seen.append(loop.inEventLoop)
            async let child = loop.inEventLoop
            seen.append(await child)
            await Task.yield()
            seen.append(loop.inEventLoop)
            seen.append(await Task { loop.inEventLoop }.value)
            return seen
        }
        #expect(seen == [true, true, true, true, false])
        #expect(!loop.inEventLoop)
    }
}
