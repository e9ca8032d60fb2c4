import Foundation

/// What a metric must reach for an evaluation to pass (MLflow's `MetricThreshold`): an absolute bound, and a least
/// improvement over the baseline, absolute and relative. `greaterIsBetter` defaults to the benchmark's direction.
package struct MetricThreshold: Sendable, Codable, Equatable {
    package var threshold: Double?
    package var minAbsoluteChange: Double?
    package var minRelativeChange: Double?
    package var greaterIsBetter: Bool?

    package init(threshold: Double? = nil, minAbsoluteChange: Double? = nil, minRelativeChange: Double? = nil, greaterIsBetter: Bool? = nil) {
        self.threshold = threshold
        self.minAbsoluteChange = minAbsoluteChange
        self.minRelativeChange = minRelativeChange
        self.greaterIsBetter = greaterIsBetter
    }

    /// Whether it compares with a baseline (an evaluation without one cannot decide it).
    package var needsBaseline: Bool { minAbsoluteChange != nil || minRelativeChange != nil }

    enum CodingKeys: String, CodingKey {
        case threshold
        case minAbsoluteChange = "min_absolute_change"
        case minRelativeChange = "min_relative_change"
        case greaterIsBetter = "greater_is_better"
    }
}

/// The gate's verdict: passed only when every metric with a threshold passed, with the reason for each.
package struct GateVerdict: Sendable, Codable, Equatable {
    package var passed: Bool
    package var checks: [Check]

    package struct Check: Sendable, Codable, Equatable {
        package var metric: String
        package var passed: Bool
        package var reason: String
    }

    /// Decides each threshold on the candidate's values and, for changes, the baseline's. `directions` says which
    /// metrics are better higher (the benchmark's, or what a script's result declared); a threshold's own
    /// `greater_is_better` wins, and a metric known nowhere is better higher.
    package static func decide(
        _ thresholds: [String: MetricThreshold], directions: [String: Bool], candidate: [String: MetricValue], baseline: [String: MetricValue]?
    ) -> GateVerdict {
        var checks: [Check] = []
        for (metric, threshold) in thresholds.sorted(by: { $0.key < $1.key }) {
            let greater = threshold.greaterIsBetter ?? directions[metric] ?? true
            guard let value = candidate[metric]?.value else {
                checks.append(Check(metric: metric, passed: false, reason: "\(metric) was not computed"))
                continue
            }
            var failures: [String] = []
            var passes: [String] = []
            if let bound = threshold.threshold {
                let ok = greater ? value >= bound : value <= bound
                (ok ? { passes.append($0) } : { failures.append($0) })(
                    "\(metric) \(format(value)) \(ok ? (greater ? "≥" : "≤") : (greater ? "<" : ">")) threshold \(format(bound))")
            }
            if threshold.needsBaseline {
                guard let base = baseline?[metric]?.value else {
                    failures.append("no baseline value of \(metric) to compare with")
                    checks.append(Check(metric: metric, passed: false, reason: failures.joined(separator: "; ")))
                    continue
                }
                // The change in the better direction: positive is an improvement.
                let improvement = greater ? value - base : base - value
                if let least = threshold.minAbsoluteChange {
                    let ok = improvement >= least
                    (ok ? { passes.append($0) } : { failures.append($0) })(
                        "improvement over the baseline's \(format(base)) is \(signed(improvement)) (\(ok ? "≥" : "<") min_absolute_change \(format(least)))"
                    )
                }
                if let least = threshold.minRelativeChange {
                    let relative = base != 0 ? improvement / abs(base) : (improvement > 0 ? Double.infinity : 0)
                    let ok = relative >= least
                    (ok ? { passes.append($0) } : { failures.append($0) })(
                        "relative improvement over the baseline's \(format(base)) is \(signed(relative)) (\(ok ? "≥" : "<") min_relative_change \(format(least)))"
                    )
                }
            }
            checks.append(Check(metric: metric, passed: failures.isEmpty, reason: (failures.isEmpty ? passes : failures).joined(separator: "; ")))
        }
        return GateVerdict(passed: checks.allSatisfy(\.passed), checks: checks)
    }

    static func format(_ value: Double) -> String {
        guard value.isFinite else { return value > 0 ? "∞" : "-∞" }
        return String(format: "%.4g", value)
    }

    static func signed(_ value: Double) -> String { value >= 0 ? "+\(format(value))" : format(value) }
}
