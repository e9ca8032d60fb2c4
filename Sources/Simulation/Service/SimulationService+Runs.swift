import AITIPCore
import Executors
import Foundation
import Identity
import Storage
import Tracking
import Workloads

/// Runs: a model version played over an environment's suite, one workload per scenario.
extension SimulationService {
    /// What a run may change of its environment's defaults.
    package struct RunInput: Sendable {
        /// `models:/…`; nil: the environment's model.
        package var model: String?
        package var seeds: [Int]?
        package var scenarios: [ScenarioSuite.Scenario]?

        package init(model: String? = nil, seeds: [Int]? = nil, scenarios: [ScenarioSuite.Scenario]? = nil) {
            self.model = model
            self.seeds = seeds
            self.scenarios = scenarios
        }
    }

    static let modelFolder = "model"
    static let resultFile = ".aitip-result.json"
    static let resultName = "result"
    static let framesFile = ".aitip-frames.json"
    static let framesName = "frames"
    /// Where the model's sandbox serves it (`aitip_sim.serve_policy`), in the directory both sandboxes share.
    static let policySocket = "\(LaunchRequest.companionLink)/policy.sock"
    static func scenarioFile(_ name: String) -> String { ".aitip-scenario-\(name).json" }

    /// Starts a run of the environment's bound model with its suite (`POST …/start`).
    package func start(_ environmentId: UUID, caller: Caller) async throws -> SimulationRun {
        try await createRun(environmentId, RunInput(), caller: caller)
    }

