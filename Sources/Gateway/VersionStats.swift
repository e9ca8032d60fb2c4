import Foundation
import Synchronization

/// What the gateway saw of one version (one inference service): requests, errors, a latency histogram for the
/// percentiles, and per-second counts of the last minute for the request rate. Kept in memory on the server that
/// answers; `/metrics` has the same figures as Prometheus series.
package final class VersionStats: Sendable {
    /// Upper bounds of the latency buckets in milliseconds (the last bucket is everything slower).
    static let boundsMs: [Double] = [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 75, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000]
    static let windowSeconds = 60

    private struct State {
        var requests = 0
        var errors = 0
        var buckets = [Int](repeating: 0, count: VersionStats.boundsMs.count + 1)
        /// Requests per second of the last minute: the second's epoch number and its count, in a ring.
        var seconds = [(second: Int, count: Int)](repeating: (-1, 0), count: VersionStats.windowSeconds)
    }

    private let state = Mutex(State())

    /// One answered request: `milliseconds` until the replica's answer began; `failed` for a 5xx or no answer.
    func record(milliseconds: Double, failed: Bool, at now: Date = Date()) {
        let bucket = Self.boundsMs.firstIndex { milliseconds <= $0 } ?? Self.boundsMs.count
        let second = Int(now.timeIntervalSince1970)
        state.withLock { state in
            state.requests += 1
            if failed { state.errors += 1 }
            state.buckets[bucket] += 1
            let slot = second % Self.windowSeconds
            if state.seconds[slot].second != second { state.seconds[slot] = (second, 0) }
            state.seconds[slot].count += 1
        }
    }

    package struct Snapshot: Sendable, Equatable {
        package var requests: Int
        package var errors: Int
        /// Requests per second over the last 10 seconds.
        package var requestsPerSecond: Double
        /// Latency percentiles in milliseconds (upper bound of the bucket the percentile falls in); nil before any request.
        package var p50Ms: Double?
        package var p95Ms: Double?
        package var p99Ms: Double?
        /// Requests per latency bucket (`boundsMs`, then everything slower): what windowed percentiles are made of.
        package var buckets: [Int]

        package init(requests: Int, errors: Int, requestsPerSecond: Double, p50Ms: Double?, p95Ms: Double?, p99Ms: Double?, buckets: [Int]) {
            self.requests = requests
            self.errors = errors
            self.requestsPerSecond = requestsPerSecond
            self.p50Ms = p50Ms
            self.p95Ms = p95Ms
            self.p99Ms = p99Ms
            self.buckets = buckets
        }
    }

    package func snapshot(at now: Date = Date()) -> Snapshot {
        let second = Int(now.timeIntervalSince1970)
        return state.withLock { state in
            // The current second is still filling: the rate is over the 10 whole seconds before it.
            let recent = state.seconds.filter { $0.second < second && $0.second >= second - 10 }.reduce(0) { $0 + $1.count }
            return Snapshot(
                requests: state.requests, errors: state.errors, requestsPerSecond: Double(recent) / 10,
                p50Ms: Self.percentile(0.50, state.buckets), p95Ms: Self.percentile(0.95, state.buckets),
                p99Ms: Self.percentile(0.99, state.buckets), buckets: state.buckets)
        }
    }

    package static func percentile(_ fraction: Double, _ buckets: [Int]) -> Double? {
        let total = buckets.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = Int((Double(total) * fraction).rounded(.up))
        var seen = 0
        for (index, count) in buckets.enumerated() {
            seen += count
            if seen >= rank { return index < boundsMs.count ? boundsMs[index] : boundsMs.last! * 2 }
        }
        return nil
    }
}
