import AITIPCore
import Datasets
import Foundation
import Testing

@testable import Evaluation

@Suite struct ScoringTests {
    @Test func classificationMetricsMatchTheirDefinitions() throws {
        // Classes a and b: 3 of 4 a's right, 1 of 2 b's right.
        let actual = ["a", "a", "a", "a", "b", "b"]
        let predicted = ["a", "a", "a", "b", "b", "a"]
        let metrics = Scoring.classification(actual: actual, predicted: predicted, seed: 7)
        #expect(metrics["accuracy"]?.value == 4.0 / 6.0)
        // precision: a 3/4, b 1/2; recall: a 3/4, b 1/2; F1 the same per class.
        #expect(abs(metrics["precision_macro"]!.value - 0.625) < 1e-12)
        #expect(abs(metrics["recall_macro"]!.value - 0.625) < 1e-12)
        #expect(abs(metrics["f1_macro"]!.value - 0.625) < 1e-12)
        let interval = try #require(metrics["accuracy"])
        #expect(interval.ciLow! <= interval.value && interval.value <= interval.ciHigh!)
    }

    @Test func regressionMetricsMatchTheirDefinitions() {
        let metrics = Scoring.regression(actual: [1, 2, 3, 4], predicted: [1, 2, 4, 2], seed: 1)
        #expect(metrics["mae"]?.value == 0.75)
        #expect(abs(metrics["rmse"]!.value - (5.0 / 4).squareRoot()) < 1e-12)
        // SST = 5 around the mean 2.5; SSE = 5 → r2 = 0.
        #expect(abs(metrics["r2"]!.value) < 1e-12)
    }

    @Test func intervalsAreTheSameForTheSameSeedAndNarrowWithMoreRows() {
        let small = (0..<50).map { $0 % 5 == 0 ? "x" : "y" }
        let large = (0..<5_000).map { $0 % 5 == 0 ? "x" : "y" }
        let guesses = { (labels: [String]) in labels.indices.map { $0 % 10 == 0 ? "x" : "y" } }
        let first = Scoring.classification(actual: small, predicted: guesses(small), seed: 42)["accuracy"]!
        let again = Scoring.classification(actual: small, predicted: guesses(small), seed: 42)["accuracy"]!
        let wide = first.ciHigh! - first.ciLow!
        let narrow = Scoring.classification(actual: large, predicted: guesses(large), seed: 42)["accuracy"]!
        #expect(first == again)
        #expect(narrow.ciHigh! - narrow.ciLow! < wide / 3)
    }

    @Test func labelsCompareAsValuesNotAsSpellings() {
        #expect(Scoring.canonicalLabel("1.0") == "1")
        #expect(Scoring.canonicalLabel(" 1 ") == "1")
        #expect(Scoring.canonicalLabel("True") == "true")
        #expect(Scoring.canonicalLabel("0.25") == "0.25")
        #expect(Scoring.canonicalLabel("cat") == "cat")
        #expect(EvaluationService.label(.number(1)) == "1")
        #expect(EvaluationService.label(.bool(false)) == "false")
    }
}

@Suite struct GateTests {
    let benchmark = Benchmark.regression

    @Test func aThresholdIsReadInTheMetricsDirection() {
        let candidate = ["mae": MetricValue(value: 0.4), "r2": MetricValue(value: 0.7)]
        let verdict = GateVerdict.decide(
            ["mae": MetricThreshold(threshold: 0.5), "r2": MetricThreshold(threshold: 0.8)], directions: benchmark.directions, candidate: candidate,
            baseline: nil)
        #expect(!verdict.passed)
        #expect(verdict.checks.map(\.passed) == [true, false])
        #expect(verdict.checks[0].reason == "mae 0.4 ≤ threshold 0.5")
        #expect(verdict.checks[1].reason == "r2 0.7 < threshold 0.8")
    }

    @Test func changesAreImprovementsOverTheBaseline() {
        // Lower mae is better: 0.4 against 0.5 is an improvement of 0.1, 20 %.
        let candidate = ["mae": MetricValue(value: 0.4)]
        let baseline = ["mae": MetricValue(value: 0.5)]
        let passes = GateVerdict.decide(
            ["mae": MetricThreshold(minAbsoluteChange: 0.05, minRelativeChange: 0.1)], directions: benchmark.directions, candidate: candidate,
            baseline: baseline)
        #expect(passes.passed)
        let fails = GateVerdict.decide(
            ["mae": MetricThreshold(minRelativeChange: 0.25)], directions: benchmark.directions, candidate: candidate, baseline: baseline)
        #expect(!fails.passed)
        #expect(fails.checks[0].reason.contains("+0.2 (< min_relative_change 0.25)"))
        let noBaseline = GateVerdict.decide(
            ["mae": MetricThreshold(minAbsoluteChange: 0)], directions: benchmark.directions, candidate: candidate, baseline: nil)
        #expect(!noBaseline.passed && noBaseline.checks[0].reason.contains("no baseline"))
    }
}

@Suite struct TableAndReportTests {
    @Test func csvTablesKeepQuotedFieldsAndNameTheBadLine() throws {
        let table = try CSVTable(parsing: Array("a,b\r\n\"x, \"\"y\"\"\",2\n\n3,\"multi\nline\"\n".utf8), maxRows: 10)
        #expect(table.columns == ["a", "b"])
        #expect(table.rows == [["x, \"y\"", "2"], ["3", "multi\nline"]])
        #expect(throws: AppError.self) { try CSVTable(parsing: Array("a,b\n1\n".utf8), maxRows: 10) }
        let short = #expect(throws: AppError.self) { try CSVTable(parsing: Array("a,b\n1,2\n3\n".utf8), maxRows: 10) }
        #expect(short?.detail == "line 3: 1 fields where the header has 2")
        let long = #expect(throws: AppError.self) { try CSVTable(parsing: Array("a\n1\n2\n3\n".utf8), maxRows: 2) }
        #expect(long?.detail == "more than 2 rows")
        #expect(throws: AppError.self) { try CSVTable(parsing: Array("a\n\"open\n".utf8), maxRows: 10) }
        #expect(throws: AppError.self) { try CSVTable(parsing: [], maxRows: 10) }
    }

    @Test func featuresLeaveQuotingIntact() {
        #expect(EvaluationService.csvField("plain") == "plain")
        #expect(EvaluationService.csvField("a,\"b\"") == "\"a,\"\"b\"\"\"")
    }

    @Test func theReportEscapesWhatUsersNamed() {
        let hostile = "<script>alert(1)</script>"
        let page = HTMLText.escape(hostile)
        #expect(page == "&lt;script&gt;alert(1)&lt;/script&gt;")
        let svg = EvaluationReport.chart(
            names: ["accuracy"], candidate: ["accuracy": MetricValue(value: 0.9, ciLow: 0.85, ciHigh: 0.95)], baseline: nil)
        #expect(svg.contains("candidate 0.9") && !svg.contains("baseline"))
    }
}
