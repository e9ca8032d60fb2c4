import Foundation

/// A metric's value with its 95 % interval, where one was computed.
package struct MetricValue: Sendable, Codable, Equatable {
    package var value: Double
    package var ciLow: Double?
    package var ciHigh: Double?

    enum CodingKeys: String, CodingKey {
        case value
        case ciLow = "ci_low"
        case ciHigh = "ci_high"
    }
}

/// Scores predictions against the true values, with percentile bootstrap intervals. Resampling is seeded, so the
/// same inputs give the same intervals every time.
package enum Scoring {
    /// Resamples for an interval: 1,000, fewer above 10,000 rows (at least 100), so that one interval costs about 10⁷
    /// row visits and a job with slices and a baseline scores in well under a second.
    static func resampleCount(rows: Int) -> Int { max(100, min(1_000, 10_000_000 / max(rows, 1))) }

    /// Classification metrics of `predicted` against `actual` (labels as canonical text, see `canonicalLabel`).
    package static func classification(actual: [String], predicted: [String], seed: UInt64) -> [String: MetricValue] {
        var classes: [String: Int] = [:]
        for label in actual + predicted where classes[label] == nil { classes[label] = classes.count }
        let truth = actual.map { classes[$0]! }
        let guess = predicted.map { classes[$0]! }
        let classCount = classes.count
        func score(_ rows: [Int]) -> [Double] {
            var matrix = [Int](repeating: 0, count: classCount * classCount)
            var total = 0
            for row in rows {
                matrix[truth[row] * classCount + guess[row]] += 1
                total += 1
            }
            return classificationMetrics(matrix: matrix, classes: classCount, rows: total)
        }
        return withIntervals(names: ["accuracy", "precision_macro", "recall_macro", "f1_macro"], rows: truth.count, seed: seed, score: score)
    }

    /// Regression metrics of `predicted` against `actual`.
    package static func regression(actual: [Double], predicted: [Double], seed: UInt64) -> [String: MetricValue] {
        func score(_ rows: [Int]) -> [Double] {
            var (count, absolute, squared, sum, sumSquares) = (0.0, 0.0, 0.0, 0.0, 0.0)
            for row in rows {
                let error = predicted[row] - actual[row]
                count += 1
                absolute += abs(error)
                squared += error * error
                sum += actual[row]
                sumSquares += actual[row] * actual[row]
            }
            let total = sumSquares - sum * sum / count
            return [absolute / count, (squared / count).squareRoot(), total > 0 ? 1 - squared / total : (squared == 0 ? 1 : 0)]
        }
        return withIntervals(names: ["mae", "rmse", "r2"], rows: actual.count, seed: seed, score: score)
    }

    /// A label as text, numbers written one way (`1`, `1.0` and `1e0` are all `1`) and booleans in lower case, so
    /// that a model answering numbers or booleans is scored against a csv column of the same values.
    package static func canonicalLabel(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if ["true", "false"].contains(trimmed.lowercased()) { return trimmed.lowercased() }
        guard let number = Double(trimmed), number.isFinite else { return trimmed }
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }

    static func classificationMetrics(matrix: [Int], classes: Int, rows: Int) -> [Double] {
        guard rows > 0 else { return [0, 0, 0, 0] }
        var correct = 0
        var precision = 0.0
        var recall = 0.0
        var f1 = 0.0
        for c in 0..<classes {
            let truePositive = matrix[c * classes + c]
            correct += truePositive
            var predictedAs = 0
            var actuallyIs = 0
            for other in 0..<classes {
                predictedAs += matrix[other * classes + c]
                actuallyIs += matrix[c * classes + other]
            }
            let p = predictedAs > 0 ? Double(truePositive) / Double(predictedAs) : 0
            let r = actuallyIs > 0 ? Double(truePositive) / Double(actuallyIs) : 0
            precision += p
            recall += r
            f1 += p + r > 0 ? 2 * p * r / (p + r) : 0
        }
        let n = Double(classes)
        return [Double(correct) / Double(rows), precision / n, recall / n, f1 / n]
    }

    /// The metrics on all rows, and each one's 2.5th and 97.5th percentile over bootstrap resamples.
    static func withIntervals(names: [String], rows: Int, seed: UInt64, score: ([Int]) -> [Double]) -> [String: MetricValue] {
        guard rows > 0 else { return [:] }
        let point = score(Array(0..<rows))
        var samples = [[Double]](repeating: [], count: names.count)
        var random = SplitMix64(seed: seed)
        if rows > 1 {
            var drawn = [Int](repeating: 0, count: rows)
            for _ in 0..<resampleCount(rows: rows) {
                for index in drawn.indices { drawn[index] = Int(random.next() % UInt64(rows)) }
                let values = score(drawn)
                for index in names.indices { samples[index].append(values[index]) }
            }
        }
        var result: [String: MetricValue] = [:]
        for (index, name) in names.enumerated() {
            let sorted = samples[index].sorted()
            result[name] = MetricValue(
                value: point[index], ciLow: sorted.isEmpty ? nil : percentile(sorted, 0.025),
                ciHigh: sorted.isEmpty ? nil : percentile(sorted, 0.975))
        }
        return result
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        let position = p * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): the same seed, the same resamples.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
