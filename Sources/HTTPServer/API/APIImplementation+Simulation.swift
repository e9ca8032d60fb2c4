import AITIPAPI
import AITIPCore
import Foundation
import OpenAPIRuntime
import Simulation
import Workloads

extension APIImplementation {
    var simulation: SimulationService { dependencies.simulation }

    func listSimulationTemplates(_ input: Operations.ListSimulationTemplates.Input) async throws -> Operations.ListSimulationTemplates.Output {
        try requireInSomeOrganization(Permission(.simulation, .read))
        return .ok(.init(body: .json(.init(items: SimulationTemplate.catalog.map(Components.Schemas.SimulationTemplate.init)))))
    }

    func listSimulationEnvironments(_ input: Operations.ListSimulationEnvironments.Input) async throws
        -> Operations.ListSimulationEnvironments.Output
    {
        let page = try await simulation.environments(
            project: try Parse.id(input.query.projectId, "project_id"), page: try PageRequest(limit: input.query.limit, cursor: input.query.cursor),
            caller: caller)
        return .ok(.init(body: .json(.init(items: try page.items.map(Components.Schemas.SimulationEnvironment.init), nextCursor: page.nextCursor))))
    }

    func createSimulationEnvironment(_ input: Operations.CreateSimulationEnvironment.Input) async throws
        -> Operations.CreateSimulationEnvironment.Output
    {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let view = try await simulation.createEnvironment(
            .init(
                name: body.name, description: body.description, template: body.template,
                suite: try body.scenarioConfig.map(ScenarioSuite.init(wire:)),
                isolation: body.isolationType.flatMap { IsolationType(rawValue: $0.rawValue) }, cpu: body.resources?.cpu,
                memoryMiB: body.resources?.memoryMib, maxRuntimeSeconds: body.resources?.maxRuntimeSeconds, python: body.python,
                command: body.command, codeArchive: body.codeArchive, model: body.model),
            project: try Parse.id(body.projectId, "project_id"), caller: caller)
        return .created(.init(body: .json(try .init(view))))
    }

    func getSimulationEnvironment(_ input: Operations.GetSimulationEnvironment.Input) async throws -> Operations.GetSimulationEnvironment.Output {
        .ok(.init(body: .json(try .init(try await simulation.environment(try Parse.id(input.path.envId, "env_id"), caller: caller)))))
    }

    func deleteSimulationEnvironment(_ input: Operations.DeleteSimulationEnvironment.Input) async throws
        -> Operations.DeleteSimulationEnvironment.Output
    {
        try await simulation.deleteEnvironment(try Parse.id(input.path.envId, "env_id"), caller: caller)
        return .noContent(.init())
    }

    func startSimulationEnvironment(_ input: Operations.StartSimulationEnvironment.Input) async throws
        -> Operations.StartSimulationEnvironment.Output
    {
        .created(.init(body: .json(.init(try await simulation.start(try Parse.id(input.path.envId, "env_id"), caller: caller)))))
    }

    func stopSimulationEnvironment(_ input: Operations.StopSimulationEnvironment.Input) async throws -> Operations.StopSimulationEnvironment.Output {
        .ok(.init(body: .json(try .init(try await simulation.stop(try Parse.id(input.path.envId, "env_id"), caller: caller)))))
    }