    package func createRun(_ environmentId: UUID, _ input: RunInput, caller: Caller) async throws -> SimulationRun {
        let environment = try await authorized(environmentId, Self.write, caller: caller)
        let principal = try caller.requirePrincipal()
        let scope = try await workloads.scope(project: environment.projectId, permission: Self.write, caller: caller)
        // Playing a model reads it: the registry's permission is asked as well as the simulation's.
        try Policy.authorize(principal, .experimentsRead, on: scope.policyResource)
        guard let template = SimulationTemplate.named(environment.template) else {
            throw AppError(.internalError, "environment \(environment.id) names the unknown template \(environment.template)")
        }
        var suite = try environment.suite
        if let seeds = input.seeds { suite.seeds = seeds }
        if let scenarios = input.scenarios { suite.scenarios = scenarios }
        var validator = Validator()
        suite.check(&validator, for: template, field: "run")
        validator.check(suite.seeds.count * suite.scenarios.count <= Self.maxEpisodes, "run", Self.episodesMessage)
        guard let text = input.model ?? environment.modelURI else {
            validator.add("model", "is required: the environment has no model (name one here, or bind one to the environment)")
            try validator.finish()
            throw AppError.badRequest("model is required")
        }
        let reference = ModelReference(text)
        validator.check(reference != nil, "model", "must be models:/<name>/<version> or models:/<name>@<alias>")
        try validator.finish()
        let model = try await tracking.modelVersion(reference!, inProject: scope, field: "model")
        _ = try await database.read { sql in
            try await workloads.prepare(try Self.submission(for: environment, probe: true), kind: Self.kind, in: scope, caller: caller, on: sql)
        }
        let resolved = suite
        let archive = try await workloads.packCode(
            objectsUnder: [(try model.artifactPrefix(field: "model"), Self.modelFolder)], includingCode: environment.codeArchive,
            extra: try Self.packageFiles(suite: resolved, template: template), org: scope.orgId
        ) { _, files in
            try model.requireMLflowModel(files, field: "model", otherwise: "a simulation plays the model with mlflow.pyfunc")
        }
        let now = clock.now()
        let runId = IDGenerator.uuidV7(at: now)
        let modelSandbox: SimulationRun.ModelSandbox = workloads.runsCompanions ? .own : .shared
        let details = SimulationRun.Details(
            id: runId, envId: environment.id, orgId: environment.orgId, projectId: environment.projectId, createdBy: principal.userId,
            template: template.name, templateVersion: template.version, isolationType: environment.isolationType,
            modelName: model.modelName, modelVersion: model.version.version, modelVersionId: model.version.id,
            suite: String(decoding: try JSONEncoder.sorted.encode(resolved), as: UTF8.self), suiteOverridden: resolved != (try environment.suite),
            modelSandbox: modelSandbox,
            state: .running, results: nil, safetyScore: nil,
            passed: nil, error: nil, createdMs: now.epochMilliseconds, completedMs: nil)
        let scenarios: [SimulationRun.Scenario] = try await database.transaction { sql in
            // Locked, so that the environment cannot be deleted under the run being added.
            guard try await SimulationStore.environment(environment.id, locking: true, on: sql) != nil else {
                throw AppError.notFound("Simulation environment")
            }
            var made: [SimulationRun.Scenario] = []
            for (position, scenario) in resolved.scenarios.enumerated() {
                var submission = try Self.submission(for: environment)
                submission.name = "sim-\(environment.name)-\(scenario.name)"
                submission.entrypoint = Self.entrypoint(
                    for: environment, template: template, scenario: scenario.name, modelSandbox: modelSandbox)
                if modelSandbox == .own { submission.companion = Self.modelServer(for: environment) }
                submission.codeArchive = archive.sha256
                submission.systemEnv = ["AITIP_MODEL_URI": details.modelURI, "AITIP_SIMULATION_RUN": runId.lowercasedString]
                if let runtime = environment.maxRuntimeSeconds {
                    // The runner ends its episodes as "limit" and writes its result before the runtime limit ends the job.
                    submission.systemEnv["AITIP_TIME_LIMIT"] = String(max(1, runtime - max(5, runtime / 10)))
                }
                let workload = try await workloads.prepare(submission, kind: Self.kind, in: scope, caller: caller, on: sql)
                try await workloads.insert(workload, caller: caller, on: sql, audited: false)
                let record = SimulationRun.Record(
                    id: workload.id, runId: runId, position: position, name: scenario.name, category: scenario.category, resultState: .pending,
                    result: nil, error: nil)
                made.append(SimulationRun.Scenario(record: record, workload: workload))
            }
            try await SimulationStore.insert(details, scenarios: made.map(\.record), on: sql)
            try await audit.record(
                on: sql, caller, orgId: environment.orgId, action: "simulation.run.create", targetType: "simulation_run",
                targetId: runId.lowercasedString,
                detail: "\(details.modelURI) over \(resolved.scenarios.count) scenarios × \(resolved.seeds.count) seeds")
            return made
        }
        workloads.wake()
        return SimulationRun(details: details, scenarios: scenarios)
    }

    package func run(_ id: UUID, caller: Caller) async throws -> SimulationRun {
        let principal = try caller.requirePrincipal()
        guard let details = try await database.read({ sql in try await SimulationStore.run(id, on: sql) }),
            principal.visibleOrgIds.contains(details.orgId)
        else { throw AppError.notFound("Simulation run") }
        _ = try await authorized(details.envId, Self.read, caller: caller)
        return try await assemble([details])[0]
    }

    /// An environment's runs, newest first.
    package func runs(of environmentId: UUID, limit: Int, cursor: String?, caller: Caller) async throws -> Page<SimulationRun> {
        let environment = try await authorized(environmentId, Self.read, caller: caller)
        let after = try Cursor.parse(cursor).map { cursor throws(AppError) in (try cursor.int64(0), try cursor.uuid(1)) }
        let rows = try await database.read { sql in
            try await SimulationStore.runs(environment: environment.id, after: after, limit: limit + 1, on: sql)
        }
        let items = Array(rows.prefix(limit))
        let next = rows.count > limit ? items.last.map { Cursor(String($0.createdMs), $0.id.lowercasedString).text } : nil
        return Page(items: try await assemble(items), nextCursor: next)
    }

    /// The log of one scenario's workload (the runner's messages, the simulator's output).
    package func scenarioLog(run id: UUID, scenario name: String, caller: Caller) async throws -> Workload {
        let run = try await run(id, caller: caller)
        guard let scenario = run.scenarios.first(where: { $0.record.name == name }) else { throw AppError.notFound("Scenario") }
        return scenario.workload
    }

