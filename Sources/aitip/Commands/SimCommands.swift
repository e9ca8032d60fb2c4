import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation
import OpenAPIRuntime

struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Simulation: environments (a template, a scenario suite, a sandbox), runs of a model over them, verdicts and reports.",
        subcommands: [
            Templates.self, Create.self, Envs.self, Get.self, Delete.self, Start.self, Stop.self, Run.self, Runs.self, Show.self, Report.self,
            Logs.self, Frames.self,
        ])

    static let environmentColumns = ["id", "name", "template", "isolation_type", "model", "status", "active_runs"]
    static let runColumns = ["id", "model", "state", "finished_scenarios", "safety_score", "passed", "error"]

    struct Templates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The templates, with their versions and scoring.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await ClientCall.show(options, columns: ["name", "version", "family", "gym_id", "max_steps", "slow", "title"]) { api in
                try await api.listSimulationTemplates().ok.body.json
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an environment.",
            discussion: """
                Examples:
                  aitip sim create --project P --name cartpole-gate --template cartpole --model models:/balancer@champion \\
                    --suite suite.json --isolation gvisor --python /opt/venv/bin/python
                  aitip sim create --project P --name my-sim --template custom --code examples/custom-simulation \\
                    --command 'python3 pole_sim.py' --suite suite.json
                suite.json is the scenario_config: {"seeds": [...] or "seed_count": 20, "max_steps": …,
                "scenarios": [{"name": "wind", "category": "disturbance", "perturbations": {"push": {"magnitude": 0.5,
                "every": 50}}}], "pass_score": 80, "category_pass_scores": {…}, "cost_limit": …, "max_violation_rate": …,
                "penalties": {…}} (docs/simulation.md).
                """)
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Environment name.") var name: String
        @Option(help: "Template (aitip sim templates).") var template: String
        @Option(help: "The scenario suite, a JSON file (default: 20 seeds, one nominal scenario).") var suite: String?
        @Option(help: "Seeds 0…N-1 (instead of the suite's seeds).") var seeds: Int?
        @Option(help: "container (bubblewrap + seccomp, default), gvisor or vm.") var isolation: String?
        @Option(help: "Model played by start: models:/NAME/VERSION or models:/NAME@ALIAS.") var model: String?
        @Option(help: "The interpreter scenarios run (needs mlflow, numpy, pandas and the template's packages).") var python: String?
        @Option(help: "Custom template: what starts your simulator.") var command: String?
        @Option(help: "Custom template: your simulator's directory, packaged and uploaded.") var code: String?
        @Option(help: "Cores per scenario.") var cpu: Double?
        @Option(help: "Memory per scenario, MiB.") var memoryMib: Int?
        @Option(help: "Description.") var description: String?

        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                var config = try suite.map { path in
                    try JSONDecoder().decode(Components.Schemas.ScenarioSuite.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                }
                if let seeds {
                    config = config ?? .init()
                    (config!.seeds, config!.seedCount) = (nil, seeds)
                }
                guard isolation == nil || Components.Schemas.SimulationEnvironmentCreate.IsolationTypePayload(rawValue: isolation!) != nil else {
                    throw ValidationError("--isolation is container, gvisor or vm")
                }
                let archive = try await code.asyncMap { try await CodePackage.upload($0, project: project, client: client) }
                let body = Components.Schemas.SimulationEnvironmentCreate(
                    projectId: project, name: name, description: description, template: template, scenarioConfig: config,
                    isolationType: isolation.flatMap { .init(rawValue: $0) },
                    resources: cpu == nil && memoryMib == nil ? nil : .init(cpu: cpu, memoryMib: memoryMib), model: model, python: python,
                    command: command, codeArchive: archive)
                let created = try await client.api.createSimulationEnvironment(body: .json(body)).created.body.json
                try Output.show(created, format: options.output, columns: SimCommand.environmentColumns)
            }
        }
    }

    struct Envs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A project's environments.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id.") var project: String
        func run() async throws {
            try await ClientCall.show(options, columns: SimCommand.environmentColumns) { api in
                try await api.listSimulationEnvironments(query: .init(projectId: project, limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an environment.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Environment id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getSimulationEnvironment(path: .init(envId: id)).ok.body.json }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an environment with its runs (refused while one runs).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Environment id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted simulation environment \(id).") { api in
                _ = try await api.deleteSimulationEnvironment(path: .init(envId: id)).noContent
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the environment's bound model over its suite; with --wait, wait for the verdict (exit status 5 when it fails).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Environment id.") var id: String
        @Flag(help: "Wait for the verdict and print it.") var wait = false
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let run = try await client.api.startSimulationEnvironment(path: .init(envId: id)).created.body.json
                try await SimCommand.finish(run, wait: wait, client: client, options: options)
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the environment's running runs (they end stopped, without a verdict).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Environment id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: SimCommand.environmentColumns) { api in
                try await api.stopSimulationEnvironment(path: .init(envId: id)).ok.body.json
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Play a model over an environment's suite; with --wait, wait for the verdict (exit status 5 when it fails).",
            discussion: """
                Example (a release gate in CI):
                  aitip sim run $ENV --model models:/balancer/7 --seeds 50 --wait
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "Environment id.") var id: String
        @Option(help: "models:/NAME/VERSION or models:/NAME@ALIAS (default: the environment's).") var model: String?
        @Option(help: "Seeds 0…N-1 (default: the suite's).") var seeds: Int?
        @Flag(help: "Wait for the verdict and print it.") var wait = false
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let run = try await client.api.createSimulationRun(path: .init(envId: id), body: .json(.init(model: model, seedCount: seeds)))
                    .created.body.json
                try await SimCommand.finish(run, wait: wait, client: client, options: options)
            }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An environment's runs, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Argument(help: "Environment id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: SimCommand.runColumns) { api in
                try await api.listSimulationRuns(path: .init(envId: id), query: .init(limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run: its scenarios' progress and scores, and its verdict per category.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getSimulationRun(path: .init(runId: id)).ok.body.json }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save a run's report as PDF (default) or HTML.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run id.") var id: String
        @Option(help: "pdf or html.") var format = "pdf"
        @Option(help: "File to write (default: simulation-ID.pdf or .html).") var out: String?
        func run() async throws {
            try await runClient {
                guard let wanted = Operations.GetSimulationReport.Input.Query.FormatPayload(rawValue: format) else {
                    throw ValidationError("--format is pdf or html")
                }
                let client = try APIClient(server: options.server)
                let answer = try await client.transfers.getSimulationReport(path: .init(runId: id), query: .init(format: wanted)).ok.body
                switch answer {
                case .pdf(let body), .html(let body): try await ReportFile.save(body, to: out ?? "simulation-\(id).\(format)")
                }
            }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one scenario's output.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run id.") var id: String
        @Argument(help: "Scenario name.") var scenario: String
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let answer = try await client.transfers.getSimulationScenarioLogs(path: .init(runId: id, scenario: scenario)).ok.body
                for try await chunk in try answer.plainText { FileHandle.standardOutput.write(Data(chunk)) }
            }
        }
    }

    struct Frames: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save the frames a scenario rendered as PNG files (seed-<seed>-step-<step>.png), and list them.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Run id.") var id: String
        @Argument(help: "Scenario name.") var scenario: String
        @Option(name: [.customShort("d"), .long], help: "Directory to save them in (created if missing).") var dir: String = "."
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let found = try await client.api.getSimulationScenarioFrames(path: .init(runId: id, scenario: scenario)).ok.body.json
                if let problem = found.problem { FileHandle.standardError.write(Data("No frames: \(problem)\n".utf8)) }
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for frame in found.frames {
                    let path = "\(dir)/seed-\(frame.seed)-step-\(String(format: "%05d", frame.step)).png"
                    guard let data = Data(base64Encoded: frame.png) else { continue }
                    try data.write(to: URL(fileURLWithPath: path))
                    print("\(path)\tseed \(frame.seed)\tstep \(frame.step)\t\(frame.time) s")
                }
            }
        }
    }

    /// Prints the run; with `wait`, polls until it has a verdict, prints that, and exits 5 unless it passed.
    static func finish(_ run: Components.Schemas.SimulationRun, wait: Bool, client: APIClient, options: ClientOptions) async throws {
        guard wait else { return try Output.show(run, format: options.output, columns: runColumns) }
        FileHandle.standardError.write(Data("Simulation run \(run.id) queued (\(run.scenarios.count) scenarios); waiting for its verdict…\n".utf8))
        while true {
            let current = try await client.api.getSimulationRun(path: .init(runId: run.id)).ok.body.json
            if current.state != .running {
                try Output.show(current, format: options.output, columns: runColumns)
                if current.passed != true { throw ExitCode(5) }
                return
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}