    func listSimulationRuns(_ input: Operations.ListSimulationRuns.Input) async throws -> Operations.ListSimulationRuns.Output {
        let page = try await simulation.runs(
            of: try Parse.id(input.path.envId, "env_id"), limit: try PageRequest.limit(input.query.limit), cursor: input.query.cursor,
            caller: caller)
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.SimulationRun.init), nextCursor: page.nextCursor))))
    }

    func createSimulationRun(_ input: Operations.CreateSimulationRun.Input) async throws -> Operations.CreateSimulationRun.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let run = try await simulation.createRun(
            try Parse.id(input.path.envId, "env_id"),
            .init(
                model: body.model, seeds: try ScenarioSuite.seeds(body.seeds, count: body.seedCount, field: "seeds"),
                scenarios: body.scenarios?.map(ScenarioSuite.Scenario.init(wire:))), caller: caller)
        return .created(.init(body: .json(.init(run))))
    }

    func getSimulationRun(_ input: Operations.GetSimulationRun.Input) async throws -> Operations.GetSimulationRun.Output {
        .ok(.init(body: .json(.init(try await simulation.run(try Parse.id(input.path.runId, "run_id"), caller: caller)))))
    }

    func getSimulationReport(_ input: Operations.GetSimulationReport.Input) async throws -> Operations.GetSimulationReport.Output {
        let format: ReportFormat = input.query.format == .html ? .html : .pdf
        let data = try await simulation.report(try Parse.id(input.path.runId, "run_id"), format: format, caller: caller)
        return .ok(.init(body: format == .html ? .html(HTTPBody(data)) : .pdf(HTTPBody(data))))
    }

    func getSimulationScenarioFrames(_ input: Operations.GetSimulationScenarioFrames.Input) async throws
        -> Operations.GetSimulationScenarioFrames.Output
    {
        let found = try await simulation.frames(run: try Parse.id(input.path.runId, "run_id"), scenario: input.path.scenario, caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        frames: found.frames.map {
                            .init(seed: $0.seed, step: $0.step, time: $0.time, png: $0.png.base64EncodedString())
                        }, dropped: found.dropped, problem: found.problem))))
    }

    func getSimulationScenarioLogs(_ input: Operations.GetSimulationScenarioLogs.Input) async throws
        -> Operations.GetSimulationScenarioLogs.Output
    {
        let workload = try await simulation.scenarioLog(run: try Parse.id(input.path.runId, "run_id"), scenario: input.path.scenario, caller: caller)
        var text = Data()
        var position = max(0, input.query.offset ?? 0)
        while text.count < 64 << 20 {
            let slice = try await simulation.logs.read(workload.id, from: position, limit: 4 << 20)
            if slice.data.isEmpty { break }
            text.append(slice.data)
            position = slice.nextOffset
        }
        return .ok(.init(body: .plainText(HTTPBody(text))))
    }
}

extension ScenarioSuite {
    /// A request's suite: unset fields take their defaults.
    init(wire: Components.Schemas.ScenarioSuite) throws {
        self.init()
        if let seeds = try Self.seeds(wire.seeds, count: wire.seedCount, field: "scenario_config.seeds") { self.seeds = seeds }
        maxSteps = wire.maxSteps
        if let scenarios = wire.scenarios { self.scenarios = scenarios.map(Scenario.init(wire:)) }
        if let passScore = wire.passScore { self.passScore = passScore }
        categoryPassScores = wire.categoryPassScores?.additionalProperties ?? [:]
        costLimit = wire.costLimit
        maxViolationRate = wire.maxViolationRate
        penalties = wire.penalties?.additionalProperties ?? [:]
        frames = wire.frames
    }

    /// `seeds`, or seeds 0 to `count` - 1; nil when neither is given.
    static func seeds(_ seeds: [Int]?, count: Int?, field: String) throws -> [Int]? {
        switch (seeds, count) {
        case (let seeds?, nil): return seeds
        case (nil, let count?):
            guard (1...1_000).contains(count) else {
                throw AppError.validation([
                    FieldError(field: field.replacingOccurrences(of: "seeds", with: "seed_count"), message: "must be between 1 and 1000")
                ])
            }
            return Array(0..<count)
        case (nil, nil): return nil
        case (.some, .some): throw AppError.validation([FieldError(field: field, message: "give seeds or seed_count, not both")])
        }
    }

    var wire: Components.Schemas.ScenarioSuite {
        .init(
            seeds: seeds, maxSteps: maxSteps, scenarios: scenarios.map(\.wire), passScore: passScore,
            categoryPassScores: .init(additionalProperties: categoryPassScores), costLimit: costLimit, maxViolationRate: maxViolationRate,
            penalties: .init(additionalProperties: penalties), frames: frames)
    }
}

extension ScenarioSuite.Scenario {
    init(wire: Components.Schemas.SimulationScenarioSpec) {
        let perturbations = wire.perturbations
        self.init(
            name: wire.name, category: wire.category,
            perturbations: .init(
                observationNoise: perturbations?.observationNoise, sensorDropout: perturbations?.sensorDropout,
                push: perturbations?.push.map { .init(magnitude: $0.magnitude, every: $0.every) }, initialStateNoise: perturbations?.initialStateNoise
            ))
    }

    var wire: Components.Schemas.SimulationScenarioSpec {
        .init(
            name: name, category: category,
            perturbations: .init(
                observationNoise: perturbations.observationNoise, sensorDropout: perturbations.sensorDropout,
                push: perturbations.push.map { .init(magnitude: $0.magnitude, every: $0.every) }, initialStateNoise: perturbations.initialStateNoise))
    }
}

extension Components.Schemas.SimulationTemplate {
    init(_ template: SimulationTemplate) {
        self.init(
            name: template.name, version: template.version, title: template.title, family: template.family, gymId: template.gymId,
            maxSteps: template.maxSteps, packages: template.packages, penalties: .init(additionalProperties: template.penalties),
            costLimit: template.costLimit, scoring: template.scoring, slow: template.slow)
    }
}

