import Foundation
import Gateway

/// One interval's verdict on the canary against the stable version, from the gateway's counts at the interval's
/// start and end (`VersionStats.Snapshot`). Argo Rollouts' three outcomes: a verdict that cannot be reached (too few
/// canary requests, or counters that went back because the server restarted) is `inconclusive`, never a pass.
package enum CanaryAnalysis {
    package enum Verdict: Sendable, Equatable {
        case passed(String)
        case failed(String)
        case inconclusive(String)
    }

    /// What one version did in the interval.
    package struct Window: Sendable, Equatable {
        package var requests: Int
        package var errors: Int
        package var p99Ms: Double?

        package var errorRate: Double { requests == 0 ? 0 : Double(errors) / Double(requests) }

        package init(requests: Int, errors: Int, p99Ms: Double?) {
            self.requests = requests
            self.errors = errors
            self.p99Ms = p99Ms
        }
    }

    /// The difference of two snapshots of one version; nil when the later one counts less (the counters restarted).
    package static func window(from start: VersionStats.Snapshot, to end: VersionStats.Snapshot) -> Window? {
        guard end.requests >= start.requests, end.errors >= start.errors, end.buckets.count == start.buckets.count else { return nil }
        let buckets = zip(end.buckets, start.buckets).map { $0 - $1 }
        guard buckets.allSatisfy({ $0 >= 0 }) else { return nil }
        return Window(requests: end.requests - start.requests, errors: end.errors - start.errors, p99Ms: VersionStats.percentile(0.99, buckets))
    }

    package static func judge(canary: Window?, stable: Window?, policy: AnalysisPolicy) -> Verdict {
        guard let canary, let stable else { return .inconclusive("the gateway's counters restarted during the interval") }
        guard canary.requests >= policy.minRequests else {
            return .inconclusive("the canary had \(canary.requests) requests, fewer than the \(policy.minRequests) a verdict needs")
        }
        let rate = String(format: "%.1f %%", canary.errorRate * 100)
        if canary.errorRate > policy.maxErrorRate {
            return .failed(
                "the canary's error rate \(rate) (\(canary.errors) of \(canary.requests)) is over \(String(format: "%.1f %%", policy.maxErrorRate * 100))"
            )
        }
        if let canaryP99 = canary.p99Ms, let stableP99 = stable.p99Ms, stable.requests >= policy.minRequests,
            canaryP99 > stableP99 * policy.maxLatencyRatio
        {
            return .failed(
                "the canary's p99 latency \(format(canaryP99)) ms is over \(format(policy.maxLatencyRatio))× the stable's \(format(stableP99)) ms")
        }
        return .passed("\(canary.requests) canary requests, error rate \(rate), p99 \(canary.p99Ms.map(format) ?? "–") ms")
    }

    static func format(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value) }
}
