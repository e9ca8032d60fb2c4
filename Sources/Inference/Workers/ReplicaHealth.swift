import Foundation
import Gateway
import Synchronization

/// What the reconciler's checks found of each replica on this server: where it listens, whether it is ready, and
/// how many checks in a row it has failed. In memory: after a restart every replica is checked again before it takes
/// a request.
package final class ReplicaHealth: Sendable {
    struct Entry {
        var socketPath: String
        var ready = false
        var failures = 0
        /// When the current run of failed checks began.
        var failingSince: ContinuousClock.Instant?
    }

    private let entries = Mutex<[UUID: Entry]>([:])

    package init() {}

    func isReady(_ id: UUID) -> Bool { entries.withLock { $0[id]?.ready ?? false } }

    /// The replica as the gateway reaches it, when ready.
    func endpoint(_ id: UUID) -> TrafficSplit.Replica? {
        entries.withLock { entries in
            entries[id].flatMap { $0.ready ? TrafficSplit.Replica(id: id, socketPath: $0.socketPath) : nil }
        }
    }

    /// Records a check; answers whether the replica is ready now, the failures in a row and for how long they have
    /// been failing.
    func record(_ id: UUID, socketPath: String, passed: Bool, now: ContinuousClock.Instant = .now) -> (
        ready: Bool, failures: Int, failingFor: Duration
    ) {
        entries.withLock { entries in
            var entry = entries[id] ?? Entry(socketPath: socketPath)
            entry.socketPath = socketPath
            if passed {
                entry.ready = true
                entry.failures = 0
                entry.failingSince = nil
            } else {
                entry.failures += 1
                entry.failingSince = entry.failingSince ?? now
            }
            entries[id] = entry
            return (entry.ready, entry.failures, entry.failingSince.map { now - $0 } ?? .zero)
        }
    }

    func markUnready(_ id: UUID) {
        entries.withLock { $0[id]?.ready = false }
    }

    func forget(_ id: UUID) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }
}