extension Components.Schemas.SimulationEnvironment {
    init(_ view: SimulationService.EnvironmentView) throws {
        let environment = view.environment
        self.init(
            id: environment.id.lowercasedString, projectId: environment.projectId.lowercasedString, ownerId: environment.ownerId?.lowercasedString,
            name: environment.name, description: environment.description, template: environment.template,
            templateVersion: environment.templateVersion, scenarioConfig: try environment.suite.wire,
            isolationType: .init(rawValue: environment.isolationType.rawValue) ?? .container,
            resources: .init(cpu: environment.cpu, memoryMib: environment.memoryMiB, maxRuntimeSeconds: environment.maxRuntimeSeconds),
            model: environment.modelURI, python: environment.python, command: environment.command, codeArchive: environment.codeArchive,
            status: .init(rawValue: view.status) ?? .ready, activeRuns: view.activeRuns,
            createdAt: Date(epochMilliseconds: environment.createdMs), updatedAt: Date(epochMilliseconds: environment.updatedMs))
    }
}

extension Components.Schemas.SimulationRun {
    init(_ run: SimulationRun) {
        let details = run.details
        let id = details.id.lowercasedString
        self.init(
            id: id, environmentId: details.envId.lowercasedString, projectId: details.projectId.lowercasedString,
            createdBy: details.createdBy?.lowercasedString, template: details.template, templateVersion: details.templateVersion,
            isolationType: .init(rawValue: details.isolationType.rawValue) ?? .container, model: details.modelURI,
            modelVersionId: details.modelVersionId.lowercasedString, state: .init(rawValue: details.state.rawValue) ?? .failed,
            safetyScore: details.safetyScore, passed: details.passed, error: details.error, suite: details.decodedSuite?.wire ?? .init(),
            suiteOverridden: details.suiteOverridden, modelSandbox: .init(rawValue: details.modelSandbox.rawValue) ?? .shared,
            scenarios: run.scenarios.map { .init($0, runId: id) },
            finishedScenarios: run.scenarios.filter { $0.record.resultState != .pending }.count,
            results: details.decodedResults.map(Components.Schemas.SimulationResults.init),
            createdAt: Date(epochMilliseconds: details.createdMs), completedAt: details.completedMs.map(Date.init(epochMilliseconds:)),
            reportUrl: "/api/v1/simulation/runs/\(id)/report")
    }
}

extension Components.Schemas.SimulationScenario {
    init(_ scenario: SimulationRun.Scenario, runId: String) {
        let record = scenario.record
        let result = record.decodedResult
        self.init(
            name: record.name, category: record.category, workloadId: scenario.workload.id.lowercasedString,
            status: .init(rawValue: scenario.workload.state.rawValue) ?? .pending, reason: scenario.workload.reason,
            resultState: .init(rawValue: record.resultState.rawValue) ?? .pending, error: record.error,
            summary: result.map { .init($0.summary) }, stepsPerSecond: result?.stepsPerSecond,
            episodes: result?.episodes.map(Components.Schemas.SimulationEpisode.init),
            logsUrl: "/api/v1/simulation/runs/\(runId)/scenarios/\(record.name)/logs")
    }
}

extension Components.Schemas.SimulationEpisode {
    init(_ episode: ScenarioResult.EpisodeResult) {
        self.init(
            seed: episode.seed, score: episode.score, completion: episode.completion, _return: episode.reward, cost: episode.cost,
            steps: episode.steps, ended: .init(rawValue: episode.ended) ?? .terminated,
            events: episode.events.map { .init(_type: $0.type, step: $0.step, time: $0.time) }, eventsTotal: episode.eventsTotal)
    }
}

extension Components.Schemas.SimulationSummary {
    init(_ summary: SafetyScore.Summary) {
        func wire(_ value: MeanWithError) -> Components.Schemas.MeanWithStderr { .init(mean: value.mean, stderr: value.stderr, count: value.count) }
        self.init(
            episodes: summary.episodes, score: wire(summary.score), completion: wire(summary.completion), _return: wire(summary.reward),
            cost: wire(summary.cost), violationRate: summary.violationRate, events: .init(additionalProperties: summary.events))
    }
}

extension Components.Schemas.SimulationResults {
    init(_ results: SimulationResults) {
        self.init(
            overall: .init(results.overall),
            categories: results.categories.map {
                .init(
                    category: $0.category, summary: .init($0.summary), passScore: $0.passScore, maxViolationRate: $0.maxViolationRate,
                    passed: $0.passed, reasons: $0.reasons)
            }, penalties: .init(additionalProperties: results.penalties), costLimit: results.costLimit, passed: results.passed)
    }
}
