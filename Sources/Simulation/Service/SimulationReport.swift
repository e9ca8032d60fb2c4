import AITIPCore
import Foundation
import Identity

/// A run's report: one self-contained HTML page (the verdict per category, the score's breakdown per scenario, an
/// SVG bar per scenario, the events of the worst episodes; no script, nothing fetched), and the same page printed to
/// PDF by the engine evaluation reports use.
package enum SimulationReport {
    package static func html(_ run: SimulationRun, environment: SimulationEnvironment) -> String {
        let details = run.details
        let title = "Simulation of \(details.modelURI) in \(environment.name)"
        var page = """
            <h1>\(HTMLText.escape(title))</h1>
            <div class="muted">run \(HTMLText.escape(details.id.lowercasedString))</div>

            """
        let verdict: String
        switch (details.state, details.passed) {
        case (.completed, true?): verdict = "<span class=\"pass\">Passed</span> — safety score \(format(details.safetyScore ?? 0))"
        case (.completed, _): verdict = "<span class=\"fail\">Failed</span> — safety score \(format(details.safetyScore ?? 0))"
        case (.running, _): verdict = "<span class=\"muted\">Running</span>"
        case (.failed, _): verdict = "<span class=\"fail\">No verdict: \(HTMLText.escape(details.error ?? ""))</span>"
        case (.stopped, _): verdict = "<span class=\"muted\">Stopped before every scenario finished</span>"
        }
        page += "<h2>\(verdict)</h2>\n<table>\n"
        let suite = details.decodedSuite
        let template = SimulationTemplate.named(details.template)
        let rows: [(String, String)] = [
            ("Model", details.modelURI),
            ("Template", "\(details.template) v\(details.templateVersion)" + (template.map { " — \($0.title)" } ?? "")),
            ("Isolation", details.isolationType.rawValue),
            ("Seeds", suite.map { "\($0.seeds.count) per scenario" } ?? "–"),
            ("Suite", details.suiteOverridden ? "replaced for this run (not the environment's)" : "the environment's"),
            ("Scoring", template?.scoring ?? "–"),
            ("Created", HTMLText.timestamp(details.createdMs)),
            ("Completed", details.completedMs.map(HTMLText.timestamp) ?? "–"),
        ]
        for (name, value) in rows { page += "<tr><th>\(HTMLText.escape(name))</th><td>\(HTMLText.escape(value))</td></tr>\n" }
        page += "</table>\n"
        if let results = details.decodedResults {
            page += "<h2>Categories</h2>\n<table><tr><th>Category</th><th>Verdict</th><th>Score (mean ± stderr)</th><th>Needs</th>"
            page += "<th>Completion</th><th>Cost</th><th>Over cost limit</th><th>Why</th></tr>\n"
            for category in results.categories {
                page += "<tr><td>\(HTMLText.escape(category.category))</td>"
                page += "<td class=\"\(category.passed ? "pass" : "fail")\">\(category.passed ? "pass" : "fail")</td>"
                page += "<td class=\"num\">\(meanCell(category.summary.score))</td><td class=\"num\">\(format(category.passScore))</td>"
                page += "<td class=\"num\">\(meanCell(category.summary.completion))</td><td class=\"num\">\(meanCell(category.summary.cost))</td>"
                page += "<td class=\"num\">\(format(category.summary.violationRate * 100)) %</td>"
                page += "<td>\(HTMLText.escape(category.reasons.joined(separator: "; ")))</td></tr>\n"
            }
            page += "</table>\n<div class=\"muted\">Penalties: "
            page += HTMLText.escape(results.penalties.sorted { $0.key < $1.key }.map { "\($0.key) ×\(format($0.value))" }.joined(separator: ", "))
            page += "; cost limit \(format(results.costLimit)) per episode.</div>\n"
        }
        page += "<h2>Scenarios</h2>\n<table><tr><th>Scenario</th><th>Category</th><th>State</th><th>Score (mean ± stderr)</th>"
        page += "<th>Completion</th><th>Return</th><th>Cost</th><th>Events</th><th>Steps/s</th></tr>\n"
        for scenario in run.scenarios {
            let record = scenario.record
            page += "<tr><td>\(HTMLText.escape(record.name))</td><td>\(HTMLText.escape(record.category))</td>"
            guard let result = record.decodedResult else {
                let state = record.resultState == .pending ? scenario.workload.state.rawValue : "no result: \(record.error ?? "")"
                page += "<td colspan=\"7\">\(HTMLText.escape(state))</td></tr>\n"
                continue
            }
            let events = result.summary.events.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            page += "<td>scored</td><td class=\"num\">\(meanCell(result.summary.score))</td>"
            page += "<td class=\"num\">\(meanCell(result.summary.completion))</td><td class=\"num\">\(meanCell(result.summary.reward))</td>"
            page += "<td class=\"num\">\(meanCell(result.summary.cost))</td><td>\(HTMLText.escape(events.isEmpty ? "none" : events))</td>"
            page += "<td class=\"num\">\(format(result.stepsPerSecond))</td></tr>\n"
        }
        page += "</table>\n" + chart(run.scenarios.map(\.record))
        let worst = run.scenarios.compactMap { scenario in scenario.record.decodedResult.map { (scenario.record.name, $0) } }
            .flatMap { name, result in result.episodes.map { (name, $0) } }
            .sorted { $0.1.score < $1.1.score }.prefix(10)
        if !worst.isEmpty {
            page +=
                "<h2>Lowest-scoring episodes</h2>\n<table><tr><th>Scenario</th><th>Seed</th><th>Score</th><th>Steps</th><th>Ended</th><th>Events (step, time)</th></tr>\n"
            for (name, episode) in worst {
                let events = episode.events.map { "\($0.type) (\($0.step), \(format($0.time)) s)" }.joined(separator: ", ")
                let more = episode.eventsTotal > episode.events.count ? " … \(episode.eventsTotal) in all" : ""
                page += "<tr><td>\(HTMLText.escape(name))</td><td class=\"num\">\(episode.seed)</td><td class=\"num\">\(format(episode.score))</td>"
                page +=
                    "<td class=\"num\">\(episode.steps)</td><td>\(HTMLText.escape(episode.ended))</td><td>\(HTMLText.escape(events + more))</td></tr>\n"
            }
            page += "</table>\n"
        }
        return HTMLText.document(title: title, body: page)
    }

    /// One bar per scored scenario, 0–100, with its standard error as a whisker.
    static func chart(_ records: [SimulationRun.Record]) -> String {
        let scored = records.compactMap { record in record.decodedResult.map { (record.name, $0.summary.score) } }
        guard !scored.isEmpty else { return "" }
        let (labelWidth, barWidth, rowHeight) = (160, 380, 20)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(labelWidth + barWidth + 90)\" height=\"\(scored.count * rowHeight + 8)\">\n"
        for (index, (name, score)) in scored.enumerated() {
            let y = index * rowHeight + 4
            let width = max(1, Int(score.mean / 100 * Double(barWidth)))
            let (low, high) = (max(0, score.mean - score.stderr), min(100, score.mean + score.stderr))
            svg += "<text x=\"0\" y=\"\(y + 11)\">\(HTMLText.escape(name))</text>\n"
            svg += "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(width)\" height=\"14\" fill=\"\(score.mean >= 80 ? "#2f6feb" : "#d4a72c")\"/>\n"
            let (x1, x2) = (labelWidth + Int(low / 100 * Double(barWidth)), labelWidth + Int(high / 100 * Double(barWidth)))
            svg += "<line x1=\"\(x1)\" x2=\"\(x2)\" y1=\"\(y + 7)\" y2=\"\(y + 7)\" stroke=\"#1b1f24\"/>\n"
            svg += "<text x=\"\(labelWidth + barWidth + 6)\" y=\"\(y + 11)\">\(format(score.mean))</text>\n"
        }
        return svg + "</svg>\n"
    }

    static func meanCell(_ value: MeanWithError) -> String {
        "\(format(value.mean)) <span class=\"muted\">± \(format(value.stderr))</span>"
    }

    static func format(_ value: Double) -> String {
        abs(value) >= 100 || value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.2f", value)
    }
}

extension SimulationService {
    /// The run's report: HTML, or that page printed to PDF.
    package func report(_ id: UUID, format: ReportFormat, caller: Caller) async throws -> Data {
        let run = try await run(id, caller: caller)
        let environment = try await authorized(run.details.envId, Self.read, caller: caller)
        return try await format.render(SimulationReport.html(run, environment: environment), chromium: chromium)
    }
}
