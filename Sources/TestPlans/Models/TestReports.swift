import AITIPCore
import Foundation

/// One test case's outcome, as a JUnit report states it.
package struct CaseResult: Sendable, Codable, Equatable {
    package var suite: String
    package var classname: String
    package var name: String
    package var status: Status
    package var durationMs: Int64
    /// The failure's or error's message (and the start of its text), cut to 2,000 characters.
    package var message: String?

    package enum Status: String, Sendable, Codable, CaseIterable {
        case passed, failed, error, skipped
    }

    enum CodingKeys: String, CodingKey {
        case suite, classname, name, status, message
        case durationMs = "duration_ms"
    }
}

/// Totals of a run, counted from its cases (failed counts errors too, as `test_executions.failed_cases` does).
package struct CaseTotals: Sendable, Equatable {
    package var total = 0
    package var passed = 0
    package var failed = 0
    package var skipped = 0

    package init(_ cases: [CaseResult]) {
        total = cases.count
        for item in cases {
            switch item.status {
            case .passed: passed += 1
            case .failed, .error: failed += 1
            case .skipped: skipped += 1
            }
        }
    }
}

/// Reads the reports test tools write: JUnit XML (pytest, JUnit, Go, Jest, … — `<testsuites>` or a `<testsuite>`, nested
/// suites included) and Cobertura XML coverage (`coverage.py xml`, JaCoCo converters, …).
package enum TestReports {
    package static let maxCases = 200_000

    package static func junit(_ bytes: [UInt8]) throws(AppError) -> [CaseResult] {
        let root = try XMLReader.parse(bytes, field: "junit_xml")
        guard root.name == "testsuites" || root.name == "testsuite" else {
            throw AppError.validation([FieldError(field: "junit_xml", message: "the root element is <\(root.name)>, not <testsuites> or <testsuite>")]
            )
        }
        var cases: [CaseResult] = []
        try collect(root, suite: root.attributes["name"] ?? "", into: &cases)
        return cases
    }

    private static func collect(_ node: XMLNode, suite: String, into cases: inout [CaseResult]) throws(AppError) {
        for child in node.children {
            switch child.name {
            case "testsuite":
                try collect(child, suite: child.attributes["name"] ?? suite, into: &cases)
            case "testcase":
                guard let name = child.attributes["name"], !name.isEmpty else {
                    throw AppError.validation([FieldError(field: "junit_xml", message: "a <testcase> in suite '\(suite)' has no name")])
                }
                guard cases.count < maxCases else {
                    throw AppError.validation([FieldError(field: "junit_xml", message: "more than \(maxCases) test cases")])
                }
                let seconds = child.attributes["time"].flatMap { Double($0.replacingOccurrences(of: ",", with: "")) } ?? 0
                var status = CaseResult.Status.passed
                var detail: XMLNode?
                if let failure = child.first("failure") {
                    (status, detail) = (.failed, failure)
                } else if let error = child.first("error") {
                    (status, detail) = (.error, error)
                } else if let skipped = child.first("skipped") {
                    (status, detail) = (.skipped, skipped)
                }
                let message = detail.map { node in
                    [node.attributes["message"], node.text.trimmingCharacters(in: .whitespacesAndNewlines)]
                        .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "\n")
                }
                cases.append(
                    CaseResult(
                        suite: suite, classname: child.attributes["classname"] ?? "", name: name, status: status,
                        durationMs: seconds.isFinite && seconds >= 0 ? Int64(min(seconds, 1e9) * 1_000) : 0,
                        message: message.flatMap { $0.isEmpty ? nil : String($0.prefix(2_000)) }))
            default:
                continue
            }
        }
    }

    /// Line coverage in percent from a Cobertura report's root `line-rate` (or `lines-covered` / `lines-valid`).
    package static func coveragePercent(_ bytes: [UInt8]) throws(AppError) -> Double {
        let root = try XMLReader.parse(bytes, field: "coverage_xml")
        guard root.name == "coverage" else {
            throw AppError.validation([FieldError(field: "coverage_xml", message: "the root element is <\(root.name)>, not Cobertura's <coverage>")])
        }
        if let rate = root.attributes["line-rate"].flatMap(Double.init), (0...1).contains(rate) { return (rate * 10_000).rounded() / 100 }
        if let covered = root.attributes["lines-covered"].flatMap(Double.init), let valid = root.attributes["lines-valid"].flatMap(Double.init),
            valid > 0, (0...valid).contains(covered)
        {
            return (covered / valid * 10_000).rounded() / 100
        }
        throw AppError.validation([FieldError(field: "coverage_xml", message: "<coverage> has no line-rate between 0 and 1")])
    }
}
