import AITIPCore
import Foundation
import Synchronization

/// Remembers who a credential belongs to for a moment, so a burst of requests with one token or key costs one
/// database lookup instead of one each. Changes made through this replica (logout, key revocation, membership and
/// role changes) drop the affected user's entries at once; other replicas see them within `ttl`.
package final class PrincipalCache: Sendable {
    private struct Entry {
        var principal: Principal
        var expires: Date
    }

    package let ttl: TimeInterval
    private let clock: any Clock
    private let entries = Mutex<[String: Entry]>([:])
    private static let maxEntries = 50_000

    package init(ttl: TimeInterval, clock: any Clock) {
        self.ttl = ttl
        self.clock = clock
    }

    func principal(for key: String) -> Principal? {
        guard ttl > 0 else { return nil }
        let now = clock.now()
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expires <= now {
                entries[key] = nil
                return nil
            }
            return entry.principal
        }
    }

    func remember(_ principal: Principal, for key: String) {
        guard ttl > 0 else { return }
        let now = clock.now()
        entries.withLock { entries in
            if entries.count >= Self.maxEntries { entries = entries.filter { $0.value.expires > now } }
            if entries.count < Self.maxEntries { entries[key] = Entry(principal: principal, expires: now.addingTimeInterval(ttl)) }
        }
    }

    /// Forgets every credential of one user: after their roles, memberships, sessions or keys changed.
    package func forget(userId: UUID) {
        entries.withLock { entries in entries = entries.filter { $0.value.principal.userId != userId } }
    }

    /// Forgets everything: after a change that touches many users at once (an organization deleted).
    package func forgetAll() {
        entries.withLock { $0.removeAll() }
    }
}
