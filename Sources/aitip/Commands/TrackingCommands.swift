import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation

struct ExperimentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments", abstract: "Experiments of a project (the same ones MLflow clients see).",
        subcommands: [List.self, Get.self, Create.self])

    static let columns = ["id", "name", "lifecycle_stage", "created_at"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's experiments, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "active (default), deleted or all.") var view: String?
        @Option(help: "e.g. \"name LIKE 'detector%'\".") var filter: String?
        func run() async throws {
            let view: Components.Schemas.ViewType? = try Choice.parse(view, "--view")
            try await ClientCall.show(options, columns: ExperimentsCommand.columns) { api in
                try await api.listExperiments(
                    path: .init(projectId: project),
                    query: .init(view: view, filter: filter, limit: page.limit, cursor: page.cursor)
                ).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one experiment.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Experiment id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getExperiment(path: .init(experimentId: id)).ok.body.json }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an experiment in a project.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Name, unique in the project.") var name: String
        @Option(help: "What it is about.") var description: String?
        @Option(help: "What it tests.") var hypothesis: String?
        func run() async throws {
            try await ClientCall.show(options) { api in
                try await api.createExperiment(
                    path: .init(projectId: project),
                    body: .json(.init(name: name, description: description, hypothesis: hypothesis))
                ).created.body.json
            }
        }
    }
}

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "Runs of an experiment: list with MLflow's search grammar, show, compare.",
        subcommands: [List.self, Get.self, Compare.self])

    static let columns = ["id", "name", "status", "user", "start_time"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, e.g. --filter \"metrics.acc > 0.9\" --order-by \"metrics.acc DESC\".")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Experiment id.") var experiment: String
        @Option(help: "Search filter (metrics., params., tags., attributes. comparisons joined by AND).") var filter: String?
        @Option(help: "Sort, e.g. \"metrics.acc DESC\".") var orderBy: String?
        @Option(help: "active (default), deleted or all.") var view: String?
        func run() async throws {
            let view: Components.Schemas.ViewType? = try Choice.parse(view, "--view")
            try await ClientCall.show(options, columns: RunsCommand.columns) { api in
                try await api.listRuns(
                    path: .init(experimentId: experiment),
                    query: .init(filter: filter, orderBy: orderBy.map { [$0] }, view: view, limit: page.limit, cursor: page.cursor)
                )
                .ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run with its params, tags and latest metrics.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getRun(path: .init(runId: id)).ok.body.json }
        }
    }

    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Params and latest metrics of several runs side by side.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Two or more run ids.") var ids: [String]

        func validate() throws {
            guard ids.count >= 2 else { throw ValidationError("Name at least two runs to compare.") }
        }

        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                var runs: [Components.Schemas.Run] = []
                for id in ids { runs.append(try await client.api.getRun(path: .init(runId: id)).ok.body.json) }
                let comparison = Self.rows(runs)
                if options.output == .table {
                    let columns = ["key"] + runs.map(\.name)
                    print(
                        Output.table(
                            comparison.map { row in
                                var line: [String: Any] = ["key": row.key]
                                for (index, value) in row.values.enumerated() { line[columns[index + 1]] = value }
                                return line
                            }, columns: columns), terminator: "")
                } else {
                    try Output.show(["runs": runs], format: options.output, columns: [])
                }
            }
        }

        /// One row per param and metric key any of the runs has, in key order; blanks where a run lacks it.
        static func rows(_ runs: [Components.Schemas.Run]) -> [(key: String, values: [String])] {
            var keys = Set<String>()
            var cells: [[String: String]] = []
            for run in runs {
                var values: [String: String] = [:]
                for (key, value) in run.params.additionalProperties { values["params.\(key)"] = value }
                for metric in run.metrics {
                    values["metrics.\(metric.key)"] = metric.nonfinite?.rawValue ?? Output.cell(metric.value.map { NSNumber(value: $0) })
                }
                keys.formUnion(values.keys)
                cells.append(values)
            }
            return keys.sorted().map { key in (key, cells.map { $0[key] ?? "" }) }
        }
    }
}

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Registered models of a project, their versions and lineage.",
        subcommands: [List.self, Get.self, Versions.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's registered models.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "e.g. \"name LIKE 'detector%'\".") var filter: String?
        func run() async throws {
            try await ClientCall.show(options, columns: ["name", "latest_version", "aliases", "updated_at"]) { api in
                try await api.listModels(path: .init(projectId: project), query: .init(filter: filter, limit: page.limit, cursor: page.cursor)).ok
                    .body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a registered model with its versions.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Argument(help: "Model name.") var name: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getModel(path: .init(projectId: project, name: name)).ok.body.json }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A model's versions with their lineage (run, experiment, training job, dataset version).")
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Argument(help: "Model name.") var name: String
        func run() async throws {
            try await ClientCall.show(
                options,
                columns: [
                    "version", "stage", "aliases", "run_id", "experiment_id", "training_job_id", "dataset_version_id",
                    "created_at",
                ]
            ) { api in
                ["items": try await api.getModel(path: .init(projectId: project, name: name)).ok.body.json.versions]
            }
        }
    }
}

/// A flag whose values are an enumeration of the API: checked here, with the values it takes in the message.
enum Choice {
    static func parse<T: RawRepresentable & CaseIterable>(_ text: String?, _ flag: String) throws -> T? where T.RawValue == String {
        guard let text else { return nil }
        guard let value = T(rawValue: text) else {
            throw ValidationError("\(flag) takes \(T.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
        }
        return value
    }
}

struct TracesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traces", abstract: "MLflow 3 traces of an experiment: list with the trace search grammar, show one with its spans.",
        subcommands: [List.self, Get.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List traces, newest first, e.g. --filter \"status = 'ERROR'\".")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Experiment id.") var experiment: String
        @Option(help: "Search filter (trace_id, name, status, timestamp_ms, execution_time_ms, run_id, tags., metadata.).") var filter: String?
        func run() async throws {
            try await ClientCall.show(options, columns: ["trace_id", "name", "state", "execution_ms", "run_id"]) { api in
                try await api.listTraces(
                    path: .init(experimentId: experiment), query: .init(filter: filter, limit: page.limit, cursor: page.cursor)
                )
                .ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one trace with its spans (inputs and outputs as the client wrote them).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Trace id (tr-…).") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getTrace(path: .init(traceId: id)).ok.body.json }
        }
    }
}
