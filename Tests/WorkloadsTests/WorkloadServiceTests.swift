import AITIPCore
import AITIPTestSupport
import Executors
import Foundation
import Identity
import Logging
import ObjectStore
import SQLKit
import Storage
import Testing

@testable import Workloads

/// WorkloadService and WorkloadEngine on their own (no HTTP): a kind registered by its module, run by the real local
/// executor in the bubblewrap sandbox, on both databases.
@Suite("Workload service and engine", .serialized)
struct WorkloadServiceTests {
    /// Another module's kind, as evaluation or simulation runs will be: its own permissions and its own record.
    static let kind = WorkloadKind(name: "probe", title: "Probe run", read: .trainingRead, write: .trainingWrite, delete: .trainingDelete) {
        id, sql in
        try await sql.insert(into: "probe_deletions").columns("id").values(SQLBind(id.lowercasedString)).run()
    }

    @Test(
        "a registered kind runs the whole lifecycle; a viewer reads it but cannot stop or delete it; delete runs the kind's own clean-up",
        arguments: DatabaseKind.available)
    func lifecycle(_ kind: DatabaseKind) async throws {
        try await WorkloadWorld.with(kind) { world in
            let workload = try await world.submit(entrypoint: "echo probing; echo done")
            #expect(workload.state == .queued && workload.kind == "probe")
            let finished = try await world.runEngine { try await world.waitFor(workload.id, [.succeeded]) }
            #expect(finished.exitCode == 0)
            let events = try await world.service.events(workload.id, of: Self.kind, caller: world.viewer).map(\.toState)
            #expect(events == [.pending, .queued, .admitted, .starting, .running, .succeeded])
            let log = try await world.service.logs.read(workload.id, from: 0, limit: 1 << 20)
            #expect(String(decoding: log.data, as: UTF8.self) == "probing\ndone\n")
            await #expect(throws: AppError.self) { _ = try await world.service.stop(workload.id, of: Self.kind, caller: world.viewer) }
            await #expect(throws: AppError.self) { try await world.service.delete(workload.id, of: Self.kind, caller: world.viewer) }
            try await world.service.delete(workload.id, of: Self.kind, caller: world.owner)
            let cleaned = try await world.database.read { sql in try await sql.select().column("id").from("probe_deletions").all().count }
            #expect(cleaned == 1)
            await #expect(throws: AppError.self) { _ = try await world.service.workload(workload.id, of: Self.kind, caller: world.owner) }
        }
    }

    @Test(
        "prepare refuses what no node can hold and names the field; the executor's network default is recorded; another module's kind is not found under this one",
        arguments: DatabaseKind.available)
    func prepare(_ kind: DatabaseKind) async throws {
        try await WorkloadWorld.with(kind) { world in
            do {
                _ = try await world.submit(entrypoint: "true", gpus: 8)
                Issue.record("8 GPUs on a 2-GPU node must be refused")
            } catch let error as AppError {
                #expect(error.kind == .badRequest && error.detail.contains("never be scheduled"))
            }
            do {
                _ = try await world.submit(entrypoint: " ", gpus: 1)
                Issue.record("an empty entrypoint must be refused")
            } catch let error as AppError {
                #expect(error.fieldErrors.map(\.field) == ["entrypoint"])
            }
            let queued = try await world.submit(entrypoint: "true")
            #expect(queued.spec.isolateNetwork, "the sandbox's default: no network")
            let other = WorkloadKind(name: "other", title: "Other", read: .trainingRead, write: .trainingWrite, delete: .trainingDelete)
            await #expect(throws: AppError.self) { _ = try await world.service.workload(queued.id, of: other, caller: world.owner) }
            let summaries = try await world.service.summaries([queued.id, UUID()])
            #expect(summaries.map(\.name) == ["probe"] && summaries.first?.projectId == world.project.projectId)
        }
    }
}

/// A scratch database with the tables Workloads needs, the bootstrap admin (an owner) and a viewer, and the
/// service and engine over a local executor with two simulated GPUs.
struct WorkloadWorld {
    let database: Database
    let service: WorkloadService
    let engine: WorkloadEngine
    let project: ProjectScope
    let owner: Caller
    let viewer: Caller

