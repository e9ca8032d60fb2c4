import Foundation

/// The stdout line format for job metrics: `aitip.metric <key>=<value> [step=<n>]`, e.g.
/// `aitip.metric loss=0.4213 step=120`. Several `key=value` pairs may share one line and one step.
package enum MetricLine {
    package struct Point: Sendable, Equatable {
        package var step: Int64
        package var value: Double
        /// Byte offset of the line in the log (orders points that share a step).
        package var offset: Int
    }

    static let marker = Array("aitip.metric ".utf8)

    package static func scan(_ data: Data, into series: inout [String: [Point]]) {
        var lineStart = data.startIndex
        for index in data.indices where data[index] == 0x0A {
            parse(data[lineStart..<index], into: &series)
            lineStart = index + 1
        }
        if lineStart < data.endIndex { parse(data[lineStart...], into: &series) }
    }

    static func parse(_ line: Data, into series: inout [String: [Point]]) {
        guard line.count > marker.count, line.starts(with: marker) else { return }
        let text = String(decoding: line.dropFirst(marker.count), as: UTF8.self)
        var step: Int64?
        var values: [(String, Double)] = []
        for pair in text.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = String(parts[0])
            if key == "step" { step = Int64(parts[1]); continue }
            guard key.count <= 250, let value = Double(parts[1]) else { continue }
            values.append((key, value))
        }
        for (key, value) in values {
            series[key, default: []].append(Point(step: step ?? Int64(series[key]?.count ?? 0), value: value, offset: line.startIndex))
        }
    }
}
