import Foundation

/// How a service scales itself between `min_replicas` and `max_replicas` (`autoscaling` on create or update).
package struct AutoscalePolicy: Sendable, Codable, Equatable {
    package enum Metric: String, Sendable, Codable, CaseIterable {
        /// Requests being answered at once, per replica (what a model server's batch size or worker count bounds).
        case concurrency
        /// Requests per second, per replica.
        case rps
    }

    package var metric: Metric
    /// The per-replica value the autoscaler steers toward.
    package var target: Double
    /// Recommendations of this window are taken at their highest before scaling up (0: at once).
    package var scaleUpWindowSeconds: Int
    /// Recommendations of this window are taken at their highest before scaling down, so that a dip does not remove
    /// replicas the next burst needs (the cause of oscillation).
    package var scaleDownWindowSeconds: Int

    enum CodingKeys: String, CodingKey {
        case metric, target
        case scaleUpWindowSeconds = "scale_up_window_seconds"
        case scaleDownWindowSeconds = "scale_down_window_seconds"
    }

    package init(metric: Metric, target: Double, scaleUpWindowSeconds: Int = 0, scaleDownWindowSeconds: Int = 120) {
        self.metric = metric
        self.target = target
        self.scaleUpWindowSeconds = scaleUpWindowSeconds
        self.scaleDownWindowSeconds = scaleDownWindowSeconds
    }
}

/// The replicas one service should have, from what the gateway observed, with stabilisation windows: each cycle
/// records a raw recommendation (observed load ÷ target per replica, rounded up, within the bounds); the count goes
/// up to the lowest recommendation of the scale-up window and down only to the highest of the scale-down window.
/// Load that swings inside the down window therefore holds the count at its peak instead of following each swing.
package struct Autoscaler: Sendable {
    private var history: [(at: Double, replicas: Int)] = []

    package init() {}

    /// The replicas wanted now, given the current count, the load observed (for the whole service), and the time in
    /// seconds; nil when nothing should change. The count reaches 0 only when the bounds allow it and the service
    /// has had no request for its whole scale-down window (`idle`): a light load that the sampled metric reads as 0
    /// keeps one replica.
    package mutating func decide(
        current: Int, observed: Double, policy: AutoscalePolicy, bounds: ClosedRange<Int>, now: Double, idle: Bool = false
    ) -> Int? {
        let raw = Int((observed / max(policy.target, 0.001)).rounded(.up))
        let floor = bounds.lowerBound == 0 && idle ? 0 : max(bounds.lowerBound, 1)
        let recommendation = min(max(raw, floor), bounds.upperBound)
        history.append((now, recommendation))
        let longest = Double(max(policy.scaleUpWindowSeconds, policy.scaleDownWindowSeconds))
        history.removeAll { now - $0.at > longest }
        func within(_ seconds: Int) -> [Int] { history.filter { now - $0.at <= Double(seconds) }.map(\.replicas) }
        // Up: only as far as the whole up window asked (a blip shorter than the window does not add replicas).
        let upTo = policy.scaleUpWindowSeconds == 0 ? recommendation : within(policy.scaleUpWindowSeconds).min() ?? recommendation
        if upTo > current { return upTo }
        let downTo = within(policy.scaleDownWindowSeconds).max() ?? recommendation
        if downTo < current { return downTo }
        return nil
    }
}
