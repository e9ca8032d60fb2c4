import AITIPCore
import Foundation
import Identity

/// An execution's report: its totals, coverage, the failing cases with their messages, every case with its duration,
/// and the plan's recent executions as a bar chart; the same page printed to PDF by headless Chromium.
package enum TestReportPage {
    package static func html(
        execution: TestExecution, plan: TestPlan, cases: [CaseResult], recent: [TestExecution], flaky: Set<String>
    ) -> String {
        let escape = HTMLText.escape
        let verdict: String
        switch execution.resultState {
        case .ready where execution.failedCases == 0:
            verdict = "<span class=\"pass\">All \(execution.totalCases - execution.skippedCases) run cases passed</span>"
        case .ready: verdict = "<span class=\"fail\">\(execution.failedCases) of \(execution.totalCases) cases failed</span>"
        case .failed: verdict = "<span class=\"fail\">No results: \(escape(execution.resultError ?? ""))</span>"
        case .pending: verdict = "<span class=\"muted\">Still running</span>"
        }
        var page = "<h1>Test execution of \(escape(plan.name))</h1>\n<div class=\"muted\">\(escape(execution.id.lowercasedString))</div>\n"
        page += "<h2>\(verdict)</h2>\n<table>\n"
        let facts: [(String, String)] = [
            ("Plan", "\(plan.name) (\(plan.testType))"), ("Trigger", execution.triggerType), ("Started", HTMLText.timestamp(execution.createdMs)),
            ("Cases", "\(execution.totalCases): \(execution.passedCases) passed, \(execution.failedCases) failed, \(execution.skippedCases) skipped"),
            ("Duration", execution.durationSeconds.map { String(format: "%.2f s", $0) } ?? "–"),
            ("Coverage", execution.coveragePercent.map { String(format: "%.2f %%", $0) } ?? "–"),
            ("Exit status", execution.exitCode.map(String.init) ?? "–"),
        ]
        for (name, value) in facts { page += "<tr><th>\(escape(name))</th><td>\(escape(value))</td></tr>\n" }
        page += "</table>\n"
        let failing = cases.filter { $0.status == .failed || $0.status == .error }
        if !failing.isEmpty {
            page += "<h2>Failures</h2>\n<table><tr><th>Case</th><th>Status</th><th>Message</th></tr>\n"
            for item in failing {
                let key = "\(item.classname)\u{1F}\(item.name)"
                let mark = flaky.contains(key) ? " <span class=\"muted\">(flaky)</span>" : ""
                page += "<tr><td>\(escape(item.classname)).\(escape(item.name))\(mark)</td><td class=\"fail\">\(item.status.rawValue)</td>"
                page += "<td><pre style=\"white-space:pre-wrap;margin:0\">\(escape(item.message ?? ""))</pre></td></tr>\n"
            }
            page += "</table>\n"
        }
        if recent.count > 1 { page += "<h2>Recent executions</h2>\n" + history(recent) }
        page += "<h2>Cases</h2>\n<table><tr><th>Suite</th><th>Case</th><th>Status</th><th>Time (s)</th></tr>\n"
        for item in cases {
            let style = item.status == .passed ? "pass" : item.status == .skipped ? "muted" : "fail"
            page += "<tr><td>\(escape(item.suite))</td><td>\(escape(item.classname)).\(escape(item.name))</td>"
            page +=
                "<td class=\"\(style)\">\(item.status.rawValue)</td><td class=\"num\">\(String(format: "%.3f", Double(item.durationMs) / 1_000))</td></tr>\n"
        }
        page += "</table>\n"
        return HTMLText.document(title: "Test execution of \(plan.name)", body: page)
    }

    /// Stacked bars of passed, failed and skipped cases per execution, oldest on the left.
    static func history(_ executions: [TestExecution]) -> String {
        let ordered = executions.sorted { $0.createdMs < $1.createdMs }
        let tallest = max(1, ordered.map(\.totalCases).max() ?? 1)
        let (width, height, gap) = (22, 90, 6)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(ordered.count * (width + gap) + 10)\" height=\"\(height + 20)\">\n"
        for (index, execution) in ordered.enumerated() {
            var top = height
            let x = index * (width + gap)
            for (count, color) in [(execution.passedCases, "#2da44e"), (execution.failedCases, "#cf222e"), (execution.skippedCases, "#afb8c1")] {
                let size = count * height / tallest
                top -= size
                svg += "<rect x=\"\(x)\" y=\"\(top)\" width=\"\(width)\" height=\"\(size)\" fill=\"\(color)\"/>\n"
            }
            svg += "<text x=\"\(x)\" y=\"\(height + 14)\">\(execution.failedCases)</text>\n"
        }
        return svg + "</svg>\n<div class=\"muted\">Green passed, red failed (count below), grey skipped.</div>\n"
    }
}

extension TestPlanService {
    package func reportPage(_ executionId: UUID, format: ReportFormat, caller: Caller) async throws -> Data {
        let (execution, plan, _) = try await execution(executionId, caller: caller)
        let cases = try await database.read { sql in try await TestPlanStore.cases(of: execution.id, on: sql) }
        let recent = try await database.read { sql in try await TestPlanStore.executions(plans: [plan.id], after: nil, limit: 20, on: sql) }
        let flaky = Set(
            try await caseHistory(plan: plan.id, executions: Flakiness.window, caller: caller).filter(\.flaky).map {
                "\($0.classname)\u{1F}\($0.name)"
            })
        return try await format.render(
            TestReportPage.html(execution: execution, plan: plan, cases: cases, recent: recent, flaky: flaky), chromium: chromium)
    }
}
