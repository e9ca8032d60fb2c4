import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation
import OpenAPIRuntime

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluations: score a registered model version on a dataset version against its champion, with a gate.",
        subcommands: [Benchmarks.self, Run.self, List.self, Get.self, Results.self, Report.self, Logs.self, Stop.self, Delete.self])

    static let columns = ["id", "name", "model", "baseline", "benchmark", "status", "result_state", "gate_passed", "result_error"]

    struct Benchmarks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The benchmarks an evaluation can run, with their metrics.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await ClientCall.show(options, columns: ["name", "version", "task", "title"]) { api in try await api.listBenchmarks().ok.body.json }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a model version; with --wait, wait for the verdict (exit status 5 when the gate fails).",
            discussion: """
                Example:
                  aitip eval run --project P --model models:/churn/3 --benchmark classification --dataset D --version v2 \\
                    --target churned --slice region --threshold accuracy=0.8 --min-absolute-change f1_macro=0.01 --wait
                  aitip eval run --project P --model models:/churn/3 --benchmark custom --dataset D --code ./eval \
                    --command 'python score.py' --threshold auc=0.7 --wait
                  aitip eval run --project P --model models:/tiny-lm/2 --benchmark lm-eval --dataset TASKS --task my_task \
                    --gpus 1 --python /opt/venv/bin/python --wait
                The baseline is the model's champion alias unless --baseline names another version (or none).
                classification and regression: the label column (--target) stays on the server; the models see the other
                columns; --python is the interpreter that loads them (with mlflow and pandas).
                custom: --command runs in --code (a directory, uploaded) once per model, and writes the JSON result of
                docs/evaluation.md to $AITIP_RESULT_FILE; the model's files are in $AITIP_MODEL_DIR, the dataset's in
                $AITIP_DATASET_DIR.
                lm-eval: lm-evaluation-harness (in --python) runs --task on a GPU, tasks of its own or defined by YAML in
                the dataset version.
                serving: each model is served as an mlflow inference replica is (--python needs mlflow and uvicorn) and
                sent --requests of the csv's rows at --concurrency; --target, if given, is left out of the requests.
                """)
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "models:/NAME/VERSION or models:/NAME@ALIAS.") var model: String
        @Option(help: "classification, regression, custom, lm-eval or serving (aitip eval benchmarks).") var benchmark: String
        @Option(help: "Dataset id or name.") var dataset: String
        @Option(help: "Dataset version (default: the latest).") var version: String?
        @Option(help: "The csv file in the version (default: its only csv file); custom and lm-eval: the one file to take (default: all).")
        var path: String?
        @Option(help: "The label column (classification and regression; serving: a column left out of the requests).")
        var target: String?
        @Option(help: "models:/… to compare with, or none (default: the champion alias).") var baseline: String?
        @Option(help: "Score per value of this column too (repeatable).") var slice: [String] = []
        @Option(help: "METRIC=VALUE the metric must reach (repeatable).") var threshold: [String] = []
        @Option(help: "METRIC=VALUE least improvement over the baseline (repeatable).") var minAbsoluteChange: [String] = []
        @Option(help: "METRIC=VALUE least relative improvement over the baseline, 0.01 = 1 % (repeatable).") var minRelativeChange: [String] = []
        @Option(help: "Interpreter that loads the models or runs lm_eval (default python3).") var python: String?
        @Option(help: "custom: the command that scores one model.") var command: String?
        @Option(help: "custom: the directory the command runs in (packed and uploaded).") var code: String?
        @Option(help: "lm-eval: a task (repeatable).") var task: [String] = []
        @Option(help: "lm-eval: few-shot examples per document.") var numFewshot: Int?
        @Option(help: "lm-eval: documents per task at most.") var limit: Int?
        @Option(help: "lm-eval: batch size (default auto).") var batchSize: Int?
        @Option(help: "GPUs (lm-eval needs 1 or more).") var gpus: Int?
        @Option(help: "serving: measured requests (default 500).") var requests: Int?
        @Option(help: "serving: clients sending at once (default 4).") var concurrency: Int?
        @Option(help: "serving: dataset rows per request (default 1).") var batchRows: Int?
        @Option(help: "serving: unmeasured requests first (default 20).") var warmup: Int?
        @Option(help: "Job name.") var name: String?
        @Option(help: "CPU cores.") var cpu: Double?
        @Option(help: "Memory, MiB.") var memoryMib: Int?
        @Flag(help: "Wait for the results and print them.") var wait = false

        func run() async throws {
            try await runClient {
                var thresholds: [String: Components.Schemas.MetricThreshold] = [:]
                for (pairs, field) in [
                    (threshold, \Components.Schemas.MetricThreshold.threshold),
                    (minAbsoluteChange, \.minAbsoluteChange), (minRelativeChange, \.minRelativeChange),
                ] {
                    for pair in pairs {
                        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                        guard parts.count == 2, let value = Double(parts[1]) else {
                            throw ValidationError("thresholds take METRIC=NUMBER, got '\(pair)'")
                        }
                        thresholds[parts[0], default: .init()][keyPath: field] = value
                    }
                }
                let resources = Components.Schemas.Resources(gpuCount: gpus, cpu: cpu, memoryMib: memoryMib)
                let client = try APIClient(server: options.server)
                let datasetId = try await DatasetsCommand.resolve(dataset, project: project, api: client.api)
                var codeArchive: String?
                if let code { codeArchive = try await CodePackage.upload(code, project: project, client: client) }
                let lmEval =
                    task.isEmpty ? nil : Components.Schemas.LMEvalOptions(tasks: task, numFewshot: numFewshot, limit: limit, batchSize: batchSize)
                let serving = Components.Schemas.ServingOptions(requests: requests, concurrency: concurrency, batchRows: batchRows, warmup: warmup)
                let body = Components.Schemas.EvaluationJobCreate(
                    projectId: project, name: name, model: model, baseline: baseline, benchmark: benchmark,
                    dataset: .init(datasetId: datasetId, version: version, path: path), target: target, sliceBy: slice.isEmpty ? nil : slice,
                    thresholds: thresholds.isEmpty ? nil : .init(additionalProperties: thresholds), python: python, command: command,
                    codeArchive: codeArchive, lmEval: lmEval,
                    serving: serving == .init() ? nil : serving, resources: resources == .init() ? nil : resources)
                let created = try await client.api.createEvaluationJob(body: .json(body)).created.body.json
                guard wait else { return try Output.show(created, format: options.output, columns: EvalCommand.columns) }
                FileHandle.standardError.write(Data("Evaluation \(created.id) queued; waiting for its results…\n".utf8))
                while true {
                    let results = try await client.api.getEvaluationResults(path: .init(evalId: created.id)).ok.body.json
                    if results.resultState != .pending {
                        try Output.show(results, format: options.output, columns: [])
                        if results.resultState == .failed || results.gate?.passed == false { throw ExitCode(5) }
                        return
                    }
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Evaluation jobs, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id.") var project: String?
        func run() async throws {
            try await ClientCall.show(options, columns: EvalCommand.columns) { api in
                try await api.listEvaluationJobs(query: .init(projectId: project, limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an evaluation job.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Evaluation id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getEvaluationJob(path: .init(evalId: id)).ok.body.json }
        }
    }

    struct Results: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The metrics of the model and its baseline, per slice, and the gate's verdict.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Evaluation id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getEvaluationResults(path: .init(evalId: id)).ok.body.json }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save the report as PDF (default) or HTML.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Evaluation id.") var id: String
        @Option(help: "pdf or html.") var format = "pdf"
        @Option(help: "File to write (default: evaluation-ID.pdf or .html).") var out: String?
        func run() async throws {
            try await runClient {
                guard let wanted = Operations.GetEvaluationReport.Input.Query.FormatPayload(rawValue: format) else {
                    throw ValidationError("--format is pdf or html")
                }
                let client = try APIClient(server: options.server)
                let answer = try await client.transfers.getEvaluationReport(path: .init(evalId: id), query: .init(format: wanted)).ok.body
                switch answer {
                case .pdf(let body), .html(let body): try await ReportFile.save(body, to: out ?? "evaluation-\(id).\(format)")
                }
            }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the job's output.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Evaluation id.") var id: String
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let answer = try await client.transfers.getEvaluationJobLogs(path: .init(evalId: id)).ok.body
                for try await chunk in try answer.plainText { FileHandle.standardOutput.write(Data(chunk)) }
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel or stop a job (it ends without results).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Evaluation id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: EvalCommand.columns) { api in
                try await api.stopEvaluationJob(path: .init(evalId: id)).ok.body.json
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a job that is not running, with its log and results.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Evaluation id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted evaluation \(id).") { api in
                _ = try await api.deleteEvaluationJob(path: .init(evalId: id)).noContent
            }
        }
    }
}
