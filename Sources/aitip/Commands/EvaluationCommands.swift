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
                The baseline is the model's champion alias unless --baseline names another version (or none). The label
                column stays on the server; the models see the other columns. --python is the interpreter that loads
                them (with mlflow and pandas).
                """)
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "models:/NAME/VERSION or models:/NAME@ALIAS.") var model: String
        @Option(help: "classification or regression (aitip eval benchmarks).") var benchmark: String
        @Option(help: "Dataset id or name.") var dataset: String
        @Option(help: "Dataset version (default: the latest).") var version: String?
        @Option(help: "The csv file in the version (default: its only csv file).") var path: String?
        @Option(help: "The label column.") var target: String
        @Option(help: "models:/… to compare with, or none (default: the champion alias).") var baseline: String?
        @Option(help: "Score per value of this column too (repeatable).") var slice: [String] = []
        @Option(help: "METRIC=VALUE the metric must reach (repeatable).") var threshold: [String] = []
        @Option(help: "METRIC=VALUE least improvement over the baseline (repeatable).") var minAbsoluteChange: [String] = []
        @Option(help: "METRIC=VALUE least relative improvement over the baseline, 0.01 = 1 % (repeatable).") var minRelativeChange: [String] = []
        @Option(help: "Interpreter that loads the models (default python3).") var python: String?
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
                let resources = Components.Schemas.Resources(cpu: cpu, memoryMib: memoryMib)
                let client = try APIClient(server: options.server)
                let datasetId = try await DatasetsCommand.resolve(dataset, project: project, api: client.api)
                let body = Components.Schemas.EvaluationJobCreate(
                    projectId: project, name: name, model: model, baseline: baseline, benchmark: benchmark,
                    dataset: .init(datasetId: datasetId, version: version, path: path), target: target, sliceBy: slice.isEmpty ? nil : slice,
                    thresholds: thresholds.isEmpty ? nil : .init(additionalProperties: thresholds), python: python,
                    resources: resources == .init() ? nil : resources)
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
