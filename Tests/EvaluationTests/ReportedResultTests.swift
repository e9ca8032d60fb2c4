import AITIPCore
import Foundation
import Testing

@testable import Evaluation

@Suite struct ReportedResultTests {
    /// Written by lm_eval 0.4.13 (CPU, a tiny random GPT-2, two local tasks: a multiple-choice one and a perplexity
    /// one), as it wrote it.
    static let lmEvalFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures/lm-eval-results.json")

    @Test func lmEvalResultsBecomeTaskMetricsWithIntervalsAndDirections() throws {
        let result = try ReportedResult.lmEval(try Data(contentsOf: Self.lmEvalFixture))
        let accuracy = try #require(result.metrics["aitip_tiny_mc/acc"])
        #expect(accuracy.value == 0.45)
        #expect(abs(accuracy.ciLow! - (0.45 - 1.96 * 0.11413288653790232)) < 1e-12)
        #expect(abs(accuracy.ciHigh! - (0.45 + 1.96 * 0.11413288653790232)) < 1e-12)
        // lm-eval writes "N/A" where it has no standard error: no interval then.
        let perplexity = try #require(result.metrics["aitip_tiny_ppl/word_perplexity"])
        #expect(perplexity.ciLow == nil && perplexity.ciHigh == nil)
        #expect(
            Set(result.metrics.keys) == [
                "aitip_tiny_mc/acc", "aitip_tiny_mc/acc_norm", "aitip_tiny_ppl/word_perplexity", "aitip_tiny_ppl/byte_perplexity",
                "aitip_tiny_ppl/bits_per_byte",
            ])
        #expect(result.directions["aitip_tiny_mc/acc"] == true && result.directions["aitip_tiny_ppl/bits_per_byte"] == false)
        #expect(result.rows == 30)
        // The gate reads lm-eval's direction: a perplexity under its bound passes.
        let verdict = GateVerdict.decide(
            ["aitip_tiny_ppl/byte_perplexity": MetricThreshold(threshold: 6)], directions: result.directions, candidate: result.metrics,
            baseline: nil)
        #expect(verdict.passed, "\(verdict)")
    }

    @Test func aFilterOtherThanNoneIsPartOfTheName() throws {
        let file = #"{"results": {"gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.25, "exact_match_stderr,strict-match": 0.01}}}"#
        let result = try ReportedResult.lmEval(Data(file.utf8))
        #expect(result.metrics["gsm8k/exact_match/strict-match"]?.value == 0.25)
        #expect(result.directions.isEmpty)
    }

    @Test func aScriptResultReadsNumbersObjectsAndSlices() throws {
        let file = """
            {"rows": 10, "metrics": {"auc": 0.9, "brier": {"value": 0.1, "ci_low": 0.05, "ci_high": 0.2, "greater_is_better": false}},
             "slices": [{"column": "region", "value": "eu", "rows": 4, "metrics": {"auc": 0.8}}, {"column": "tier", "value": 2, "metrics": {"auc": 1}}]}
            """
        let result = try ReportedResult.script(Data(file.utf8))
        #expect(result.rows == 10)
        #expect(result.metrics["auc"] == MetricValue(value: 0.9))
        #expect(result.metrics["brier"] == MetricValue(value: 0.1, ciLow: 0.05, ciHigh: 0.2))
        #expect(result.directions == ["brier": false])
        #expect(result.slices.map(\.value) == ["eu", "2"] && result.slices[0].rows == 4 && result.slices[1].rows == 0)
    }

    @Test(arguments: [
        ("[1, 2]", "the result must be a JSON object"),
        (#"{"rows": 3}"#, "no \"metrics\" object"),
        (#"{"metrics": {"auc": "high"}}"#, "metrics.auc must be a number or an object"),
        (#"{"metrics": {"auc": {"value": 1, "greater_is_better": "yes"}}}"#, "greater_is_better must be true or false"),
        (#"{"metrics": {"auc": Infinity}}"#, "metrics.auc must be a finite number"),
        (#"{"metrics": {"auc": 1}, "rows": -1}"#, "rows must be a whole number"),
        (#"{"metrics": {"auc": 1}, "slices": [{"value": "x", "metrics": {}}]}"#, "slices[0].column"),
        (#"{"metrics": {"auc": 1}, "slices": [{"column": "c", "value": null, "metrics": {}}]}"#, "slices[0].value"),
        (#"{"metrics": {"<script>": 1}}"#, "a metric named '<script>'"),
        (#"{"metrics": {"a/../b": 1}}"#, "without '..'"),
        (#"{"metrics": {"m": 1}, "slices": [{"column": "c\u001b[2J", "value": "x", "metrics": {}}]}"#, "without control characters"),
    ])
    func aBadScriptResultSaysWhatIsWrong(file: String, words: String) {
        #expect {
            _ = try ReportedResult.script(Data(file.utf8))
        } throws: { error in
            (error as? AppError)?.detail.contains(words) == true
        }
    }

    @Test func aResultFileLargerThanTheLimitIsRefusedUnread() {
        let huge = Data(repeating: 0x20, count: ReportedResult.maxBytes + 1)
        #expect(throws: AppError.self) { try ReportedResult.script(huge) }
        #expect(throws: AppError.self) { try ReportedResult.lmEval(huge) }
    }

    @Test func slicesHoldAtMostTwentyThousandValuesInAll() throws {
        let metrics = "{" + (0..<500).map { "\"m\($0)\": 1" }.joined(separator: ", ") + "}"
        let slices = (0..<41).map { #"{"column": "c", "value": "\#($0)", "metrics": \#(metrics)}"# }.joined(separator: ", ")
        #expect {
            _ = try ReportedResult.script(Data(#"{"metrics": {"m": 1}, "slices": [\#(slices)]}"#.utf8))
        } throws: { error in
            (error as? AppError)?.detail.contains("more than 20000 metric values") == true
        }
    }

    /// The file is the job's word: counts that overflow an integer, or a standard error whose interval is not finite,
    /// must not stop the server or the scorer.
    @Test func lmEvalNumbersThatWouldOverflowAreClampedOrDropped() throws {
        let file = """
            {"results": {"t": {"acc,none": 0.5, "acc_stderr,none": 1e308}},
             "n-samples": {"a": {"effective": 9e18}, "b": {"effective": 9e18}}}
            """
        let result = try ReportedResult.lmEval(Data(file.utf8))
        #expect(result.metrics["t/acc"] == MetricValue(value: 0.5))
        #expect(result.rows == 1_000_000_000_000_000)
    }

    @Test func anLMEvalFileWithoutNumericMetricsIsRefused() {
        #expect(throws: AppError.self) { try ReportedResult.lmEval(Data(#"{"results": {"t": {"alias": "t"}}}"#.utf8)) }
        #expect(throws: AppError.self) { try ReportedResult.lmEval(Data(#"{"configs": {}}"#.utf8)) }
    }
}

@Suite struct ScriptJobTests {
    @Test func anMLflowTransformersModelHasItsTokenizerInAnotherFolder() throws {
        let files = ["MLmodel", "model/config.json", "model/model.safetensors", "components/tokenizer/tokenizer_config.json"]
        let folder = try EvaluationService.HuggingFaceFolder(files, of: "models:/lm/1", field: "model")
        #expect(folder.model == "model" && folder.tokenizer == "components/tokenizer")
        let plain = try EvaluationService.HuggingFaceFolder(["config.json", "tokenizer.json"], of: "models:/lm/1", field: "model")
        #expect(plain.model == nil && plain.tokenizer == nil)
    }

    @Test func aModelThatIsNotAHuggingFaceFolderIsRefused() {
        #expect(throws: AppError.self) {
            try EvaluationService.HuggingFaceFolder(["MLmodel", "python_model.pkl"], of: "models:/m/1", field: "model")
        }
        // Its folder goes on lm_eval's command line: nothing a shell would read.
        #expect(throws: AppError.self) {
            try EvaluationService.HuggingFaceFolder(["a$(reboot)/config.json"], of: "models:/m/1", field: "model")
        }
    }

    @Test func theLMEvalCommandRunsEachModelOnTheGPUAndHandsItsResultsBack() throws {
        let folder = try EvaluationService.HuggingFaceFolder(
            ["model/config.json", "components/tokenizer/tokenizer.json"], of: "models:/lm/1", field: "model")
        let script = EvaluationService.lmEvalEntrypoint(
            python: "/opt/venv/bin/python", options: .init(tasks: ["hellaswag", "my_task"], numFewshot: 5, limit: 100, batchSize: nil),
            roles: [("baseline", folder), ("candidate", folder)])
        #expect(script.contains(#"--model_args "pretrained=$PWD/candidate/model,tokenizer=$PWD/candidate/components/tokenizer""#))
        #expect(script.contains("--tasks 'hellaswag,my_task' --device cuda --batch_size auto --include_path data --num_fewshot 5 --limit 100"))
        #expect(script.contains("/opt/venv/bin/python -m lm_eval --model hf"))
        #expect(script.range(of: "baseline")!.lowerBound < script.range(of: "candidate")!.lowerBound)
        #expect(script.contains("aitip.file result.candidate"))
    }

    @Test func aServingJobRunsTheBaselineFirstWithOnlyItsOwnNumbersOnTheCommandLine() throws {
        let script = try EvaluationService.servingEntrypoint(
            python: "python3", options: .init(requests: 10, concurrency: 2), roles: ["baseline", "candidate"])
        #expect(script.contains(#"python3 .aitip-serving.py baseline '{"batch_rows":1,"concurrency":2,"requests":10,"warmup":20}' || exit $?"#))
        #expect(script.range(of: "baseline")!.lowerBound < script.range(of: "candidate")!.lowerBound)
        var validator = Validator()
        EvaluationService.ServingOptions(requests: 0, concurrency: 65, batchRows: 1, warmup: -1).check(&validator)
        #expect(throws: AppError.self) { try validator.finish() }
    }

    /// The wrapper of a custom script, run by a real shell: the command runs in the unpacked code package once per
    /// model, with its variables, and each result file is printed for aitip.
    @Test func theCustomWrapperRunsTheCommandPerModelAndPrintsTheResults() throws {
        let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-custom-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: workspace) }
        let code = workspace.appendingPathComponent("src")
        for folder in ["src", "candidate", "baseline", "data"] {
            try FileManager.default.createDirectory(at: workspace.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try Data("#!/bin/sh\nprintf '{\"metrics\": {\"m\": %s}}' \"$(cat \"$AITIP_MODEL_DIR/value\")\" > \"$AITIP_RESULT_FILE\"\n".utf8).write(
            to: code.appendingPathComponent("score.sh"))
        try Data("1".utf8).write(to: workspace.appendingPathComponent("baseline/value"))
        try Data("2".utf8).write(to: workspace.appendingPathComponent("candidate/value"))
        try run("/usr/bin/tar", ["-czf", workspace.appendingPathComponent(".aitip-code.tar.gz").path, "-C", code.path, "."], in: workspace)
        let script = EvaluationService.customEntrypoint(command: "sh score.sh && test \"$AITIP_MODEL_ROLE\" != x", roles: ["baseline", "candidate"])
        let output = try run("/bin/sh", ["-c", script], in: workspace)
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("aitip.file ") }
        #expect(lines.count == 2)
        let decoded = lines.map { line in String(decoding: Data(base64Encoded: String(line.split(separator: " ")[2]))!, as: UTF8.self) }
        #expect(decoded == [#"{"metrics": {"m": 1}}"#, #"{"metrics": {"m": 2}}"#])
        #expect(lines[0].hasPrefix("aitip.file result.baseline ") && lines[1].hasPrefix("aitip.file result.candidate "))
    }

    @discardableResult
    private func run(_ program: String, _ arguments: [String], in directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: output, as: UTF8.self)
    }
}
