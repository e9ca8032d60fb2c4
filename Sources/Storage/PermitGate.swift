import Synchronization

/// Lets at most `permits` callers in at a time, the others waiting asynchronously in arrival order.
///
/// SQLite's connections (`SQLiteConnections`) run their statements on the caller's thread: one permit for the single
/// writer, so a waiting writer never sits in SQLite's busy handler holding a thread, and one per reader connection.
final class PermitGate: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(permits: Int) {
        state = Mutex(State(free: permits))
    }

    func withPermit<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    // Never inlined. Inlined into `withPermit`, which awaits between the two, the thread id Mutex caches in thread-local
    // storage was read once for both, and a task that resumed on another thread failed Mutex's unlock check.
    @inline(never)
    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                guard state.free > 0 else {
                    state.waiters.append(continuation)
                    return false
                }
                state.free -= 1
                return true
            }
            if granted { continuation.resume() }
        }
    }

    /// Hands the permit straight to the first waiter, if any.
    @inline(never)
    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
