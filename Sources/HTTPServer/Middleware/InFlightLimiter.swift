import Synchronization

/// How many requests each key (a user or an API key) has in flight, capped. A client that waits for each answer
/// before it sends the next (a training loop) holds one; a sweep of 32 loops, 32. A flood of parallel requests from
/// one credential gets `429` beyond the cap instead of taking every worker of the server. In memory, per replica.
package final class InFlightLimiter: Sendable {
    package let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    /// `limit` 0 disables the cap.
    package init(limit: Int) {
        self.limit = limit
    }

    /// Counts one more request for `key`; false (and nothing counted) when `key` already has `limit` in flight.
    ///
    /// Never inlined, nor is `leave`: the caller awaits the request between the two, and inlined there the thread id
    /// Mutex caches in thread-local storage could be reused after the task resumed on another thread (the crash
    /// `PoolMetrics` describes).
    @inline(never)
    package func enter(_ key: String) -> Bool {
        guard limit > 0 else { return true }
        return counts.withLock { counts in
            let current = counts[key, default: 0]
            guard current < limit else { return false }
            counts[key] = current + 1
            return true
        }
    }

    /// The request `enter` counted has been answered.
    @inline(never)
    package func leave(_ key: String) {
        guard limit > 0 else { return }
        counts.withLock { counts in
            let remaining = counts[key, default: 1] - 1
            counts[key] = remaining > 0 ? remaining : nil
        }
    }

    package func inFlight(_ key: String) -> Int { counts.withLock { $0[key, default: 0] } }
}
