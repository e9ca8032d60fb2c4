import Synchronization

/// Connection pool figures, read by `/metrics` at scrape time: connections in use, the pool size, and how many
/// connections were handed out and how long callers waited for them in total.
package final class PoolMetrics: Sendable {
    package struct Figures: Sendable, Equatable {
        package var inUse: Int
        package var capacity: Int
        package var acquisitions: Int
        package var waitSeconds: Double
    }

    private let state: Mutex<Figures>

    init(capacity: Int) {
        state = Mutex(Figures(inUse: 0, capacity: capacity, acquisitions: 0, waitSeconds: 0))
    }

    var figures: Figures { state.withLock { $0 } }

    // Never inlined. Inlined into an async caller that awaits between the two (`Database.transaction`), the thread id
    // Mutex caches in thread-local storage was read once for both, and a task that resumed on another thread failed
    // Mutex's unlock check: a crash seen in a release build when a transaction resumed on another thread.
    @inline(never)
    func acquired(after wait: Duration) {
        let (seconds, attoseconds) = wait.components
        state.withLock { figures in
            figures.inUse += 1
            figures.acquisitions += 1
            figures.waitSeconds += Double(seconds) + Double(attoseconds) / 1e18
        }
    }

    @inline(never)
    func released() {
        state.withLock { $0.inUse -= 1 }
    }
}
