import AITIPCore
import Foundation

/// What a job scored itself for one model, read from the result file it handed back: a custom script's (aitip's
/// result format, version 1) or lm-evaluation-harness's. The file is the job's own writing, so every name and
/// number in it is checked before it is stored; a bad one fails the job's results with the field that is wrong.
package struct ReportedResult: Sendable, Equatable {
    package var rows: Int?
    package var metrics: [String: MetricValue]
    /// Metric → greater is better, where the file says.
    package var directions: [String: Bool]
    package var slices: [Slice]

    package struct Slice: Sendable, Equatable {
        package var column: String
        package var value: String
        package var rows: Int
        package var metrics: [String: MetricValue]
    }

    static let maxBytes = 4 << 20
    static let maxMetrics = 500
    static let maxSlices = 1_000
    /// Metric values over all slices: what a report shows as table cells.
    static let maxSliceValues = 20_000

    /// A custom script's result:
    /// `{"metrics": {"<name>": <number> | {"value": <number>, "ci_low": …, "ci_high": …, "greater_is_better": …}},
    ///   "rows": <count>, "slices": [{"column": "…", "value": "…", "rows": <count>, "metrics": {…}}]}`.
    package static func script(_ data: Data) throws -> ReportedResult {
        let root = try object(try parse(data), "the result")
        var directions: [String: Bool] = [:]
        guard let metricsValue = root["metrics"] else { throw invalid("the result has no \"metrics\" object") }
        let metrics = try metricValues(metricsValue, field: "metrics", directions: &directions)
        guard !metrics.isEmpty else { throw invalid("metrics is empty: report at least one metric") }
        var slices: [Slice] = []
        if let slicesValue = root["slices"], slicesValue != .null {
            guard case .array(let items) = slicesValue, items.count <= maxSlices else {
                throw invalid("slices must be an array of at most \(maxSlices) objects")
            }
            var values = 0
            for (index, item) in items.enumerated() {
                let field = "slices[\(index)]"
                let slice = try object(item, field)
                guard case .string(let column)? = slice["column"], (1...255).contains(column.count), isPrintable(column) else {
                    throw invalid("\(field).column must be a name of 1-255 characters, without control characters")
                }
                guard let value = slice["value"].flatMap(text), value.count <= 255, isPrintable(value) else {
                    throw invalid("\(field).value must be a string, number or boolean of at most 255 characters, without control characters")
                }
                var ignored: [String: Bool] = [:]
                let metrics = try metricValues(slice["metrics"] ?? .null, field: "\(field).metrics", directions: &ignored)
                values += metrics.count
                guard values <= maxSliceValues else { throw invalid("slices hold more than \(maxSliceValues) metric values in all") }
                slices.append(Slice(column: column, value: value, rows: try count(slice["rows"], field: "\(field).rows") ?? 0, metrics: metrics))
            }
        }
        return ReportedResult(rows: try count(root["rows"], field: "rows"), metrics: metrics, directions: directions, slices: slices)
    }

    /// lm-evaluation-harness's results file: `results` holds per task `"<metric>,<filter>": value` and
    /// `"<metric>_stderr,<filter>": stderr`; `higher_is_better` the direction per task and metric; `n-samples` the
    /// documents each task scored. A metric is named `<task>/<metric>`, with `/<filter>` unless the filter is `none`;
    /// its interval is ±1.96 standard errors when lm-eval computed one (it writes "N/A" where it did not).
    package static func lmEval(_ data: Data) throws -> ReportedResult {
        let root = try object(try parse(data), "the lm-eval results")
        guard case .object(let tasks)? = root["results"] else { throw invalid("the lm-eval results have no \"results\" object") }
        var higher: [String: [String: JSONValue]] = [:]
        if case .object(let byTask)? = root["higher_is_better"] {
            for case (let task, .object(let metrics)) in byTask { higher[task] = metrics }
        }
        var metrics: [String: MetricValue] = [:]
        var directions: [String: Bool] = [:]
        for (task, entry) in tasks.sorted(by: { $0.key < $1.key }) {
            guard case .object(let values) = entry else { continue }
            for (key, value) in values {
                guard case .number(let number) = value, number.isFinite, let comma = key.firstIndex(of: ","),
                    !key[..<comma].hasSuffix("_stderr")
                else { continue }
                let (metric, filter) = (String(key[..<comma]), String(key[key.index(after: comma)...]))
                let name = filter == "none" ? "\(task)/\(metric)" : "\(task)/\(metric)/\(filter)"
                var measured = MetricValue(value: number)
                if case .number(let stderr)? = values["\(metric)_stderr,\(filter)"], stderr >= 0 {
                    let (low, high) = (number - 1.96 * stderr, number + 1.96 * stderr)
                    if low.isFinite && high.isFinite { (measured.ciLow, measured.ciHigh) = (low, high) }
                }
                guard isMetricName(name) else { throw invalid("results.\(task) names a metric aitip cannot store: \(name.prefix(80))") }
                metrics[name] = measured
                if case .bool(let greater)? = higher[task]?[metric] { directions[name] = greater }
            }
        }
        guard !metrics.isEmpty, metrics.count <= maxMetrics else {
            throw invalid("the lm-eval results hold \(metrics.count) numeric metrics: 1 to \(maxMetrics) are needed")
        }
        var rows: Int?
        if case .object(let samples)? = root["n-samples"] {
            // Summed as doubles and clamped: counts are the file's word, and an integer sum could overflow.
            let total = samples.values.reduce(0.0) { total, entry in
                guard case .object(let counts) = entry, case .number(let effective)? = counts["effective"], effective.isFinite else { return total }
                return total + max(0, effective.rounded(.down))
            }
            rows = Int(min(total, 1e15))
        }
        return ReportedResult(rows: rows, metrics: metrics, directions: directions, slices: [])
    }

    // MARK: checks

    /// Metric names as MLflow takes them (they are logged to the model's run as `eval.<benchmark>.<name>`, within its
    /// 250 characters): letters, digits and `_ - . / space`, no `..`, not starting with `/`.
    static func isMetricName(_ name: String) -> Bool {
        (1...200).contains(name.count) && !name.contains("..") && !name.hasPrefix("/")
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_-./ ".unicodeScalars.contains($0) }
    }

    private static func isPrintable(_ text: String) -> Bool { !text.unicodeScalars.contains { CharacterSet.controlCharacters.contains($0) } }

    private static func parse(_ data: Data) throws -> JSONValue {
        guard data.count <= maxBytes else { throw invalid("the result file is larger than \(maxBytes >> 20) MiB") }
        let decoder = JSONDecoder()
        // Python's json module writes NaN and Infinity; they are read here, and skipped or refused as numbers below.
        decoder.allowsJSON5 = true
        do {
            return try decoder.decode(JSONValue.self, from: data)
        } catch {
            throw invalid("the result file is not JSON")
        }
    }

    private static func object(_ value: JSONValue, _ what: String) throws -> [String: JSONValue] {
        guard case .object(let fields) = value else { throw invalid("\(what) must be a JSON object") }
        return fields
    }

    private static func metricValues(_ value: JSONValue, field: String, directions: inout [String: Bool]) throws -> [String: MetricValue] {
        let entries = try object(value, field)
        guard entries.count <= maxMetrics else { throw invalid("\(field) holds more than \(maxMetrics) metrics") }
        var metrics: [String: MetricValue] = [:]
        for (name, entry) in entries {
            guard isMetricName(name) else {
                throw invalid(
                    "\(field) has a metric named '\(name.prefix(80))': names are 1-200 letters, digits, '_', '-', '.', '/' or spaces, without '..' or a leading '/'"
                )
            }
            let here = "\(field).\(name)"
            switch entry {
            case .number(let number):
                metrics[name] = MetricValue(value: try finite(number, here))
            case .object(let parts):
                guard case .number(let number)? = parts["value"] else { throw invalid("\(here).value must be a number") }
                var measured = MetricValue(value: try finite(number, "\(here).value"))
                for (key, path) in [("ci_low", \MetricValue.ciLow), ("ci_high", \MetricValue.ciHigh)] {
                    guard let bound = parts[key], bound != .null else { continue }
                    guard case .number(let number) = bound else { throw invalid("\(here).\(key) must be a number") }
                    measured[keyPath: path] = try finite(number, "\(here).\(key)")
                }
                if let low = measured.ciLow, let high = measured.ciHigh, low > high {
                    throw invalid("\(here): ci_low is above ci_high")
                }
                if let direction = parts["greater_is_better"], direction != .null {
                    guard case .bool(let greater) = direction else { throw invalid("\(here).greater_is_better must be true or false") }
                    directions[name] = greater
                }
                metrics[name] = measured
            default:
                throw invalid("\(here) must be a number or an object with a value")
            }
        }
        return metrics
    }

    private static func finite(_ number: Double, _ field: String) throws -> Double {
        guard number.isFinite else { throw invalid("\(field) must be a finite number") }
        return number
    }

    private static func count(_ value: JSONValue?, field: String) throws -> Int? {
        guard let value, value != .null else { return nil }
        guard case .number(let number) = value, let count = Int(exactly: number), count >= 0 else {
            throw invalid("\(field) must be a whole number, 0 or more")
        }
        return count
    }

    private static func text(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .number(let number): Scoring.canonicalLabel(String(number))
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }

    private static func invalid(_ message: String) -> AppError { AppError.badRequest(message) }
}
