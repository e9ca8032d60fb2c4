import AITIPAPI
import AITIPCore
import Agent
import Datasets
import Evaluation
import Events
import Foundation
import Gateway
import Hummingbird
import Identity
import Inference
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import Prometheus
import Release
import Simulation
import Storage
import TestPlans
import Tracking
import Training
import Workloads

/// What the HTTP layer needs; built by App, or by tests with other parts.
package struct ServerDependencies: Sendable {
    package var database: Database
    package var auth: AuthService
    package var organizations: OrganizationService
    package var projects: ProjectService
    package var apiKeys: APIKeyService
    package var tracking: TrackingService
    package var artifacts: ArtifactService
    package var training: TrainingService
    package var resources: ResourceService
    package var datasets: DatasetService
    package var webhooks: WebhookService
    package var inference: InferenceService
    package var evaluation: EvaluationService
    package var simulation: SimulationService
    package var releases: ReleaseService
    package var agent: AgentService
    /// The router the agent's tools go through (installed by `buildRouter`).
    package let agentDispatcher: InProcessDispatcher
    package var testPlans: TestPlanService
    package var audit: AuditLog
    package var metrics: PrometheusCollectorRegistry
    package var limits: Limits
    /// The built web console (web/dist); nil or missing means `/` explains how to build it.
    package var webDirectory: String?

    package struct Limits: Sendable {
        package var maxBodyBytes: Int
        package var requestsPerSecond: Double
        package var requestBurst: Double
        /// Requests one principal may have in flight at once, on every route (0: no cap).
        package var principalConcurrency: Int
        package var credentialAttemptsPerMinute: Double
        package var timeouts: ConnectionTimeouts

        package init(
            maxBodyBytes: Int,
            requestsPerSecond: Double, requestBurst: Double, principalConcurrency: Int = 64, credentialAttemptsPerMinute: Double,
            timeouts: ConnectionTimeouts = .init()
        ) {
            self.maxBodyBytes = maxBodyBytes
            self.requestsPerSecond = requestsPerSecond
            self.requestBurst = requestBurst
            self.principalConcurrency = principalConcurrency
            self.credentialAttemptsPerMinute = credentialAttemptsPerMinute
            self.timeouts = timeouts
        }
    }

    package init(
        database: Database, auth: AuthService, organizations: OrganizationService, projects: ProjectService,
        apiKeys: APIKeyService, tracking: TrackingService, artifacts: ArtifactService, training: TrainingService,
        resources: ResourceService, datasets: DatasetService, webhooks: WebhookService, inference: InferenceService,
        evaluation: EvaluationService, testPlans: TestPlanService, simulation: SimulationService, releases: ReleaseService, agent: AgentService,
        agentDispatcher: InProcessDispatcher, audit: AuditLog,
        metrics: PrometheusCollectorRegistry,
        limits: Limits,
        webDirectory: String? = nil
    ) {
        self.database = database
        self.auth = auth
        self.organizations = organizations
        self.projects = projects
        self.apiKeys = apiKeys
        self.tracking = tracking
        self.artifacts = artifacts
        self.training = training
        self.resources = resources
        self.datasets = datasets
        self.webhooks = webhooks
        self.inference = inference
        self.evaluation = evaluation
        self.simulation = simulation
        self.releases = releases
        self.agent = agent
        self.agentDispatcher = agentDispatcher
        self.testPlans = testPlans
        self.audit = audit
        self.metrics = metrics
        self.limits = limits
        self.webDirectory = webDirectory
    }
}

