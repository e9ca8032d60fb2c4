import AITIPCore
import Foundation

/// An evaluation's report: one self-contained HTML page (tables and SVG charts, no script, nothing fetched), and the
/// same page printed to PDF by headless Chromium.
package enum EvaluationReport {
    package static func html(_ job: EvaluationJob) -> String {
        let details = job.details
        let results = details.decodedResults
        let benchmark = Benchmark.named(details.benchmark)
        var page = """
            <h1>Evaluation of \(HTMLText.escape(details.modelURI))</h1>
            <div class="muted">\(HTMLText.escape(job.workload.name)) · \(HTMLText.escape(details.id.lowercasedString))</div>

            """
        let verdict: String
        switch (details.resultState, results?.gate.passed) {
        case (.ready, true?): verdict = "<span class=\"pass\">Gate passed</span>"
        case (.ready, _): verdict = "<span class=\"fail\">Gate failed</span>"
        case (.failed, _): verdict = "<span class=\"fail\">No results: \(HTMLText.escape(details.resultError ?? ""))</span>"
        case (.pending, _): verdict = "<span class=\"muted\">Not scored yet (the workload is \(HTMLText.escape(job.workload.state.rawValue)))</span>"
        }
        page += "<h2>\(verdict)</h2>\n<table>\n"
        let rows: [(String, String)] = [
            ("Model", details.modelURI),
            ("Baseline", details.baselineURI.map { "\($0) (\(details.baselineReason))" } ?? "none (\(details.baselineReason))"),
            ("Benchmark", "\(details.benchmark) v\(details.benchmarkVersion)"),
            (
                "Dataset",
                "\(details.datasetName) version \(details.datasetVersion), \(details.datasetPath.isEmpty ? "all files" : details.datasetPath) (\(details.datasetPath.isEmpty ? "checksum" : "sha256") \(details.datasetSha256.prefix(12))…)"
            ),
            ("Target column", details.targetColumn.isEmpty ? "– (the job scored itself)" : details.targetColumn),
            ("Rows scored", results.map { String($0.rows) } ?? "–"),
            ("Created", HTMLText.timestamp(details.createdMs)),
            ("Scored", details.completedMs.map(HTMLText.timestamp) ?? "–"),
        ]
        for (name, value) in rows { page += "<tr><th>\(HTMLText.escape(name))</th><td>\(HTMLText.escape(value))</td></tr>\n" }
        page += "</table>\n"
        guard let results else { return HTMLText.document(title: "Evaluation of \(details.modelURI)", body: page) }
        if !results.gate.checks.isEmpty {
            page += "<h2>Gate</h2>\n<table><tr><th>Metric</th><th>Verdict</th><th>Why</th></tr>\n"
            for check in results.gate.checks {
                page +=
                    "<tr><td>\(HTMLText.escape(check.metric))</td><td class=\"\(check.passed ? "pass" : "fail")\">\(check.passed ? "pass" : "fail")</td>"
                page += "<td>\(HTMLText.escape(check.reason))</td></tr>\n"
            }
            page += "</table>\n"
        }
        let known = benchmark?.metrics.map(\.name) ?? []
        let names = known.isEmpty ? results.candidate.keys.sorted() : known
        let intervals = benchmark?.runner == .predictions ? "95 % bootstrap intervals" : "95 % intervals where the job reported them"
        page += "<h2>Metrics (\(intervals))</h2>\n<table><tr><th>Metric</th><th>Candidate</th>"
        page += results.baseline != nil ? "<th>Baseline</th><th>Change</th></tr>\n" : "</tr>\n"
        for name in names {
            guard let value = results.candidate[name] else { continue }
            let direction = results.directions?[name].map { $0 ? " ↑" : " ↓" } ?? ""
            page += "<tr><td>\(HTMLText.escape(name))\(direction)</td><td class=\"num\">\(cell(value))</td>"
            if let base = results.baseline?[name] {
                page += "<td class=\"num\">\(cell(base))</td><td class=\"num\">\(GateVerdict.signed(value.value - base.value))</td>"
            }
            page += "</tr>\n"
        }
        page += "</table>\n" + chart(names: names, candidate: results.candidate, baseline: results.baseline)
        if !results.slices.isEmpty {
            page += "<h2>Slices</h2>\n<table><tr><th>Column</th><th>Value</th><th>Rows</th>"
            page += names.map { "<th>\(HTMLText.escape($0))</th>" }.joined() + "</tr>\n"
            for slice in results.slices {
                page += "<tr><td>\(HTMLText.escape(slice.column))</td><td>\(HTMLText.escape(slice.value))</td><td class=\"num\">\(slice.rows)</td>"
                for name in names {
                    let candidate = slice.candidate[name].map { GateVerdict.format($0.value) } ?? "–"
                    let baseline = slice.baseline?[name].map { " <span class=\"muted\">(\(GateVerdict.format($0.value)))</span>" } ?? ""
                    page += "<td class=\"num\">\(candidate)\(baseline)</td>"
                }
                page += "</tr>\n"
            }
            page += "</table>\n"
            if results.baseline != nil { page += "<div class=\"muted\">In parentheses: the baseline's value.</div>\n" }
        }
        return HTMLText.document(title: "Evaluation of \(details.modelURI)", body: page)
    }

    /// Horizontal bars per metric, candidate (and baseline) with their intervals as whiskers, each metric on its
    /// own scale from zero to its largest value.
    static func chart(names: [String], candidate: [String: MetricValue], baseline: [String: MetricValue]?) -> String {
        let shown = names.filter { candidate[$0] != nil }
        let barHeight = 14
        let rowHeight = baseline == nil ? 26 : 42
        let (labelWidth, barWidth) = (130, 380)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + barWidth + 140)\" height=\"\(shown.count * rowHeight + 24)\">\n"
        for (index, name) in shown.enumerated() {
            let series = [("candidate", candidate[name]!, "#2f6feb")] + (baseline?[name].map { [("baseline", $0, "#9aa4af")] } ?? [])
            let largest = series.flatMap { [abs($0.1.value), abs($0.1.ciHigh ?? 0)] }.max() ?? 1
            let scale = Double(barWidth) / (largest > 0 ? largest : 1)
            let top = index * rowHeight + 4
            svg += "<text x=\"0\" y=\"\(top + 11)\">\(HTMLText.escape(name))</text>\n"
            for (offset, (role, value, color)) in series.enumerated() {
                let y = top + offset * (barHeight + 2)
                let width = max(1, Int(abs(value.value) * scale))
                svg +=
                    "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"\(barHeight)\" fill=\"\(color)\"><title>\(role)</title></rect>\n"
                if let low = value.ciLow, let high = value.ciHigh {
                    let (x1, x2) = (labelWidth + Int(abs(low) * scale), labelWidth + Int(abs(high) * scale))
                    svg += "<line x1=\"\(x1)\" x2=\"\(x2)\" y1=\"\(y + barHeight / 2)\" y2=\"\(y + barHeight / 2)\" stroke=\"#1b1f24\"/>\n"
                }
                svg += "<text x=\"\(labelWidth + barWidth + 6)\" y=\"\(y + 11)\">\(role) \(GateVerdict.format(value.value))</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    static func cell(_ value: MetricValue) -> String {
        guard let low = value.ciLow, let high = value.ciHigh else { return GateVerdict.format(value.value) }
        return "\(GateVerdict.format(value.value)) <span class=\"muted\">[\(GateVerdict.format(low)), \(GateVerdict.format(high))]</span>"
    }
}
