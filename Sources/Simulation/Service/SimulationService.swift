import AITIPCore
import Foundation
import Identity
import Storage
import Tracking
import Workloads

/// The simulation service (design §1–2): environments (a template, a scenario suite, a sandbox, resources, a bound
/// model) and runs that play a registered model version over the suite. Each scenario of a run is a workload of
/// the kind `simulation` (queued, scheduled and limited like any job) in the environment's sandbox; its episodes
/// come back through the log, are checked and scored here (`SafetyScore`), and the run is judged per category.
package struct SimulationService: Sendable {
    /// Scenario workloads as a workload kind: App registers it with WorkloadService. Their `simulation_scenarios`
    /// row goes with the workload (ON DELETE CASCADE).
    package static let kind = WorkloadKind(
        name: "simulation", title: "Simulation scenario", read: Permission(.simulation, .read), write: Permission(.simulation, .write),
        delete: Permission(.simulation, .delete))
    static let read = Permission(.simulation, .read)
    static let write = Permission(.simulation, .write)
    static let delete = Permission(.simulation, .delete)

    let database: Database
    let clock: any Clock
    let audit: AuditLog
    package let workloads: WorkloadService
    let tracking: TrackingService
    let projects: ProjectScopes
    /// Chromium for PDF reports; nil: PDF reports are refused with the reason.
    let chromium: String?
    /// Rings when a scenario workload may have ended (the collector runs a pass).
    package let wakeup = Wakeup()

    package init(database: Database, clock: any Clock, audit: AuditLog, workloads: WorkloadService, tracking: TrackingService, chromium: String?) {
        self.database = database
        self.clock = clock
        self.audit = audit
        self.workloads = workloads
        self.tracking = tracking
        self.chromium = chromium
        projects = ProjectScopes(database: database)
    }

    /// What a user asks for when creating an environment.
    package struct EnvironmentInput: Sendable {
        package var name: String?
        package var description: String?
        package var template: String?
        package var suite: ScenarioSuite?
        package var isolation: IsolationType?
        package var cpu: Double?
        package var memoryMiB: Int?
        package var maxRuntimeSeconds: Int?
        package var python: String?
        package var command: String?
        package var codeArchive: String?
        package var model: String?

        package init(
            name: String?, description: String?, template: String?, suite: ScenarioSuite?, isolation: IsolationType?, cpu: Double?,
            memoryMiB: Int?, maxRuntimeSeconds: Int?, python: String?, command: String?, codeArchive: String?, model: String?
        ) {
            self.name = name
            self.description = description
            self.template = template
            self.suite = suite
            self.isolation = isolation
            self.cpu = cpu
            self.memoryMiB = memoryMiB
            self.maxRuntimeSeconds = maxRuntimeSeconds
            self.python = python
            self.command = command
            self.codeArchive = codeArchive
            self.model = model
        }
    }

    /// An environment and how many of its runs are running (its status: `running` when any is, else `ready`).
    package struct EnvironmentView: Sendable {
        package var environment: SimulationEnvironment
        package var activeRuns: Int

        package var status: String { activeRuns > 0 ? "running" : "ready" }
    }

    static let defaultCPU = 1.0
    static let defaultMemoryMiB = 2_048

    // MARK: environments

    package func createEnvironment(_ input: EnvironmentInput, project projectId: UUID, caller: Caller) async throws -> EnvironmentView {
        let scope = try await projects.scope(.id(projectId), permission: Self.write, caller: caller)
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        // Each scenario's workload is named sim-<environment>-<scenario> (255 characters at most).
        let name = validator.requireText(input.name, "name", maxLength: 180)
        let template = input.template.flatMap(SimulationTemplate.named)
        validator.check(
            template != nil, "template",
            "must be one of \(SimulationTemplate.catalog.map(\.name).joined(separator: ", ")) (GET /api/v1/simulation/templates)")
        validator.check((input.description ?? "").count <= 4_000, "description", "is longer than 4000 characters")
        let isolation = input.isolation ?? .container
        if isolation == .vm {
            validator.add(
                "isolation_type",
                "vm (a Firecracker microVM per scenario) cannot run on this server: it needs Firecracker and /dev/kvm, which aitip does not drive yet; use gvisor for a kernel boundary (docs/simulation.md, Isolation)"
            )
        }
        if let cpu = input.cpu { validator.check(cpu > 0 && cpu <= 1_024, "resources.cpu", "must be more than 0 and at most 1024 cores") }
        if let memory = input.memoryMiB { validator.check((64...16 * 1_048_576).contains(memory), "resources.memory_mib", "must be 64 MiB or more") }
        if let runtime = input.maxRuntimeSeconds {
            validator.check((1...7 * 86_400).contains(runtime), "resources.max_runtime_seconds", "must be between 1 second and 7 days")
        }
        let python = input.python ?? "python3"
        validator.check(WorkloadService.isPlainProgram(python), "python", "must be an interpreter's name or absolute path")
        if template?.runner == .custom {
            let command = input.command ?? ""
            validator.check(!command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "command", "is required: what starts your simulator")
            validator.check(command.utf8.count <= 16_384, "command", "is longer than 16 KiB")
            let archive = input.codeArchive ?? ""
            validator.check(
                archive.count == 64 && archive.allSatisfy(\.isHexDigit), "code_archive",
                "must be the sha256 of an uploaded code package (POST /api/v1/training/code, or aitip sim env create --code DIR)")
        } else if template != nil {
            validator.check(input.command == nil, "command", "is for the custom template")
            validator.check(input.codeArchive == nil, "code_archive", "is for the custom template")
        }
        if let model = input.model {
            validator.check(ModelReference(model) != nil, "model", "must be models:/<name>/<version> or models:/<name>@<alias>")
        }
        let suite = input.suite ?? ScenarioSuite()
        if let template { suite.check(&validator, for: template, field: "scenario_config") }
        validator.check(suite.seeds.count * suite.scenarios.count <= Self.maxEpisodes, "scenario_config", Self.episodesMessage)
        if let template, let longest = suite.scenarios.map(\.name).max(by: { $0.count < $1.count }) {
            let probe = SimulationEnvironment(
                id: UUID(), orgId: scope.orgId, projectId: scope.projectId, ownerId: nil, name: name, description: "", template: template.name,
                templateVersion: template.version, scenarioConfig: "{}", isolationType: isolation, cpu: 1, memoryMiB: 64, maxRuntimeSeconds: nil,
                python: python, command: input.command, codeArchive: nil, modelURI: nil, createdMs: 0, updatedMs: 0)
            validator.check(
                Self.entrypoint(for: probe, template: template, scenario: longest, modelSandbox: .own).utf8.count
                    <= WorkloadService.maxEntrypointLength, "command",
                "makes a scenario's command line longer than a workload takes (\(WorkloadService.maxEntrypointLength) bytes): shorten it")
        }
        try validator.finish()
        if let archive = input.codeArchive {
            try await workloads.requireCodeArchive(archive, org: scope.orgId)
        }
        let now = clock.now()
        let environment = SimulationEnvironment(
            id: IDGenerator.uuidV7(at: now), orgId: scope.orgId, projectId: scope.projectId, ownerId: principal.userId, name: name,
            description: input.description ?? "", template: template!.name, templateVersion: template!.version,
            scenarioConfig: String(decoding: try JSONEncoder.sorted.encode(suite), as: UTF8.self), isolationType: isolation,
            cpu: input.cpu ?? Self.defaultCPU, memoryMiB: input.memoryMiB ?? Self.defaultMemoryMiB, maxRuntimeSeconds: input.maxRuntimeSeconds,
            python: python, command: input.command, codeArchive: input.codeArchive?.lowercased(), modelURI: input.model,
            createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
        // The sandbox and resources must be ones this server can run: checked now, not when the first run queues.
        try await database.read { sql in
            _ = try await workloads.prepare(try Self.submission(for: environment, probe: true), kind: Self.kind, in: scope, caller: caller, on: sql)
        }
        let taken = AppError.conflict("This project already has a simulation environment named '\(name)'")
        do {
            try await database.transaction { sql in
                if try await SimulationStore.environment(named: name, project: scope.projectId, on: sql) != nil { throw taken }
                try await SimulationStore.insert(environment, on: sql)
                try await audit.record(
                    on: sql, caller, orgId: scope.orgId, action: "simulation.environment.create", targetType: "simulation_environment",
                    targetId: environment.id.lowercasedString)
            }
        } catch  where SQLErrors.isUniqueViolation(error) {
            throw taken // created by a request beside this one
        }
        return EnvironmentView(environment: environment, activeRuns: 0)
    }

    package func environment(_ id: UUID, caller: Caller) async throws -> EnvironmentView {
        let environment = try await authorized(id, Self.read, caller: caller)
        return try await views([environment])[0]
    }

    package func environments(project projectId: UUID, page: PageRequest, caller: Caller) async throws -> Page<EnvironmentView> {
        let scope = try await projects.scope(.id(projectId), permission: Self.read, caller: caller)
        let rows = try await database.read { sql in
            try await SimulationStore.environments(project: scope.projectId, after: page.after, limit: page.limit + 1, on: sql)
        }
        let fetched = Page(fetched: rows, limit: page.limit, id: \.id)
        return Page(items: try await views(fetched.items), nextCursor: fetched.nextCursor)
    }

    /// Deletes the environment with its runs (their scenario workloads, logs and results); refused while one runs.
    package func deleteEnvironment(_ id: UUID, caller: Caller) async throws {
        let environment = try await authorized(id, Self.delete, caller: caller)
        let runs = try await database.read { sql in try await SimulationStore.runs(environment: id, after: nil, limit: 100_000, on: sql) }
        if runs.contains(where: { $0.state == .running }) {
            throw AppError.conflict(
                "A run of this environment is still running: stop it (POST …/stop) or wait for it before deleting the environment")
        }
        let scenarios = try await database.read { sql in try await SimulationStore.scenarios(of: runs.map(\.id), on: sql) }
        for scenario in scenarios {
            try await workloads.delete(scenario.id, of: Self.kind, caller: caller)
        }
        try await database.transaction { sql in
            // A run added since the check above would lose its record with the environment: refuse instead.
            _ = try await SimulationStore.environment(id, locking: true, on: sql)
            if try await !SimulationStore.runs(environment: id, state: .running, on: sql).isEmpty {
                throw AppError.conflict("A run of this environment started just now: stop it before deleting the environment")
            }
            try await SimulationStore.delete(environment: id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: environment.orgId, action: "simulation.environment.delete", targetType: "simulation_environment",
                targetId: id.lowercasedString)
        }
    }

    /// Stops every running run of the environment (its queued scenarios are cancelled, running ones stopped).
    package func stop(_ id: UUID, caller: Caller) async throws -> EnvironmentView {
        let environment = try await authorized(id, Self.write, caller: caller)
        let running = try await database.read { sql in try await SimulationStore.runs(environment: id, state: .running, on: sql) }
        let scenarios = try await database.read { sql in try await SimulationStore.scenarios(of: running.map(\.id), on: sql) }
        let unfinished = try await workloads.workloads(scenarios.map(\.id)).filter { !$0.state.isFinal }
        for workload in unfinished {
            try await workloads.stopOwned(workload.id, reason: "the simulation environment was stopped")
        }
        try await database.transaction { sql in
            try await audit.record(
                on: sql, caller, orgId: environment.orgId, action: "simulation.environment.stop", targetType: "simulation_environment",
                targetId: id.lowercasedString, detail: "\(running.count) runs, \(unfinished.count) scenarios stopped")
        }
        wakeup.signal()
        return try await views([environment])[0]
    }

    // MARK: helpers

    static let maxEpisodes = 20_000
    static let episodesMessage = "asks for more than \(maxEpisodes) episodes (seeds × scenarios)"

    func authorized(_ id: UUID, _ permission: Permission, caller: Caller) async throws -> SimulationEnvironment {
        let principal = try caller.requirePrincipal()
        guard let environment = try await database.read({ sql in try await SimulationStore.environment(id, on: sql) }),
            principal.visibleOrgIds.contains(environment.orgId)
        else { throw AppError.notFound("Simulation environment") }
        try Policy.authorize(
            principal, permission, on: Policy.Resource(kind: "Simulation environment", orgId: environment.orgId, projectId: environment.projectId))
        return environment
    }

    private func views(_ environments: [SimulationEnvironment]) async throws -> [EnvironmentView] {
        let active = try await database.read { sql in try await SimulationStore.activeRuns(of: environments.map(\.id), on: sql) }
        return environments.map { EnvironmentView(environment: $0, activeRuns: active[$0.id] ?? 0) }
    }

    /// A scenario's workload as the environment asks for it (the probe checks resources and sandbox only).
    static func submission(for environment: SimulationEnvironment, probe: Bool = false) throws -> WorkloadService.Submission {
        var submission = WorkloadService.Submission(
            name: "sim-\(environment.name)", entrypoint: probe ? "true" : nil, cpu: environment.cpu, memoryMiB: environment.memoryMiB,
            maxRuntimeSeconds: environment.maxRuntimeSeconds)
        submission.isolation = environment.isolationType.sandbox ?? .container
        return submission
    }
}
