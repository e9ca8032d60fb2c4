import AITIPCore
import Foundation
import Gateway
import Identity
import SQLKit
import Storage
import Synchronization
import Tracking
import Workloads

/// The use cases of inference services (design §4.1): create one bound to a registered model version, list, read,
/// change, delete, start, stop, scale, and its metrics. Replicas are started, checked and replaced by the
/// `InferenceReconciler`; the gateway's split is published from here too, right after a change commits, so that a
/// stopped or removed version takes no request once the call has returned.
package struct InferenceService: Sendable {
    /// Replicas as a workload kind: App registers it with WorkloadService. Their `inference_replicas` row goes with
    /// the workload (ON DELETE CASCADE).
    package static let kind = WorkloadKind(
        name: "inference", title: "Inference replica", read: .inferenceRead, write: .inferenceWrite, delete: .inferenceDelete)
    /// Runtimes this server runs; the design's others are refused with the reason.
    static let runtimes = ["process", "mlflow"]
    static let plannedRuntimes = ["ray-serve", "vllm", "triton"]
    static let maxReplicas = 100

    let database: Database
    let clock: any Clock
    let audit: AuditLog
    let projects: ProjectScopes
    let workloads: WorkloadService
    let tracking: TrackingService
    package let gateway: Gateway
    let health: ReplicaHealth
    let wakeup: Wakeup
    let owners = OwnerCache()

    package init(
        database: Database, clock: any Clock, audit: AuditLog, workloads: WorkloadService, tracking: TrackingService, gateway: Gateway,
        health: ReplicaHealth = ReplicaHealth(), wakeup: Wakeup = Wakeup()
    ) {
        self.database = database
        self.clock = clock
        self.audit = audit
        projects = ProjectScopes(database: database)
        self.workloads = workloads
        self.tracking = tracking
        self.gateway = gateway
        self.health = health
        self.wakeup = wakeup
    }

    // MARK: create

    package struct Input: Sendable {
        package var name: String?
        package var description: String?
        /// `models:/<name>/<version>` or `models:/<name>@<alias>`.
        package var model: String?
        package var runtime: String?
        /// JSON object, as text.
        package var runtimeConfig: String
        package var gpuType: String?
        package var gpuCount: Int?
        package var cpu: Double?
        package var memoryMiB: Int?
        package var replicas: Int?
        package var minReplicas: Int?
        package var maxReplicas: Int?
        package var parentServiceId: UUID?
        package var trafficPercentage: Int?
        package var routeHeader: (name: String, value: String)?
        package var stickySessions: Bool?
        package var autoscaling: AutoscalePolicy?
        /// Requests per second the gateway lets through; nil or 0: no limit.
        package var rateLimitRps: Double?
        /// A canary that gets copies of `trafficPercentage` of its parent's requests and answers none (`Deployment.shadow`).
        package var shadow: Bool?

        package init(
            name: String?, description: String? = nil, model: String?, runtime: String?, runtimeConfig: String = "{}", gpuType: String? = nil,
            gpuCount: Int? = nil, cpu: Double? = nil, memoryMiB: Int? = nil, replicas: Int? = nil, minReplicas: Int? = nil,
            maxReplicas: Int? = nil, parentServiceId: UUID? = nil, trafficPercentage: Int? = nil,
            routeHeader: (name: String, value: String)? = nil, stickySessions: Bool? = nil, autoscaling: AutoscalePolicy? = nil,
            rateLimitRps: Double? = nil, shadow: Bool? = nil
        ) {
            self.shadow = shadow
            self.name = name
            self.description = description
            self.model = model
            self.runtime = runtime
            self.runtimeConfig = runtimeConfig
            self.gpuType = gpuType
            self.gpuCount = gpuCount
            self.cpu = cpu
            self.memoryMiB = memoryMiB
            self.replicas = replicas
            self.minReplicas = minReplicas
            self.maxReplicas = maxReplicas
            self.parentServiceId = parentServiceId
            self.trafficPercentage = trafficPercentage
            self.routeHeader = routeHeader
            self.stickySessions = stickySessions
            self.autoscaling = autoscaling
            self.rateLimitRps = rateLimitRps
        }
    }

    package func create(_ input: Input, project projectId: UUID, caller: Caller) async throws -> Deployment {
        let scope = try await projects.scope(.id(projectId), permission: .inferenceWrite, caller: caller)
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        let name = validator.requireText(input.name, "name", maxLength: 63)
        validator.check(Self.isServiceName(name), "name", "must be 1-63 lowercase letters, digits or '-', starting with a letter")
        let description = input.description ?? ""
        validator.check(description.count <= 10_000, "description", "is longer than 10,000 characters")
        let runtime = validator.requireText(input.runtime, "runtime", maxLength: 50)
        if !runtime.isEmpty, !Self.runtimes.contains(runtime) {
            validator.add(
                "runtime",
                Self.plannedRuntimes.contains(runtime)
                    ? "'\(runtime)' is not run by this server yet; use mlflow (an MLflow model) or process (a command serving HTTP on $AITIP_SERVE_SOCKET)"
                    : "must be one of \(Self.runtimes.joined(separator: ", "))")
        }
        let (reachable, executorKind) = workloads.servesOnSockets
        if !runtime.isEmpty, !reachable {
            // A replica serves on a Unix socket of this server's sandbox; on a cluster nothing would ever reach it
            // (it would start, never pass its health check, and be replaced until the service gave up).
            validator.add(
                "runtime",
                "\(runtime) replicas run in this server's sandbox, and this server runs workloads on the \(executorKind) executor, "
                    + "where the gateway cannot reach them: serve models from a server with executor=local")
        }
        let modelText = validator.requireText(input.model, "model", maxLength: 600)
        let reference = ModelReference(modelText)
        if !modelText.isEmpty, reference == nil {
            validator.add("model", "must be models:/<name>/<version> or models:/<name>@<alias>")
        }
        let maxReplicas = input.maxReplicas ?? max(10, input.replicas ?? 1)
        let minReplicas = input.minReplicas ?? min(1, input.replicas ?? 1)
        let replicas = input.replicas ?? max(1, minReplicas)
        Self.checkReplicas(replicas: replicas, min: minReplicas, max: maxReplicas, into: &validator)
        let percent = input.trafficPercentage ?? (input.parentServiceId == nil ? 100 : 0)
        validator.check((0...100).contains(percent), "traffic_percentage", "must be between 0 and 100")
        if input.parentServiceId == nil {
            validator.check(
                percent == 100, "traffic_percentage", "is set only on a canary (with parent_service_id); a service takes what its canaries leave")
            validator.check(input.routeHeader == nil, "route_header", "is set only on a canary (with parent_service_id)")
            validator.check(input.shadow != true, "shadow", "is set only on a canary (with parent_service_id)")
        }
        if input.shadow == true {
            validator.check(input.routeHeader == nil, "route_header", "a shadow answers no caller, so no header can route to it")
        }
        if let header = input.routeHeader { Self.checkRouteHeader(header, into: &validator) }
        if let policy = input.autoscaling { Self.checkAutoscaling(policy, into: &validator) }
        if let rate = input.rateLimitRps { Self.checkRateLimit(rate, into: &validator) }
        let (processSettings, mlflowSettings) = Self.runtimeSettings(runtime, input.runtimeConfig, into: &validator)
        try validator.finish()
        guard let reference else { throw AppError.badRequest("model is required") }
        let version = try await resolve(reference, in: scope)
        let config: ProcessRuntime
        if let mlflowSettings {
            config = try await mlflowProcess(for: version, config: mlflowSettings, orgId: scope.orgId)
        } else if let processSettings {
            config = processSettings
        } else {
            throw AppError.badRequest("runtime_config is required")
        }
        let now = clock.now()
        let id = IDGenerator.uuidV7(at: now)
        let deployment = Deployment(
            id: id, orgId: scope.orgId, projectId: scope.projectId, ownerId: principal.userId, modelId: version.version.modelId,
            modelName: version.modelName, modelVersion: String(version.version.version), name: name, description: description,
            runtime: runtime, runtimeConfig: Self.canonicalJSON(config), gpuType: input.gpuType, gpuCount: input.gpuCount ?? 0,
            cpu: input.cpu ?? workloads.configuration.defaultCPU, memoryMiB: input.memoryMiB ?? workloads.configuration.defaultMemoryMiB,
            replicas: replicas, minReplicas: minReplicas, maxReplicas: maxReplicas, endpointURL: "/serve/\(id.lowercasedString)/",
            status: replicas > 0 ? .pending : .stopped, statusReason: replicas > 0 ? "waiting for its first replica" : "created with no replicas",
            healthStatus: .unknown, isCanary: input.parentServiceId != nil, trafficPercentage: percent,
            parentServiceId: input.parentServiceId, routeHeaderName: input.routeHeader?.name.lowercased(), routeHeaderValue: input.routeHeader?.value,
            stickySessions: input.stickySessions ?? false, autoscaling: input.autoscaling.map(Self.canonicalJSON), createdMs: now.epochMilliseconds,
            updatedMs: now.epochMilliseconds, rateLimitRps: input.rateLimitRps.flatMap { $0 > 0 ? $0 : nil }, shadow: input.shadow ?? false)
        try await database.transaction { sql in
            if try await DeploymentStore.deployment(named: name, project: scope.projectId, on: sql) != nil {
                throw AppError.conflict("This project already has an inference service named '\(name)'")
            }
            if let parentId = input.parentServiceId {
                try await checkCanary(deployment, parentId: parentId, on: sql)
            }
            // What a replica will be submitted with is checked now, so that the reconciler never meets a refusal.
            _ = try await workloads.prepare(
                submission(for: deployment, config: config), kind: Self.kind, in: scope, ownerId: principal.userId, on: sql)
            try await DeploymentStore.insert(deployment, on: sql)
            try await audit.record(
                on: sql, caller, orgId: scope.orgId, action: "inference.create", targetType: "inference_service", targetId: id.lowercasedString,
                detail: "\(deployment.modelURI) (\(runtime), \(replicas) replicas)")
        }
        wakeup.signal()
        return deployment
    }

    /// The model version, from this project's registry: deploying it is part of `inference:write` (no registry
    /// permission of its own is asked).
    private func resolve(_ reference: ModelReference, in scope: ProjectScope) async throws -> ModelVersionDetail {
        try await tracking.modelVersion(reference, inProject: scope, field: "model")
    }

    /// The registry's id of the model version a service serves (a release's place in the lineage graph); nil once the
    /// version is gone from the registry.
    package func modelVersionId(of deployment: Deployment) async throws -> UUID? {
        guard let number = Int(deployment.modelVersion) else { return nil }
        let scope = ProjectScope(projectId: deployment.projectId, orgId: deployment.orgId)
        do {
            return try await resolve(ModelReference(name: deployment.modelName, selector: .version(number)), in: scope).version.id
        } catch let error as AppError where error.kind == .notFound || error.kind == .validation {
            return nil
        }
    }

    /// A canary's parent is a service of the same project that is not itself a canary, and the canaries' shares fit.
    private func checkCanary(_ canary: Deployment, parentId: UUID, on sql: any SQLDatabase) async throws {
        guard let parent = try await DeploymentStore.deployment(parentId, on: sql), parent.projectId == canary.projectId else {
            throw AppError.validation([FieldError(field: "parent_service_id", message: "is not an inference service of this project")])
        }
        guard parent.parentServiceId == nil else {
            throw AppError.validation([FieldError(field: "parent_service_id", message: "is itself a canary; a canary's parent is a stable service")])
        }
        let siblings = try await DeploymentStore.children(of: parentId, on: sql).filter { $0.id != canary.id }
        // A shadow's percentage is a share of copies, not of the live requests the canaries divide.
        let taken = siblings.filter { !$0.shadow }.reduce(0) { $0 + $1.trafficPercentage }
        if !canary.shadow, taken + canary.trafficPercentage > 100 {
            throw AppError.validation([
                FieldError(
                    field: "traffic_percentage",
                    message: "\(canary.trafficPercentage) % with the other canaries' \(taken) % is more than 100 %")
            ])
        }
        if let header = canary.routeHeaderName,
            siblings.contains(where: { $0.routeHeaderName == header && $0.routeHeaderValue == canary.routeHeaderValue })
        {
            throw AppError.validation([
                FieldError(
                    field: "route_header", message: "another canary of this service already matches \(header): \(canary.routeHeaderValue ?? "")")
            ])
        }
    }

    /// What each replica of this deployment is submitted as.
    func submission(for deployment: Deployment, config: ProcessRuntime) -> WorkloadService.Submission {
        var submission = WorkloadService.Submission(
            name: "\(deployment.name)-replica", entrypoint: config.command, env: config.env, codeArchive: config.codeArchive,
            gpuType: deployment.gpuType,
            gpuCount: deployment.gpuCount, cpu: deployment.cpu, memoryMiB: deployment.memoryMiB, maxRetries: 0)
        submission.systemEnv = [
            "AITIP_SERVICE_ID": deployment.id.lowercasedString, "AITIP_SERVICE_NAME": deployment.name, "AITIP_MODEL_URI": deployment.modelURI,
            "AITIP_MODEL_NAME": deployment.modelName, "AITIP_MODEL_VERSION": deployment.modelVersion,
        ]
        return submission
    }

    // MARK: read

    /// A deployment with its replicas as they are now.
    package struct View: Sendable {
        package var deployment: Deployment
        package var replicas: [ReplicaView]
        /// Its canaries (for a stable service).
        package var canaries: [Deployment]
    }

    package struct ReplicaView: Sendable {
        package var workloadId: UUID
        package var state: WorkloadState
        package var ready: Bool
        package var reason: String
        package var createdMs: Int64
        package var readyMs: Int64?
    }

    package func list(project projectId: UUID, page: PageRequest, caller: Caller) async throws -> Page<Deployment> {
        let scope = try await projects.scope(.id(projectId), permission: .inferenceRead, caller: caller)
        return try await database.read { sql in try await DeploymentStore.deployments(project: scope.projectId, page: page, on: sql) }
    }

    package func get(_ id: UUID, caller: Caller) async throws -> View {
        let deployment = try await authorized(id, .inferenceRead, caller: caller)
        return try await view(of: deployment)
    }

    func view(of deployment: Deployment) async throws -> View {
        let (replicas, canaries) = try await database.read { sql in
            (try await DeploymentStore.replicas(of: [deployment.id], on: sql), try await DeploymentStore.children(of: deployment.id, on: sql))
        }
        let states = Dictionary(uniqueKeysWithValues: try await workloads.workloads(replicas.map(\.workloadId)).map { ($0.id, $0) })
        let views = replicas.compactMap { replica -> ReplicaView? in
            guard let workload = states[replica.workloadId] else { return nil }
            return ReplicaView(
                workloadId: replica.workloadId, state: workload.state, ready: health.isReady(replica.workloadId), reason: workload.reason,
                createdMs: replica.createdMs, readyMs: replica.readyMs)
        }
        return View(deployment: deployment, replicas: views, canaries: canaries)
    }

    /// The deployment, when the caller may use `permission` on it; "not found" when they may not see it at all.
    func authorized(_ id: UUID, _ permission: Permission, caller: Caller) async throws -> Deployment {
        _ = try caller.requirePrincipal()
        guard let deployment = try await database.read({ sql in try await DeploymentStore.deployment(id, on: sql) }) else {
            throw AppError.notFound("Inference service")
        }
        do {
            _ = try await projects.scope(.id(deployment.projectId), permission: permission, caller: caller)
        } catch let error as AppError where error.kind == .notFound {
            throw AppError.notFound("Inference service")
        }
        return deployment
    }

    // MARK: change

    package struct Change: Sendable {
        package var description: String?
        package var minReplicas: Int?
        package var maxReplicas: Int?
        package var trafficPercentage: Int?
        /// Set (`.some(nil)` clears it).
        package var routeHeader: (name: String, value: String)??
        package var stickySessions: Bool?
        /// Set (`.some(nil)` turns autoscaling off).
        package var autoscaling: AutoscalePolicy??
        /// Requests per second the gateway lets through; 0 removes the limit.
        package var rateLimitRps: Double?
        /// A canary becomes a shadow, or a shadow a live canary (false).
        package var shadow: Bool?

        package init(
            description: String? = nil, minReplicas: Int? = nil, maxReplicas: Int? = nil, trafficPercentage: Int? = nil,
            routeHeader: (name: String, value: String)?? = nil, stickySessions: Bool? = nil, autoscaling: AutoscalePolicy?? = nil,
            rateLimitRps: Double? = nil, shadow: Bool? = nil
        ) {
            self.shadow = shadow
            self.description = description
            self.minReplicas = minReplicas
            self.maxReplicas = maxReplicas
            self.trafficPercentage = trafficPercentage
            self.routeHeader = routeHeader
            self.stickySessions = stickySessions
            self.autoscaling = autoscaling
            self.rateLimitRps = rateLimitRps
        }
    }

    /// Changes what can change in place; the model, runtime and resources are a new version (a canary), not an edit.
    package func update(_ id: UUID, _ change: Change, caller: Caller) async throws -> Deployment {
        _ = try await authorized(id, .inferenceWrite, caller: caller)
        let updated = try await mutate(id, caller: caller, action: "inference.update") { deployment, sql in
            var validator = Validator()
            if let description = change.description {
                validator.check(description.count <= 10_000, "description", "is longer than 10,000 characters")
                deployment.description = description
            }
            if let min = change.minReplicas { deployment.minReplicas = min }
            if let max = change.maxReplicas { deployment.maxReplicas = max }
            deployment.replicas = Swift.min(Swift.max(deployment.replicas, deployment.minReplicas), deployment.maxReplicas)
            Self.checkReplicas(replicas: deployment.replicas, min: deployment.minReplicas, max: deployment.maxReplicas, into: &validator)
            if let sticky = change.stickySessions { deployment.stickySessions = sticky }
            if let percent = change.trafficPercentage {
                validator.check((0...100).contains(percent), "traffic_percentage", "must be between 0 and 100")
                validator.check(deployment.parentServiceId != nil, "traffic_percentage", "is set only on a canary")
                deployment.trafficPercentage = percent
            }
            if let header = change.routeHeader {
                validator.check(deployment.parentServiceId != nil, "route_header", "is set only on a canary")
                if let header { Self.checkRouteHeader(header, into: &validator) }
                deployment.routeHeaderName = header?.name.lowercased()
                deployment.routeHeaderValue = header?.value
            }
            if let autoscaling = change.autoscaling {
                if let policy = autoscaling { Self.checkAutoscaling(policy, into: &validator) }
                deployment.autoscaling = autoscaling.map(Self.canonicalJSON)
            }
            if let rate = change.rateLimitRps {
                Self.checkRateLimit(rate, into: &validator)
                deployment.rateLimitRps = rate > 0 ? rate : nil
            }
            if let shadow = change.shadow {
                validator.check(deployment.parentServiceId != nil, "shadow", "is set only on a canary")
                deployment.shadow = shadow
            }
            if deployment.shadow {
                validator.check(deployment.routeHeaderName == nil, "route_header", "a shadow answers no caller, so no header can route to it")
            }
            try validator.finish()
            if let parentId = deployment.parentServiceId { try await checkCanary(deployment, parentId: parentId, on: sql) }
        }
        return updated
    }

    package func start(_ id: UUID, caller: Caller) async throws -> Deployment {
        _ = try await authorized(id, .inferenceWrite, caller: caller)
        let username = try caller.requirePrincipal().username
        return try await mutate(id, caller: caller, action: "inference.start") { deployment, _ in
            guard !deployment.status.wantsReplicas else { return }
            if deployment.replicas == 0 { deployment.replicas = Swift.max(1, deployment.minReplicas) }
            deployment.status = .pending
            deployment.statusReason = "started by \(username); waiting for its first replica"
        }
    }

    package func stop(_ id: UUID, caller: Caller) async throws -> Deployment {
        _ = try await authorized(id, .inferenceWrite, caller: caller)
        let username = try caller.requirePrincipal().username
        return try await mutate(id, caller: caller, action: "inference.stop") { deployment, _ in
            deployment.status = .stopped
            deployment.statusReason = "stopped by \(username)"
            deployment.healthStatus = .unknown
        }
    }

    package func scale(_ id: UUID, replicas: Int, caller: Caller) async throws -> Deployment {
        _ = try await authorized(id, .inferenceWrite, caller: caller)
        return try await mutate(id, caller: caller, action: "inference.scale", detail: "to \(replicas) replicas") { deployment, _ in
            var validator = Validator()
            validator.check(
                replicas >= deployment.minReplicas && replicas <= deployment.maxReplicas, "replicas",
                "must be between min_replicas (\(deployment.minReplicas)) and max_replicas (\(deployment.maxReplicas))")
            try validator.finish()
            deployment.replicas = replicas
            if replicas == 0, deployment.status.wantsReplicas {
                deployment.status = .stopped
                deployment.statusReason = "scaled to zero"
            }
        }
    }

    /// Deletes a stopped or running service (its replicas are stopped); a service with canaries is refused until they
    /// are deleted.
    package func delete(_ id: UUID, caller: Caller) async throws {
        let deployment = try await authorized(id, .inferenceDelete, caller: caller)
        let replicas: [Replica] = try await database.transaction { sql in
            guard try await DeploymentStore.children(of: id, on: sql).isEmpty else {
                throw AppError.conflict("Inference service \(deployment.name) has canaries: delete them first")
            }
            let replicas = try await DeploymentStore.replicas(of: [id], on: sql)
            try await DeploymentStore.delete(id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: deployment.orgId, action: "inference.delete", targetType: "inference_service", targetId: id.lowercasedString)
            return replicas
        }
        owners.set(id, nil)
        try await publish(deployment.parentServiceId ?? id)
        gateway.setSplit(nil, for: id)
        for replica in replicas {
            gateway.release(replica.workloadId)
            health.forget(replica.workloadId)
            try await workloads.stopOwned(replica.workloadId, reason: "its inference service was deleted")
        }
        wakeup.signal()
    }

    /// Reads, changes and saves one deployment in a transaction, audits, then publishes the gateway's split.
    func mutate(
        _ id: UUID, caller: Caller, action: String, detail: String? = nil,
        _ change: @Sendable (inout Deployment, any SQLDatabase) async throws -> Void
    ) async throws -> Deployment {
        let now = clock.now().epochMilliseconds
        let updated: Deployment = try await database.transaction { sql in
            guard var deployment = try await DeploymentStore.deployment(id, on: sql) else { throw AppError.notFound("Inference service") }
            try await change(&deployment, sql)
            deployment.updatedMs = now
            try await DeploymentStore.save(deployment, on: sql)
            try await audit.record(
                on: sql, caller, orgId: deployment.orgId, action: action, targetType: "inference_service", targetId: id.lowercasedString,
                detail: detail)
            return deployment
        }
        try await publish(updated.parentServiceId ?? id)
        wakeup.signal()
        return updated
    }

    // MARK: checks

    /// The settings of the runtime asked for: a `process` runtime's as given, an `mlflow` runtime's to resolve into one
    /// once the model version is known.
    static func runtimeSettings(_ runtime: String, _ json: String, into validator: inout Validator) -> (ProcessRuntime?, MLflowRuntime?) {
        func decode<Settings: Decodable>(_ type: Settings.Type, usage: String) -> Settings? {
            do {
                return try JSONDecoder().decode(type, from: Data(json.utf8))
            } catch {
                validator.add("runtime_config", usage)
                return nil
            }
        }
        func checkStartupTimeout(_ seconds: Int) {
            validator.check((1...86_400).contains(seconds), "runtime_config.startup_timeout_seconds", "must be between 1 and 86400")
        }
        switch runtime {
        case "process":
            let settings = decode(
                ProcessRuntime.self,
                usage: "the process runtime needs {\"command\": \"…\"} (optional: health_path, env, code_archive, startup_timeout_seconds)")
            if let settings {
                validator.check(
                    settings.healthPath.hasPrefix("/") && settings.healthPath.count <= 200, "runtime_config.health_path",
                    "must be a path such as /health")
                checkStartupTimeout(settings.startupTimeoutSeconds)
            }
            return (settings, nil)
        case "mlflow":
            let settings = decode(
                MLflowRuntime.self,
                usage:
                    "the mlflow runtime takes {\"python\": \"…\", \"env\": {…}, \"startup_timeout_seconds\": N}, all optional; aitip sets the command"
            )
            if let settings {
                validator.check(
                    WorkloadService.isPlainProgram(settings.python), "runtime_config.python", "must be an interpreter's name or absolute path")
                checkStartupTimeout(settings.startupTimeoutSeconds)
            }
            return (nil, settings)
        default:
            return (nil, nil)
        }
    }

    static func checkRateLimit(_ rate: Double, into validator: inout Validator) {
        validator.check(
            rate == 0 || (rate >= 0.01 && rate <= 1_000_000), "rate_limit_rps", "must be 0 (no limit) or between 0.01 and 1000000 per second")
    }

    /// Comparisons, not ranges: a range built from the caller's numbers (`0...max` with a negative `max`) traps.
    static func checkReplicas(replicas: Int, min: Int, max: Int, into validator: inout Validator) {
        validator.check(max >= 1 && max <= maxReplicas, "max_replicas", "must be between 1 and \(maxReplicas)")
        validator.check(min >= 0 && min <= max, "min_replicas", "must be between 0 and max_replicas (\(max))")
        validator.check(replicas >= min && replicas <= max, "replicas", "must be between min_replicas (\(min)) and max_replicas (\(max))")
    }

    static func checkAutoscaling(_ policy: AutoscalePolicy, into validator: inout Validator) {
        validator.check(policy.target > 0 && policy.target <= 1_000_000, "autoscaling.target", "must be more than 0 (per replica)")
        validator.check((0...3_600).contains(policy.scaleUpWindowSeconds), "autoscaling.scale_up_window_seconds", "must be between 0 and 3600")
        validator.check((0...3_600).contains(policy.scaleDownWindowSeconds), "autoscaling.scale_down_window_seconds", "must be between 0 and 3600")
    }

    static func checkRouteHeader(_ header: (name: String, value: String), into validator: inout Validator) {
        let token = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        validator.check(
            (1...100).contains(header.name.count) && header.name.unicodeScalars.allSatisfy(token.contains)
                && !["authorization", "cookie", "host"].contains(header.name.lowercased()),
            "route_header.name", "must be a header name (letters, digits, '-'), not authorization, cookie or host")
        validator.check(
            (1...200).contains(header.value.count) && header.value.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F },
            "route_header.value", "must be 1-200 visible ASCII characters")
    }

    static func isServiceName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.count <= 63 else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" } && !name.hasSuffix("-")
    }

    static func canonicalJSON(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// Which organization and project each service belongs to, for the gateway's authorization.
final class OwnerCache: Sendable {
    private let owners = Mutex<[UUID: Policy.Resource]>([:])

    func get(_ id: UUID) -> Policy.Resource? { owners.withLock { $0[id] } }
    func set(_ id: UUID, _ owner: Policy.Resource?) { owners.withLock { $0[id] = owner } }
}
