import AITIPAPI
import AITIPCore
import Agent
import Datasets
import Evaluation
import Events
import Executors
import Foundation
import Gateway
import HTTPServer
import Hummingbird
import HummingbirdWebSocket
import Identity
import Inference
import Logging
import MLflowServer
import ObjectStore
import Prometheus
import Release
import ServiceLifecycle
import Simulation
import Storage
import TestPlans
import Tracking
import Training
import Workloads

/// Every migration of every module, in version order. Numbers are global (a module's later migration takes the next
/// free number, wherever its earlier ones are); append only.
package enum AllMigrations {
    package static let list: [Migration] =
        (IdentityMigrations.all + TrackingMigrations.all + WorkloadMigrations.all + TrainingMigrations.all
        + DatasetMigrations.all + HTTPServerMigrations.all + StorageMigrations.all + WebhookMigrations.all + InferenceMigrations.all
        + EvaluationMigrations.all + TestPlanMigrations.all + SimulationMigrations.all + ReleaseMigrations.all + AgentMigrations.all).sorted {
            $0.version < $1.version
        }
}

/// The parts of a running aitip, assembled from configuration. Tests build it against their own database.
package struct AppParts: Sendable {
    package let database: Database
    package let dependencies: ServerDependencies
    package let objectStore: any ObjectStore
    /// The scheduler loop and reconciler; `buildApplication` runs it as a service, tests run it themselves.
    package let engine: WorkloadEngine
    /// Keeps inference services' replicas as wanted; runs beside the engine (as a service, or in tests by hand).
    package let inferenceReconciler: InferenceReconciler
    /// Scores evaluation jobs whose workloads have ended, fires test plans' schedules and reads ended test
    /// executions' reports, scores ended simulation scenarios (as services; tests call the passes by hand).
    package let evaluationScorer: LeaderWorker
    package let testPlanWorker: LeaderWorker
    package let simulationCollector: LeaderWorker
    /// Keeps releases' traffic at their stage and judges their canaries (`ReleaseController`).
    package let releaseController: LeaderWorker
    package let bootstrap: IdentityBootstrap.Result?

    package static func assemble(_ config: AppConfig, logger: Logger, clock: any Clock = SystemClock()) async throws -> AppParts {
        try DataDirectory.secure(config)
        let url = try DatabaseURL(parsing: config.databaseURL)
        try await Migrator.migrate(url, migrations: AllMigrations.list, logger: logger)
        let database = try Database(url: url, logger: logger)
        do {
            let objectStore = try await makeObjectStore(config)
            let hasher = PasswordHasher(cost: config.identity.bcryptCost)
            let tokens = try AccessTokens(
                keys: try await IdentityBootstrap.signingKeys(database: database, clock: clock),
                lifetime: config.identity.accessTokenLifetime, now: clock.now()
            ) {
                try await IdentityBootstrap.currentSigningKeys(database: database)
            }
            let audit = AuditLog(database: database, clock: clock, logger: logger)
            let cache = PrincipalCache(ttl: config.principalCacheSeconds, clock: clock)
            let bootstrap = try await IdentityBootstrap(database: database, hasher: hasher, clock: clock)
                .run(adminPassword: config.adminPassword)
            let settings = config.workloads
            let wakeup = Wakeup()
            let logs = LogHub(store: objectStore)
            let jobsDirectory = URL(fileURLWithPath: config.dataDirectory).standardizedFileURL.appendingPathComponent("jobs").path
            let executor: any Executor
            let nodeSource: any NodeSource
            if settings.executor == "kubernetes" {
                let kube = settings.kubernetes
                let token: String
                do { token = try String(contentsOfFile: kube.tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
                    throw AppError.badRequest("executor=kubernetes needs a token in \(kube.tokenFile) (kubernetes_token_file)")
                }
                let manifests = KubernetesManifests.Configuration(namespace: kube.namespace, image: kube.image, gpuTypeLabel: kube.gpuTypeLabel)
                let cluster = KubernetesExecutor(apiServer: kube.apiServer, token: token, configuration: manifests)
                (executor, nodeSource) = (cluster, KubernetesNodes(cluster: cluster, configuration: manifests))
            } else if settings.executor.hasPrefix("ray://") {
                let ray = try RayExecutor(address: settings.executor, token: settings.rayToken, logger: logger)
                (executor, nodeSource) = (ray, RayNodes(ray: ray))
            } else {
                executor = LocalExecutor(
                    .init(
                        jobsDirectory: jobsDirectory, sandbox: settings.sandbox, readOnlyPaths: settings.sandboxReadOnlyPaths,
                        jobUID: settings.jobUID, jobGID: settings.jobGID, network: settings.jobNetwork,
                        diskLimitBytes: settings.jobDiskLimitBytes, maxFiles: settings.jobMaxFiles,
                        bubblewrap: settings.bubblewrap), logger: logger)
                nodeSource = NodeInventory(simulated: try NodeInventory.SimulatedGPUs.parse(settings.simulatedGPUs), logger: logger)
            }
            let workloads = WorkloadService(
                database: database, clock: clock, audit: audit, objects: objectStore, logs: logs, executor: executor,
                wakeup: wakeup,
                kinds: [
                    TrainingService.kind, InferenceService.kind, EvaluationService.kind, TestPlanService.kind, SimulationService.kind,
                    ReleaseService.stepKind,
                ],
                configuration: .init(
                    maxCodeBytes: settings.maxCodeBytes,
                    gracePeriodSeconds: settings.gracePeriodSeconds))
            let resources = ResourceService(
                database: database, clock: clock, audit: audit,
                configuration: .init(
                    pricePerGPUHour: settings.gpuPrices, defaultPricePerGPUHour: settings.defaultGPUPrice,
                    currency: settings.currency, operatorOrgSlug: settings.operatorOrg))
            let engine = WorkloadEngine(
                database: database, clock: clock, executor: executor, logs: logs, objects: objectStore,
                nodeSource: nodeSource,
                wakeup: wakeup,
                configuration: .init(tick: .milliseconds(settings.schedulerTickMilliseconds), gracePeriodSeconds: settings.gracePeriodSeconds),
                logger: logger)
            try await engine.registerNodesIfLeading()
            let tracking = TrackingService(database: database, clock: clock, audit: audit)
            let datasets = try DatasetService(
                database: database, store: objectStore, audit: audit, clock: clock,
                configuration: .init(
                    uploadDirectory: URL(fileURLWithPath: config.dataDirectory).standardizedFileURL.appendingPathComponent("uploads").path,
                    maxFileBytes: config.maxDatasetFileBytes,
                    storageLimitsGB: { org, project in try await resources.storageLimitsGB(org: org, project: project) },
                    lineageSources: LineageWiring.sources(
                        workloads: workloads, tracking: tracking, evaluations: EvaluationLineage(database: database),
                        simulations: SimulationLineage(database: database), releases: ReleaseLineage.source(database: database))))
            let metrics = PrometheusCollectorRegistry()
            let inference = InferenceService(
                database: database, clock: clock, audit: audit, workloads: workloads, tracking: tracking,
                gateway: Gateway(configuration: .init(maxRequestBytes: config.gatewayMaxRequestBytes), metrics: metrics, logger: logger))
            let evaluation = EvaluationService(
                database: database, clock: clock, workloads: workloads, datasets: datasets, tracking: tracking,
                configuration: .init(maxRows: config.maxEvaluationRows, chromium: config.chromium))
            let testPlans = TestPlanService(database: database, clock: clock, audit: audit, workloads: workloads, chromium: config.chromium)
            let simulation = SimulationService(
                database: database, clock: clock, audit: audit, workloads: workloads, tracking: tracking, chromium: config.chromium)
            let webhookConfiguration = WebhookService.Configuration(allowPrivateAddresses: config.webhookAllowPrivate)
            let releases = ReleaseService(
                database: database, clock: clock, audit: audit, inference: inference, evaluation: evaluation, testing: testPlans,
                simulation: simulation, datasets: datasets, workloads: workloads, webhooks: webhookConfiguration)
            let releaseController = ReleaseController(service: releases, logger: logger)
            let agentDispatcher = InProcessDispatcher(logger: logger)
            let organizations = OrganizationService(database: database, hasher: hasher, clock: clock, audit: audit, cache: cache)
            let agent = AgentService(
                database: database, clock: clock, audit: audit, registry: try ToolRegistry(specYAML: try APISpec.yaml()),
                dispatch: { method, target, body, bearer in
                    try await agentDispatcher.dispatch(method: method, target: target, body: body, bearer: bearer)
                },
                webhooks: webhookConfiguration, organizations: organizations,
                languageModel: config.agentLanguageModel.map { LanguageModel(url: $0.url, model: $0.model, apiKey: $0.apiKey) }, logger: logger)
            let dependencies = ServerDependencies(
                database: database,
                auth: AuthService(
                    database: database, config: config.identity, tokens: tokens, hasher: hasher, clock: clock,
                    audit: audit, cache: cache, logger: logger),
                organizations: organizations,
                projects: ProjectService(database: database, clock: clock, audit: audit),
                apiKeys: APIKeyService(database: database, clock: clock, audit: audit, cache: cache),
                tracking: tracking,
                artifacts: ArtifactService(
                    database: database, store: objectStore, audit: audit, clock: clock,
                    configuration: .init(maxFileBytes: config.maxArtifactBytes)),
                training: TrainingService(database: database, workloads: workloads, resources: resources, datasets: datasets, tracking: tracking),
                resources: resources,
                datasets: datasets,
                webhooks: WebhookService(database: database, clock: clock, audit: audit, configuration: webhookConfiguration),
                inference: inference,
                evaluation: evaluation,
                testPlans: testPlans,
                simulation: simulation,
                releases: releases,
                agent: agent,
                agentDispatcher: agentDispatcher,
                audit: audit,
                metrics: metrics,
                limits: .init(
                    maxBodyBytes: config.maxBodyBytes,
                    requestsPerSecond: config.rateLimitPerSecond,
                    requestBurst: config.rateLimitBurst, principalConcurrency: config.principalConcurrency,
                    credentialAttemptsPerMinute: config.credentialAttemptsPerMinute,
                    timeouts: .init(idle: .seconds(Int64(config.idleTimeoutSeconds)), minimumBodyRate: config.minimumBodyRate)),
                webDirectory: config.webDirectory)
            return AppParts(
                database: database, dependencies: dependencies, objectStore: objectStore, engine: engine,
                inferenceReconciler: InferenceReconciler(
                    service: inference, engineLease: engine.lease,
                    configuration: .init(interval: .milliseconds(settings.schedulerTickMilliseconds)), logger: logger),
                evaluationScorer: LeaderWorker(
                    lease: engine.lease, wakeup: evaluation.wakeup, every: .milliseconds(250), logger: logger, failure: "evaluation scoring failed"
                ) {
                    _ = try await evaluation.scorePending()
                },
                testPlanWorker: LeaderWorker(
                    lease: engine.lease, wakeup: testPlans.wakeup, every: .milliseconds(250), logger: logger, failure: "test plan worker pass failed"
                ) {
                    _ = try await testPlans.fireSchedules()
                    _ = try await testPlans.collectPending()
                },
                simulationCollector: LeaderWorker(
                    lease: engine.lease, wakeup: simulation.wakeup, every: .milliseconds(250), logger: logger,
                    failure: "simulation collector pass failed"
                ) {
                    _ = try await simulation.collectPending()
                },
                releaseController: LeaderWorker(
                    lease: engine.lease, wakeup: releases.wakeup, every: .milliseconds(500), logger: logger, failure: "release analysis failed"
                ) {
                    try await releaseController.cycle()
                },
                bootstrap: bootstrap)
        } catch {
            await database.shutdown()
            throw error
        }
    }
}

extension AppParts {
    /// The whole HTTP surface: the native API and the MLflow-compatible one.
    package func router() throws -> Router<AppRequestContext> {
        try buildRouter(dependencies, modules: [MLflowRoutes.module])
    }
}

/// The filesystem store, or an S3 store whose bucket is created when missing (so a wrong endpoint or key fails at
/// start, not at the first upload).
func makeObjectStore(_ config: AppConfig) async throws -> any ObjectStore {
    guard config.objectStoreURL.hasPrefix("s3://") else {
        return try FileSystemObjectStore(root: URL(fileURLWithPath: String(config.objectStoreURL.dropFirst("file://".count))))
    }
    let store = S3ObjectStore(try .init(url: config.objectStoreURL, accessKey: config.s3AccessKey, secretKey: config.s3SecretKey))
    try await store.ensureBucket()
    return store
}

/// `aitip serve`: migrate, bootstrap, and serve until SIGTERM/SIGINT, then drain and close the database.
package func buildApplication(
    _ config: AppConfig, logger: Logger,
    onRunning: @escaping @Sendable (String) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let parts = try await AppParts.assemble(config, logger: logger)
    if let bootstrap = parts.bootstrap { BootstrapNotice.print(bootstrap) }
    let router = try parts.router()
    return Application(
        router: router,
        server: serverBuilder(parts.dependencies),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "aitip"),
        services: [
            DatabaseService(database: parts.database), EngineService(engine: parts.engine, logger: logger),
            InferenceWorkers(reconciler: parts.inferenceReconciler, gateway: parts.dependencies.inference.gateway),
            LeaderWorkers(workers: [parts.evaluationScorer, parts.testPlanWorker, parts.simulationCollector, parts.releaseController]),
            MaintenanceService(
                database: parts.database, clock: SystemClock(), datasets: parts.dependencies.datasets,
                artifacts: parts.dependencies.artifacts, logger: logger),
            WebhookDeliveryService(
                deliverer: WebhookDeliverer(
                    database: parts.database, clock: SystemClock(), configuration: parts.dependencies.webhooks.configuration, logger: logger)),
        ],
        onServerRunning: { channel in
            let address = channel.localAddress.map { "\($0.ipAddress ?? config.host):\($0.port ?? config.port)" } ?? "\(config.host):\(config.port)"
            logger.info("aitip is serving", metadata: ["address": .string(address), "database": .string(parts.database.url.description)])
            await onRunning(address)
        },
        logger: logger)
}