    package var logs: LogHub { workloads.logs }

    func assemble(_ runs: [SimulationRun.Details]) async throws -> [SimulationRun] {
        let records = try await database.read { sql in try await SimulationStore.scenarios(of: runs.map(\.id), on: sql) }
        let byId = Dictionary(uniqueKeysWithValues: try await workloads.workloads(records.map(\.id)).map { ($0.id, $0) })
        let byRun = Dictionary(grouping: records, by: \.runId)
        return try runs.map { details in
            let scenarios = try (byRun[details.id] ?? []).map { record in
                guard let workload = byId[record.id] else { throw AppError(.internalError, "scenario \(record.id) has no workload") }
                return SimulationRun.Scenario(record: record, workload: workload)
            }
            return SimulationRun(details: details, scenarios: scenarios)
        }
    }

    // MARK: the workload's side

    /// The runner, its library and one scenario file per scenario, at the top of the package.
    static func packageFiles(suite: ScenarioSuite, template: SimulationTemplate) throws -> [String: Data] {
        var files: [String: Data] = [
            SimulationRunner.libraryFile: Data(SimulationRunner.librarySource.utf8),
            SimulationRunner.runnerFile: Data(SimulationRunner.runnerSource.utf8),
        ]
        for scenario in suite.scenarios {
            let file = SimulationRunner.ScenarioFile(
                template: template.name, templateVersion: template.version, seeds: suite.seeds, maxSteps: suite.maxSteps ?? template.maxSteps,
                frames: suite.frames ?? ScenarioSuite.defaultFrames, scenario: scenario)
            files[scenarioFile(scenario.name)] = try JSONEncoder.sorted.encode(file)
        }
        return files
    }

    /// One scenario: the built-in runner or the user's command (inside their unpacked code package), with the
    /// adapter's variables set; then the result and frames files are printed to the log for the collector. With a
    /// model sandbox of its own, the simulator asks the model over `policySocket`.
    static func entrypoint(
        for environment: SimulationEnvironment, template: SimulationTemplate, scenario: String, modelSandbox: SimulationRun.ModelSandbox
    ) -> String {
        var script = """
            here=$PWD
            export AITIP_MODEL_DIR="$here/\(modelFolder)" AITIP_SCENARIO_FILE="$here/\(scenarioFile(scenario))" AITIP_RESULT_FILE="$here/\(resultFile)"
            export AITIP_FRAMES_FILE="$here/\(framesFile)" PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg SDL_VIDEODRIVER=dummy MUJOCO_GL=egl

            """
        if modelSandbox == .own { script += "export AITIP_POLICY_SOCKET=\(policySocket)\n" }
        switch template.runner {
        case .gymnasium:
            script += "\(environment.python) \(SimulationRunner.runnerFile)\n"
        case .custom:
            script += """
                mkdir -p .aitip-code && tar -xzf \(WorkloadService.codePackageFile) -C .aitip-code || { echo "aitip: the code package could not be unpacked"; exit 1; }
                (cd .aitip-code && export AITIP_PYTHON=\(environment.python) && /bin/sh -c \(Shell.quote(environment.command ?? "")))

                """
        }
        script += """
            code=$?
            \(LogFiles.printing(framesName, at: framesFile))
            \(LogFiles.printing(resultName, at: resultFile))
            exit $code
            """
        return script
    }

    /// The model's sandbox (the workload's companion): the same package, served by `aitip_sim.serve_policy`.
    static func modelServer(for environment: SimulationEnvironment) -> String {
        """
        export AITIP_MODEL_DIR="$PWD/\(modelFolder)" AITIP_POLICY_SOCKET=\(policySocket) PYTHONPATH="$PWD" MLFLOW_DISABLE_TELEMETRY=true
        exec \(environment.python) \(SimulationRunner.libraryFile) serve
        """
    }
}
