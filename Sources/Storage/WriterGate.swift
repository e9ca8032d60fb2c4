import Synchronization

/// Lets one SQLite write transaction run at a time inside this process, waiting asynchronously.
///
/// SQLite has a single writer. Without this gate, waiting writers would each park a thread of NIO's small
/// blocking pool inside SQLite's busy handler, and the writer holding the lock could find no thread left to
/// commit on. Other processes (e.g. `aitip migrate` beside a server) still meet the busy timeout.
final class WriterGate: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func withPermit<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    // Never inlined, for the reason PoolMetrics gives: `withPermit` awaits between the two.
    @inline(never)
    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.busy {
                    state.waiters.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if granted { continuation.resume() }
        }
    }

    @inline(never)
    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
