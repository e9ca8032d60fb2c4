import Foundation
import Synchronization

/// Token buckets by key: `burst` requests at once, refilled at `ratePerSecond`. In memory, so limits are per
/// replica (docs/operations.md). The API's per-caller limits and the gateway's per-service ones are both made of it.
package final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    package let ratePerSecond: Double
    package let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    private static let maxTrackedKeys = 100_000

    package init(ratePerSecond: Double, burst: Double) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
    }

    /// Takes one token for `key`; returns nil when allowed, else the seconds until a token is available.
    package func acquire(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard ratePerSecond > 0 else { return nil }
        return buckets.withLock { buckets in
            if buckets.count > Self.maxTrackedKeys { prune(&buckets, now: now) }
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * ratePerSecond)
            bucket.updated = now
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                return nil
            }
            buckets[key] = bucket
            return Self.secondsUntilToken(bucket.tokens, ratePerSecond)
        }
    }

    /// Like `acquire`, but takes nothing: the seconds until `key` has a token again, nil when it has one now.
    package func peek(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        guard ratePerSecond > 0 else { return nil }
        return buckets.withLock { buckets in
            guard let bucket = buckets[key] else { return nil }
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let tokens = min(burst, bucket.tokens + seconds * ratePerSecond)
            return tokens >= 1 ? nil : Self.secondsUntilToken(tokens, ratePerSecond)
        }
    }

    /// Whole seconds, at least 1 and at most a day: a tiny rate would otherwise overflow the conversion to Int.
    private static func secondsUntilToken(_ tokens: Double, _ ratePerSecond: Double) -> Int {
        Int(min(max(((1 - tokens) / ratePerSecond).rounded(.up), 1), 86_400))
    }

    /// Forgets buckets that have refilled completely: they behave exactly like new ones.
    private func prune(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        let refillTime = Duration.seconds(burst / ratePerSecond)
        buckets = buckets.filter { now - $0.value.updated < refillTime }
    }
}