/// The whole HTTP surface. Global middleware (outermost first) apply to every answer: request id, security
/// headers, metrics, problem+json, the console's assets. The API's operations live in one router group with the
/// middleware their declarations in openapi.yaml call for (`RoutePolicy`: authentication, body limits, failure
/// audit, idempotency, the bulk ingest parser). Modules outside HTTPServer add their routes in groups of their own
/// (`modules`: the MLflow-compatible API), sharing the same authentication and budgets. What is registered outside
/// those groups (the spec, the docs page, metrics, the console) is public by construction.
package func buildRouter(_ dependencies: ServerDependencies, modules: [RouteModule] = []) throws -> Router<AppRequestContext> {
    let spec = try APISpec.yaml()
    let policy = try RoutePolicy.api(specYAML: spec)
    let limits = dependencies.limits
    let authLimits = AuthenticationMiddleware.Limits(
        principal: RateLimiter(ratePerSecond: limits.requestsPerSecond, burst: limits.requestBurst),
        inFlight: InFlightLimiter(limit: limits.principalConcurrency),
        signIn: RateLimiter(ratePerSecond: limits.credentialAttemptsPerMinute / 60, burst: max(1, limits.credentialAttemptsPerMinute)))

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIdMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: HTTPMetricsMiddleware(registry: dependencies.metrics))
    let methods = MethodTable()
    router.add(middleware: ProblemMiddleware(methods: methods))
    router.add(middleware: ContentDispositionMiddleware())
    if let web = dependencies.webDirectory {
        router.add(middleware: WebConsole.assetMiddleware(directory: web, logger: Logger(label: "aitip.web")))
    }

    let api = router.group()
        .add(middleware: AuthenticationMiddleware(auth: dependencies.auth, limits: authLimits, scheme: .native(policy)))
        .add(middleware: MinimumBodyRateMiddleware(timeouts: limits.timeouts))
        .add(middleware: BodyLimitMiddleware(maxBytes: limits.maxBodyBytes, policy: policy))
        .add(middleware: AuditFailureMiddleware(audit: dependencies.audit, projects: dependencies.projects))
        .add(middleware: IdempotencyMiddleware(database: dependencies.database, policy: policy))
        .add(middleware: RunLogIngestMiddleware(tracking: dependencies.tracking, policy: policy))
    try APIImplementation(dependencies).registerHandlers(on: api, configuration: .aitip)

    let security = RouteSecurity(
        auth: dependencies.auth, limits: authLimits, timeouts: limits.timeouts, maxBodyBytes: limits.maxBodyBytes,
        audit: dependencies.audit, projects: dependencies.projects)
    for module in modules { try module(router, dependencies, security) }
    GatewayRoutes.add(to: router, dependencies, limits: authLimits)
    WebConsole.addRoutes(to: router, directory: dependencies.webDirectory)
    let docs = try APIDocsPage.render(specYAML: spec)
    router.get("/api/v1/openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: spec)))
    }
    router.get("/api/docs") { _, _ in
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                SecurityHeadersMiddleware.contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: docs)))
    }
    let metrics = dependencies.metrics
    let database = dependencies.database
    router.get("/metrics") { _, _ in
        PoolGauges.update(metrics, figures: database.poolFigures, dialect: database.dialect)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        metrics.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
    methods.load(router.routes)
    dependencies.agentDispatcher.install(router)
    return router
}

/// Routes a module outside HTTPServer adds to the router (the MLflow-compatible API), in groups of its own.
package typealias RouteModule = @Sendable (Router<AppRequestContext>, ServerDependencies, RouteSecurity) throws -> Void

/// What a module's groups share with the native API: the same credentials and budgets (a principal has one rate
/// limit wherever it calls), timeouts, body limits and the audit log.
package struct RouteSecurity: Sendable {
    package var auth: AuthService
    package var limits: AuthenticationMiddleware.Limits
    package var timeouts: ConnectionTimeouts
    package var maxBodyBytes: Int
    package var audit: AuditLog
    package var projects: ProjectService
}

/// Database pool figures, copied into gauges at scrape time.
enum PoolGauges {
    static func update(_ registry: PrometheusCollectorRegistry, figures: PoolMetrics.Figures, dialect: Dialect) {
        let labels = [("dialect", dialect.rawValue)]
        registry.makeGauge(descriptor: gauge("connections_in_use", "", "Connections handed out now"), labels: labels)
            .set(Double(figures.inUse))
        registry.makeGauge(descriptor: gauge("connections_max", "", "Connections the pool may open"), labels: labels)
            .set(Double(figures.capacity))
        registry.makeGauge(descriptor: gauge("acquisitions", "total", "Connections handed out since start"), labels: labels)
            .set(Double(figures.acquisitions))
        registry.makeGauge(descriptor: gauge("acquire_wait_seconds", "total", "Time spent waiting for a connection"), labels: labels)
            .set(figures.waitSeconds)
    }

    private static func gauge(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "aitip", subsystem: "db_pool", metricName: name, unitName: unit, helpText: help)
    }
}
