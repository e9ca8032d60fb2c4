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
            var query = page.query
            query["view"] = view
            query["filter"] = filter
            try await ClientCall.show("/api/v1/projects/\(PathSegment.encode(project))/experiments", query: query, options: options,
                                      columns: ExperimentsCommand.columns)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one experiment.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Experiment id.") var id: String
        func run() async throws {
            try await ClientCall.show("/api/v1/experiments/\(PathSegment.encode(id))", options: options)
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
            var body: [String: Any] = ["name": name]
            body["description"] = description
            body["hypothesis"] = hypothesis
            try await ClientCall.create("/api/v1/projects/\(PathSegment.encode(project))/experiments", body: body, options: options)
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
            var query = page.query
            query["filter"] = filter
            query["order_by"] = orderBy
            query["view"] = view
            try await ClientCall.show("/api/v1/experiments/\(PathSegment.encode(experiment))/runs", query: query, options: options,
                                      columns: RunsCommand.columns)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run with its params, tags and latest metrics.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run id.") var id: String
        func run() async throws {
            try await ClientCall.show("/api/v1/runs/\(PathSegment.encode(id))", options: options)
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
                var client = try APIClient(server: options.server)
                var runs: [[String: Any]] = []
                for id in ids {
                    guard let run = try await client.send(.GET, "/api/v1/runs/\(PathSegment.encode(id))") as? [String: Any] else { continue }
                    runs.append(run)
                }
                let comparison = Self.rows(runs)
                if options.output == .table {
                    let columns = ["key"] + runs.map { ($0["name"] as? String) ?? "?" }
                    print(Output.table(comparison.map { row in
                        var line: [String: Any] = ["key": row.key]
                        for (index, value) in row.values.enumerated() { line[columns[index + 1]] = value }
                        return line
                    }, columns: columns), terminator: "")
                } else {
                    try Output.print(["runs": runs], format: options.output, columns: [])
                }
            }
        }

        /// One row per param and metric key any of the runs has, in key order; blanks where a run lacks it.
        static func rows(_ runs: [[String: Any]]) -> [(key: String, values: [String])] {
            var keys = Set<String>()
            var cells: [[String: String]] = []
            for run in runs {
                var values: [String: String] = [:]
                for (key, value) in (run["params"] as? [String: String]) ?? [:] { values["params.\(key)"] = value }
                for metric in (run["metrics"] as? [[String: Any]]) ?? [] {
                    guard let key = metric["key"] as? String else { continue }
                    values["metrics.\(key)"] = (metric["nonfinite"] as? String) ?? Output.cell(metric["value"])
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
            var query = page.query
            query["filter"] = filter
            try await ClientCall.show("/api/v1/projects/\(PathSegment.encode(project))/models", query: query, options: options,
                                      columns: ["name", "latest_version", "aliases", "updated_at"])
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a registered model with its versions.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Argument(help: "Model name.") var name: String
        func run() async throws {
            try await ClientCall.show("/api/v1/projects/\(PathSegment.encode(project))/models/\(PathSegment.encode(name))", options: options)
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A model's versions with their lineage (run, experiment, training job, dataset version).")
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Argument(help: "Model name.") var name: String
        func run() async throws {
            try await runClient {
                var client = try APIClient(server: options.server)
                let answer = try await client.send(.GET, "/api/v1/projects/\(PathSegment.encode(project))/models/\(PathSegment.encode(name))")
                let versions = ((answer as? [String: Any])?["versions"] as? [[String: Any]]) ?? []
                try Output.print(["items": versions], format: options.output,
                                 columns: ["version", "stage", "aliases", "run_id", "experiment_id", "training_job_id", "dataset_version_id", "created_at"])
            }
        }
    }
}