/// Sends queued webhook deliveries until shutdown begins (on the server that holds the `webhooks` lease).
struct WebhookDeliveryService: Service {
    let deliverer: WebhookDeliverer

    func run() async throws {
        await cancelWhenGracefulShutdown { await deliverer.run() }
    }
}

/// Runs the inference reconciler and the gateway's connection upkeep until shutdown begins; replicas keep running
/// and are adopted on the next start.
struct InferenceWorkers: Service {
    let reconciler: InferenceReconciler
    let gateway: Gateway

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await reconciler.run() }
                group.addTask { await gateway.run() }
            }
        }
    }
}

/// The modules' passes that run on the engine's leader (evaluation scoring, test schedules and results).
struct LeaderWorkers: Service {
    let workers: [LeaderWorker]

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for worker in workers { group.addTask { await worker.run() } }
            }
        }
    }
}

/// Runs the workload engine until shutdown begins. Running jobs keep running; the next start adopts them.
struct EngineService: Service {
    let engine: WorkloadEngine
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await engine.run() }
        } catch is CancellationError {
            logger.info("workload engine stopped")
        }
    }
}

/// Owns the database pool's lifetime: closes it after the HTTP server has drained.
struct DatabaseService: Service {
    let database: Database

    func run() async throws {
        try? await gracefulShutdown()
        await database.shutdown()
    }
}

enum BootstrapNotice {
    /// Printed to the terminal, not logged: a generated password must not end up in log storage.
    static func print(_ result: IdentityBootstrap.Result) {
        var lines = [
            "First start: created user '\(result.username)', organization '\(result.organization.slug)' and project '\(result.project.slug)'."
        ]
        if let password = result.password {
            lines.append("One-time admin password: \(password)")
            lines.append("It is shown only now. Sign in with: aitip login --server http://HOST:PORT --username admin")
        } else {
            lines.append("The admin password is the one given in AITIP_ADMIN_PASSWORD.")
        }
        let width = (lines.map(\.count).max() ?? 0) + 4
        var text = String(repeating: "=", count: width) + "\n"
        for line in lines { text += "  \(line)\n" }
        text += String(repeating: "=", count: width) + "\n"
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
