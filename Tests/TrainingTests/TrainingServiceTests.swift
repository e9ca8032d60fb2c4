import AITIPCore
import AITIPTestSupport
import Datasets
import Executors
import Foundation
import Identity
import Logging
import ObjectStore
import Storage
import Testing
import Tracking
import Workloads

@testable import Training

/// TrainingService on its own (no HTTP), over the real Workloads, Tracking and Datasets services, on both databases.
@Suite("Training service", .serialized)
struct TrainingServiceTests {
    static let migrations =
        (IdentityMigrations.all + TrackingMigrations.all + WorkloadMigrations.all + TrainingMigrations.all
        + DatasetMigrations.all + StorageMigrations.all).sorted { $0.version < $1.version }

    @Test(
        "a job links an experiment only of its own project, estimates its cost from the price, and is read, listed and deleted as its kind",
        arguments: DatabaseKind.available)
    func submitReadDelete(_ kind: DatabaseKind) async throws {
        let scratch = try await ScratchDatabase.make(kind, migratedWith: Self.migrations)
        let database = try scratch.open()
        do {
            try await exercise(database, data: scratch.dataDirectory)
        } catch {
            await database.shutdown()
            await scratch.drop()
            throw error
        }
        await database.shutdown()
        await scratch.drop()
    }

    func exercise(_ database: Database, data: String) async throws {
        let clock = SystemClock()
        let logger = TestEnvironment.logger
        let audit = AuditLog(database: database, clock: clock, logger: logger)
        let admin = try #require(
            try await IdentityBootstrap(database: database, hasher: PasswordHasher(cost: 4), clock: clock).run(adminPassword: "password-admin"))
        let caller = Caller(
            principal: Principal(
                userId: admin.userId, username: "admin", credential: .session(id: UUID()),
                memberships: [admin.organization.id: .owner]), origin: .system)
        let objects = try FileSystemObjectStore(root: URL(fileURLWithPath: "\(data)/objects"))
        let executor = LocalExecutor(.init(jobsDirectory: "\(data)/jobs"), logger: logger)
        let wakeup = Wakeup()
        let workloads = WorkloadService(
            database: database, clock: clock, audit: audit, objects: objects, logs: LogHub(store: objects),
            executor: executor, wakeup: wakeup, kinds: [TrainingService.kind])
        let engine = WorkloadEngine(
            database: database, clock: clock, executor: executor, logs: LogHub(store: objects), objects: objects,
            nodeSource: NodeInventory(simulated: try NodeInventory.SimulatedGPUs.parse("a100:2"), logger: logger), wakeup: wakeup,
            logger: logger)
        try await engine.registerNodesIfLeading()
        let tracking = TrackingService(database: database, clock: clock, audit: audit)
        let training = TrainingService(
            database: database, workloads: workloads,
            resources: ResourceService(database: database, clock: clock, audit: audit, configuration: .init(pricePerGPUHour: ["a100": 2.5])),
            datasets: try DatasetService(
                database: database, store: objects, audit: audit, clock: clock,
                configuration: .init(uploadDirectory: "\(data)/uploads")),
            tracking: tracking)
        let home = ProjectScope(projectId: admin.project.id, orgId: admin.organization.id)
        let mine = try await tracking.createExperiment(.init(name: "mine"), in: home, caller: caller)
        let otherProject = try await ProjectService(database: database, clock: clock, audit: audit)
            .create(ProjectInput(orgId: admin.organization.id, name: "Other"), caller: caller)
        let theirs = try await tracking.createExperiment(
            .init(name: "theirs"), in: ProjectScope(projectId: otherProject.id, orgId: admin.organization.id),
            caller: caller)
        let submission = WorkloadService.Submission(
            name: "fit", entrypoint: "true", gpuType: "a100", gpuCount: 2, cpu: 0.1, memoryMiB: 64,
            maxRuntimeSeconds: 3_600)
        await #expect(throws: AppError.self) {
            _ = try await training.submit(.init(submission: submission, experimentId: theirs.id), project: home.projectId, caller: caller)
        }
        let job = try await training.submit(
            .init(submission: submission, framework: "sklearn", experimentId: mine.id), project: home.projectId,
            caller: caller)
        #expect(job.details.costEstimate == 5.0, "2 GPUs × 1 hour × 2.5")
        #expect(job.details.experimentId == mine.id && job.details.checkpointPath == "/checkpoints")
        #expect(try await training.list(.init(projectId: home.projectId), caller: caller).items.map(\.workload.id) == [job.workload.id])
        #expect(try await training.stop(job.workload.id, caller: caller).workload.state == .cancelled, "a queued job is cancelled at once")
        try await training.delete(job.workload.id, caller: caller)
        await #expect(throws: AppError.self) { _ = try await training.job(job.workload.id, caller: caller) }
    }
}