    static let migrations =
        (IdentityMigrations.all + WorkloadMigrations.all + StorageMigrations.all + [
            Migration(10_000, "create_probe_deletions") { t in ["CREATE TABLE probe_deletions (id \(t.text) PRIMARY KEY)"] }
        ]).sorted { $0.version < $1.version }

    static func with(_ kind: DatabaseKind, _ body: (WorkloadWorld) async throws -> Void) async throws {
        let scratch = try await ScratchDatabase.make(kind, migratedWith: migrations)
        let database = try scratch.open()
        do {
            try await body(try await make(database, data: scratch.dataDirectory))
        } catch {
            await database.shutdown()
            await scratch.drop()
            throw error
        }
        await database.shutdown()
        await scratch.drop()
    }

    static func make(_ database: Database, data: String) async throws -> WorkloadWorld {
        let clock = SystemClock()
        let logger = TestEnvironment.logger
        let hasher = PasswordHasher(cost: 4)
        let audit = AuditLog(database: database, clock: clock, logger: logger)
        let admin = try #require(try await IdentityBootstrap(database: database, hasher: hasher, clock: clock).run(adminPassword: "password-admin"))
        let owner = Caller(
            principal: Principal(
                userId: admin.userId, username: "admin", credential: .session(id: UUID()),
                memberships: [admin.organization.id: .owner]), origin: .system)
        let organizations = OrganizationService(
            database: database, hasher: hasher, clock: clock, audit: audit, cache: PrincipalCache(ttl: 0, clock: clock))
        guard
            case .created(let member) = try await organizations.addMember(
                to: admin.organization.id, MemberInput(username: "vera", email: "vera@example.test", password: "password-vera", role: "viewer"),
                caller: owner)
        else { throw AppError.badRequest("the viewer was not created") }
        let viewer = Caller(
            principal: Principal(
                userId: member.userId, username: "vera", credential: .session(id: UUID()),
                memberships: [admin.organization.id: .viewer]), origin: .system)
        let objects = try FileSystemObjectStore(root: URL(fileURLWithPath: "\(data)/objects"))
        let logs = LogHub(store: objects)
        let executor = LocalExecutor(.init(jobsDirectory: "\(data)/jobs"), logger: logger)
        let wakeup = Wakeup()
        let service = WorkloadService(
            database: database, clock: clock, audit: audit, objects: objects, logs: logs, executor: executor,
            wakeup: wakeup, kinds: [WorkloadServiceTests.kind])
        let engine = WorkloadEngine(
            database: database, clock: clock, executor: executor, logs: logs, objects: objects,
            nodeSource: NodeInventory(simulated: try NodeInventory.SimulatedGPUs.parse("a100:2"), logger: logger),
            wakeup: wakeup, configuration: .init(tick: .milliseconds(50), gracePeriodSeconds: 1), logger: logger)
        try await engine.registerNodesIfLeading()
        return WorkloadWorld(
            database: database, service: service, engine: engine,
            project: ProjectScope(projectId: admin.project.id, orgId: admin.organization.id), owner: owner, viewer: viewer)
    }

    func submit(entrypoint: String, gpus: Int = 1) async throws -> Workload {
        let submission = WorkloadService.Submission(name: "probe", entrypoint: entrypoint, gpuType: "a100", gpuCount: gpus, cpu: 0.1, memoryMiB: 64)
        return try await database.transaction { sql in
            let workload = try await service.prepare(submission, kind: WorkloadServiceTests.kind, in: project, caller: owner, on: sql)
            try await service.insert(workload, caller: owner, on: sql)
            return workload
        }
    }

    /// Runs `body` while the engine runs, then stops the engine (as a server shutdown does).
    func runEngine<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await engine.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    func waitFor(_ id: UUID, _ states: Set<WorkloadState>) async throws -> Workload {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let workload = try await service.workload(id, of: WorkloadServiceTests.kind, caller: owner)
            if states.contains(workload.state) { return workload }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("workload \(id) did not reach \(states)")
        throw CancellationError()
    }
}
