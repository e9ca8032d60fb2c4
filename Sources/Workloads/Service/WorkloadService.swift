import AITIPCore
import Crypto
import Executors
import Foundation
import Identity
import ObjectStore
import SQLKit
import Scheduler
import Storage

/// The use cases of every run-to-completion workload: submit (validated, feasible, audited), read, list, stop,
/// delete, logs. Kind-specific modules (Training, …) call `prepare` and `insert` inside their own transaction.
package struct WorkloadService: Sendable {
    package struct Configuration: Sendable {
        package var priorityClasses: [PriorityClass]
        package var defaultPriorityClass: String
        package var maxCodeBytes: Int
        package var maxRetries: Int
        package var defaultCPU: Double
        package var defaultMemoryMiB: Int
        /// Time between the stop signal and the kill, for a checkpoint.
        package var gracePeriodSeconds: Double

        package init(
            priorityClasses: [PriorityClass] = PriorityClass.defaults, defaultPriorityClass: String = "normal",
            maxCodeBytes: Int = 64 * 1_048_576, maxRetries: Int = 10, defaultCPU: Double = 1, defaultMemoryMiB: Int = 2_048,
            gracePeriodSeconds: Double = 30
        ) {
            self.priorityClasses = priorityClasses
            self.defaultPriorityClass = defaultPriorityClass
            self.maxCodeBytes = maxCodeBytes
            self.maxRetries = maxRetries
            self.defaultCPU = defaultCPU
            self.defaultMemoryMiB = defaultMemoryMiB
            self.gracePeriodSeconds = gracePeriodSeconds
        }
    }

    let database: Database
    let clock: any Clock
    let audit: AuditLog
    let objects: any ObjectStore
    package let logs: LogHub
    package let configuration: Configuration
    let wakeup: Wakeup
    let executor: any Executor
    let projects: ProjectScopes
    /// The kinds the owning modules registered, by name.
    let kinds: [String: WorkloadKind]

    package init(
        database: Database, clock: any Clock, audit: AuditLog, objects: any ObjectStore, logs: LogHub, executor: any Executor,
        wakeup: Wakeup, kinds: [WorkloadKind], configuration: Configuration = .init()
    ) {
        self.database = database
        self.clock = clock
        self.audit = audit
        self.objects = objects
        self.logs = logs
        self.executor = executor
        self.wakeup = wakeup
        self.configuration = configuration
        projects = ProjectScopes(database: database)
        self.kinds = Dictionary(uniqueKeysWithValues: kinds.map { ($0.name, $0) })
    }

    /// Whether a submission may have a companion (`Submission.companion`) on this server's executor.
    package var runsCompanions: Bool { executor.runsCompanions }

    /// Whether this server's executor runs work the gateway can reach (`Executor.servesOnSockets`), and its kind.
    package var servesOnSockets: (Bool, kind: String) { (executor.servesOnSockets, executor.kind) }

    /// The longest command line a workload runs.
    package static let maxEntrypointLength = 10_000

    /// What a user asks to run. Unset resources take the defaults.
    package struct Submission: Sendable {
        package var name: String?
        package var entrypoint: String?
        package var env: [String: String]
        package var codeArchive: String?
        package var repository: LaunchRequest.Repository?
        package var gpuType: String?
        package var gpuCount: Int?
        package var nodes: Int?
        package var cpu: Double?
        package var memoryMiB: Int?
        package var priorityClass: String?
        package var queue: String?
        package var maxRuntimeSeconds: Int?
        package var maxRetries: Int?
        package var distributed: DistributedMode
        /// nil: the executor's default (the local executor's sandbox has no network unless a job asks).
        package var isolateNetwork: Bool?
        /// The sandbox (simulation's isolation levels); other workloads keep the default.
        package var isolation: Isolation = .container
        /// A program run beside the entrypoint in a sandbox of its own (`LaunchRequest.companion`); only where the
        /// executor `runsCompanions`.
        package var companion: String?
        /// Variables set by aitip itself (e.g. AITIP_CONFIG), not checked against the reserved names.
        package var systemEnv: [String: String] = [:]

        package init(
            name: String?, entrypoint: String?, env: [String: String] = [:], codeArchive: String? = nil,
            repository: LaunchRequest.Repository? = nil, gpuType: String? = nil, gpuCount: Int? = nil, nodes: Int? = nil,
            cpu: Double? = nil, memoryMiB: Int? = nil, priorityClass: String? = nil, queue: String? = nil,
            maxRuntimeSeconds: Int? = nil, maxRetries: Int? = nil, distributed: DistributedMode = .single,
            isolateNetwork: Bool? = nil
        ) {
            self.name = name
            self.entrypoint = entrypoint
            self.env = env
            self.codeArchive = codeArchive
            self.repository = repository
            self.gpuType = gpuType
            self.gpuCount = gpuCount
            self.nodes = nodes
            self.cpu = cpu
            self.memoryMiB = memoryMiB
            self.priorityClass = priorityClass
            self.queue = queue
            self.maxRuntimeSeconds = maxRuntimeSeconds
            self.maxRetries = maxRetries
            self.distributed = distributed
            self.isolateNetwork = isolateNetwork
        }
    }

    /// The project a workload is submitted to, with `permission` checked there.
    package func scope(project projectId: UUID, permission: Permission, caller: Caller) async throws -> ProjectScope {
        try await projects.scope(.id(projectId), permission: permission, caller: caller)
    }

    /// Validates a submission against the configuration and the registered nodes; returns the workload to insert.
    package func prepare(_ submission: Submission, kind: WorkloadKind, in scope: ProjectScope, caller: Caller, on sql: any SQLDatabase) async throws
        -> Workload
    {
        try await prepare(submission, kind: kind, in: scope, ownerId: try caller.requirePrincipal().userId, on: sql)
    }

    /// `prepare` for work the owning module starts itself (an inference service's replicas, started by its
    /// reconciler for the user who asked for the service): the module has authorized the user already.
    package func prepare(_ submission: Submission, kind: WorkloadKind, in scope: ProjectScope, ownerId: UUID?, on sql: any SQLDatabase) async throws
        -> Workload
    {
        var validator = Validator()
        let name = validator.requireText(submission.name, "name", maxLength: 255)
        let entrypoint = validator.requireText(submission.entrypoint, "entrypoint", maxLength: Self.maxEntrypointLength)
        let gpus = submission.gpuCount ?? 0
        let nodes = submission.nodes ?? 1
        let cpu = submission.cpu ?? configuration.defaultCPU
        let memory = submission.memoryMiB ?? configuration.defaultMemoryMiB
        validator.check((0...1_024).contains(gpus), "resources.gpu_count", "must be between 0 and 1024")
        validator.check((1...256).contains(nodes), "resources.nodes", "must be between 1 and 256")
        validator.check(cpu > 0 && cpu <= 1_024, "resources.cpu", "must be more than 0 and at most 1024 cores")
        validator.check(memory >= 16 && memory <= 16 * 1_048_576, "resources.memory_mib", "must be between 16 MiB and 16 TiB")
        if let type = submission.gpuType {
            validator.check(Self.isName(type), "resources.gpu_type", "must be a short lowercase name such as a100")
            validator.check(gpus > 0, "resources.gpu_type", "is set but gpu_count is 0")
        }
        let queue = submission.queue ?? "default"
        validator.check(Self.isName(queue), "queue", "must be 1-63 lowercase letters, digits, '-' or '_'")
        let className = submission.priorityClass ?? configuration.defaultPriorityClass
        let priorityClass = configuration.priorityClasses.first { $0.name == className }
        validator.check(
            priorityClass != nil, "priority",
            "must be one of \(configuration.priorityClasses.map(\.name).joined(separator: ", "))")
        if let runtime = submission.maxRuntimeSeconds {
            validator.check(runtime >= 1 && runtime <= 90 * 86_400, "max_runtime_seconds", "must be between 1 second and 90 days")
        }
        let retries = submission.maxRetries ?? 0
        validator.check((0...configuration.maxRetries).contains(retries), "max_retries", "must be between 0 and \(configuration.maxRetries)")
        validator.check(submission.env.count <= 200, "env", "may hold at most 200 variables")
        for (key, value) in submission.env {
            validator.check(Self.isEnvName(key), "env.\(key)", "is not a valid variable name")
            validator.check(!Self.reservedEnv.contains(key) && !key.hasPrefix("AITIP_"), "env.\(key)", "is set by aitip")
            validator.check(value.utf8.count <= 32_768, "env.\(key)", "is longer than 32 KiB")
        }
        if submission.distributed != .single {
            validator.check(nodes == 1, "distributed_mode", "runs on one node with the local executor; use nodes = 1")
            validator.check(gpus >= 1, "distributed_mode", "\(submission.distributed.rawValue) starts one process per GPU: ask for at least one GPU")
        }
        if let archive = submission.codeArchive {
            validator.check(archive.count == 64 && archive.allSatisfy(\.isHexDigit), "code.archive", "must be the sha256 an upload returned")
            validator.check(submission.repository == nil, "code", "give an archive or a repository, not both")
        }
        if let repository = submission.repository {
            validator.check(
                repository.url.hasPrefix("https://") && repository.url.count <= 500 && !repository.url.contains(" "),
                "code.repository", "must be an https:// URL")
            validator.check(
                (7...64).contains(repository.commit.count) && repository.commit.allSatisfy(\.isHexDigit),
                "code.commit", "must be a commit hash (7-64 hex digits)")
        }
        let isolateNetwork = submission.isolateNetwork ?? executor.isolatesNetworkByDefault
        if submission.repository != nil, isolateNetwork, executor.isolatesNetworkByDefault {
            validator.add(
                "code.repository",
                "is cloned inside the job's sandbox, which needs the network: set isolate_network to false (the operator must allow it with job_network=allow), or upload the code"
            )
        }
        if submission.isolation == .gvisor {
            validator.check(
                gpus == 0, "resources.gpu_count", "cannot be passed into a gVisor sandbox here: ask for 0 GPUs or the container isolation")
            validator.check(submission.distributed == .single, "distributed_mode", "runs one process in a gVisor sandbox: leave it single")
        }
        if submission.companion != nil {
            validator.check(executor.runsCompanions, "companion", "cannot run beside the job on the \(executor.kind) executor here")
            validator.check(submission.distributed == .single, "distributed_mode", "runs one process beside a companion: leave it single")
        }
        try validator.finish()
        if let refusal = executor.refusal(isolateNetwork: isolateNetwork) ?? executor.refusal(isolation: submission.isolation) { throw refusal }
        if let archive = submission.codeArchive { try await requireCodeArchive(archive, org: scope.orgId) }
        let request = ResourceRequest(gpuType: submission.gpuType, gpus: gpus, nodes: nodes, cpu: cpu, memoryMiB: memory)
        let nodesNow = try await ResourceStore.nodes(on: sql)
        if let reason = Scheduler.impossibility(of: request, on: nodesNow.map(\.capacity)) {
            throw AppError(.badRequest, "This request can never be scheduled: \(reason)")
        }
        let spec = WorkloadSpec(
            entrypoint: entrypoint, env: submission.env.merging(submission.systemEnv) { _, system in system },
            codeArchive: submission.codeArchive?.lowercased(),
            repository: submission.repository, distributed: submission.distributed, isolateNetwork: isolateNetwork,
            isolation: submission.isolation == .container ? nil : submission.isolation, companion: submission.companion)
        let now = clock.now()
        let specJSON = String(decoding: try JSONEncoder.sorted.encode(spec), as: UTF8.self)
        let id = IDGenerator.uuidV7(at: now)
        return Workload(
            id: id, kind: kind.name, orgId: scope.orgId, projectId: scope.projectId, ownerId: ownerId,
            name: name, queue: queue, priorityClass: priorityClass!.name, priority: priorityClass!.value, state: .queued,
            reason: "waiting for the scheduler", specJSON: specJSON, gpuType: submission.gpuType, gpuCount: gpus,
            nodeCount: nodes, cpu: cpu, memoryMiB: memory, maxRuntimeSeconds: submission.maxRuntimeSeconds, maxRetries: retries,
            attempt: 0, sequence: id.v7Sequence, createdMs: now.epochMilliseconds,
            updatedMs: now.epochMilliseconds)
    }

    /// Stores a prepared workload (queued) with its transitions and audit entry.
    /// `audited` false: the owning module records the user's action itself, once for all the workloads it makes (a
    /// simulation run of many scenarios is one action).
    package func insert(_ workload: Workload, caller: Caller, on sql: any SQLDatabase, audited: Bool = true) async throws {
        try await WorkloadStore.insert(workload, reason: "accepted into queue '\(workload.queue)'", on: sql)
        guard audited else { return }
        try await audit.record(
            on: sql, caller, orgId: workload.orgId, action: "\(workload.kind).submit", targetType: workload.kind,
            targetId: workload.id.lowercasedString)
    }

    /// Where each of these workloads lives and what it is called, for other modules' views (lineage). No caller is
    /// checked: the asking module authorizes against the organization and project returned.
    package struct Summary: Sendable {
        package var id: UUID
        package var kind: String
        package var name: String
        package var orgId: UUID
        package var projectId: UUID
        package var state: WorkloadState
        /// Why it is in that state (how it ended, once final).
        package var reason: String
    }

    package func summaries(_ ids: [UUID]) async throws -> [Summary] {
        guard !ids.isEmpty else { return [] }
        return try await database.read { sql in try await WorkloadStore.workloads(ids: ids, on: sql) }
            .map {
                Summary(id: $0.id, kind: $0.kind, name: $0.name, orgId: $0.orgId, projectId: $0.projectId, state: $0.state, reason: $0.reason)
            }
    }

    /// Where a workload's processes find their checkpoints, as they see it; nil where the executor keeps none.
    package func checkpointDirectory(of id: UUID) -> String? { executor.checkpointDirectory(of: id) }

    /// Tells the engine to run a cycle now (after a submission or a stop is committed).
    package func wake() { wakeup.signal() }

    // MARK: reading

    package func workload(_ id: UUID, of kind: WorkloadKind, caller: Caller) async throws -> Workload {
        let principal = try caller.requirePrincipal()
        guard let workload = try await database.read({ sql in try await WorkloadStore.workload(id, on: sql) }), workload.kind == kind.name,
            principal.visibleOrgIds.contains(workload.orgId)
        else { throw AppError.notFound(kind.title) }
        try Policy.authorize(principal, kind.read, on: resource(workload))
        return workload
    }

    package func events(_ id: UUID, of kind: WorkloadKind, caller: Caller) async throws -> [WorkloadEvent] {
        _ = try await workload(id, of: kind, caller: caller)
        return try await database.read { sql in try await WorkloadStore.events(id, on: sql) }
    }

    package struct ListQuery: Sendable {
        package var projectId: UUID?
        package var states: [WorkloadState]
        package var queue: String?
        package var limit: Int
        package var cursor: String?

        package init(projectId: UUID? = nil, states: [WorkloadState] = [], queue: String? = nil, limit: Int = 50, cursor: String? = nil) {
            self.projectId = projectId
            self.states = states
            self.queue = queue
            self.limit = limit
            self.cursor = cursor
        }
    }

    /// Newest first, in one project or every project the caller may read.
    package func list(_ query: ListQuery, of kind: WorkloadKind, caller: Caller) async throws -> Page<Workload> {
        let permission = kind.read
        let principal = try caller.requirePrincipal()
        let limit = max(1, min(query.limit, 500))
        let cursor = try Cursor.parse(query.cursor).map { cursor throws(AppError) in (try cursor.int64(0), try cursor.uuid(1)) }
        let projectIds: [UUID]
        if let projectId = query.projectId {
            projectIds = [try await scope(project: projectId, permission: permission, caller: caller).projectId]
        } else {
            let readable = principal.visibleOrgIds.filter { principal.permissions(in: $0).contains(permission) }
            projectIds = try await projects.projects(inOrgs: readable).map(\.projectId)
        }
        guard !projectIds.isEmpty else { return Page(items: [], nextCursor: nil) }
        return try await database.read { sql in
            let rows = try await WorkloadStore.list(
                .init(projectIds: projectIds, states: query.states, queue: query.queue, kind: kind.name),
                after: cursor, limit: limit + 1, on: sql)
            let items = Array(rows.prefix(limit))
            let next = rows.count > limit ? items.last.map { Cursor(String($0.createdMs), $0.id.lowercasedString).text } : nil
            return Page(items: items, nextCursor: next)
        }
    }

    /// What the running attempt uses now (CPU time, memory, processes, and on this machine's real GPUs their
    /// utilisation and memory); nil when it is not running or the executor cannot tell.
    package func usage(of workload: Workload) async -> ResourceUsage? {
        guard workload.state == .running, let reference = workload.executorRef, workload.executor == executor.kind,
            var usage = await executor.usage(of: reference)
        else { return nil }
        if executor.kind == "local" {
            usage.gpus = NodeInventory.sampleGPUs(workload.placements.flatMap(\.gpuIndices))
        }
        return usage
    }

    // MARK: changing

    /// Stops a workload: a queued one is cancelled at once; a running one gets the stop signal, then, after the
    /// grace period, is killed.
    package func stop(_ id: UUID, of kind: WorkloadKind, caller: Caller) async throws -> Workload {
        let principal = try caller.requirePrincipal()
        let now = clock.now().epochMilliseconds
        let result: Workload = try await database.transaction { sql in
            guard let workload = try await WorkloadStore.workload(id, locking: true, on: sql), workload.kind == kind.name,
                principal.visibleOrgIds.contains(workload.orgId)
            else { throw AppError.notFound(kind.title) }
            try Policy.authorize(principal, kind.write, on: resource(workload))
            if workload.state.isFinal {
                throw AppError.conflict("\(kind.title) \(workload.id.lowercasedString) has already finished (\(workload.state.rawValue))")
            }
            let updated: Workload
            if workload.state.isActive {
                guard workload.stopRequestedMs == nil || workload.stopReason != .cancel else { return workload }
                var stopping = workload
                stopping.stopRequestedMs = now
                stopping.stopReason = .cancel
                stopping.reason =
                    "stopping: requested by \(principal.username); killed after \(Int(configuration.gracePeriodSeconds)) s if still running"
                stopping.updatedMs = now
                try await WorkloadStore.save(stopping, on: sql)
                updated = stopping
            } else {
                updated = try await WorkloadStore.transition(
                    workload, to: .cancelled, reason: "cancelled by \(principal.username) before it started",
                    at: now, on: sql
                ) { $0.finishedMs = now }
            }
            try await audit.record(
                on: sql, caller, orgId: workload.orgId, action: "\(kind.name).stop", targetType: kind.name, targetId: id.lowercasedString)
            return updated
        }
        wake()
        await logs.notify(id)
        return result
    }

    /// Stops a workload its owning module started (a replica being replaced, scaled down or stopped with its
    /// service): the module authorized and audited the user's request that led here.
    package func stopOwned(_ id: UUID, reason: String) async throws {
        let now = clock.now().epochMilliseconds
        try await database.transaction { sql in
            guard let workload = try await WorkloadStore.workload(id, locking: true, on: sql), !workload.state.isFinal else { return }
            if workload.state.isActive {
                guard workload.stopRequestedMs == nil else { return }
                var stopping = workload
                stopping.stopRequestedMs = now
                stopping.stopReason = .cancel
                stopping.reason = "stopping: \(reason)"
                stopping.updatedMs = now
                try await WorkloadStore.save(stopping, on: sql)
            } else {
                _ = try await WorkloadStore.transition(workload, to: .cancelled, reason: reason, at: now, on: sql) { $0.finishedMs = now }
            }
        }
        wake()
        await logs.notify(id)
    }

    /// These workloads as they are now, for the module that owns them (no caller is checked: it authorizes).
    package func workloads(_ ids: [UUID]) async throws -> [Workload] {
        guard !ids.isEmpty else { return [] }
        return try await database.read { sql in try await WorkloadStore.workloads(ids: ids, on: sql) }
    }

    /// Where a running workload may serve HTTP (see `Executor.serviceSocket`).
    package func serviceSocket(of workload: Workload) -> String? {
        guard workload.state == .running, let reference = workload.executorRef else { return nil }
        return executor.serviceSocket(of: reference)
    }

    /// Deletes a finished workload with its transitions, logs and checkpoints. Usage records stay for costs.
    package func delete(_ id: UUID, of kind: WorkloadKind, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try await database.transaction { sql in
            guard let workload = try await WorkloadStore.workload(id, locking: true, on: sql), workload.kind == kind.name,
                principal.visibleOrgIds.contains(workload.orgId)
            else { throw AppError.notFound(kind.title) }
            try Policy.authorize(principal, kind.delete, on: resource(workload))
            guard !workload.state.isActive else {
                throw AppError.conflict("\(kind.title) \(id.lowercasedString) is \(workload.state.rawValue): stop it first")
            }
            try await kind.onDelete(id, sql)
            try await WorkloadStore.delete(id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: workload.orgId, action: "\(kind.name).delete", targetType: kind.name, targetId: id.lowercasedString)
        }
        await logs.purge(id)
        await executor.purge(workloadId: id)
    }

    // MARK: helpers

    func resource(_ workload: Workload) -> Policy.Resource {
        Policy.Resource(
            kind: kinds[workload.kind]?.title ?? "Workload", orgId: workload.orgId, projectId: workload.projectId, createdBy: workload.ownerId)
    }

    static let reservedEnv: Set<String> = [
        "PATH", "HOME", "CUDA_VISIBLE_DEVICES", "RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR",
        "MASTER_PORT", "LD_PRELOAD",
    ]

    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 63
            && text.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d || $0 == 0x5f }
    }

    static func isEnvName(_ text: String) -> Bool {
        guard let first = text.utf8.first, !(0x30...0x39).contains(first), text.utf8.count <= 128 else { return false }
        return text.utf8.allSatisfy { (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5f }
    }
}

extension GPUNode {
    /// The scheduler's view of this node's inventory.
    var capacity: NodeCapacity {
        NodeCapacity(
            id: id, name: name, gpuType: nodeType, gpuCount: gpuCount, cpu: cpuCores, memoryMiB: memoryMiB,
            schedulable: status == .available || status == .busy)
    }
}

/// Wakes the engine: a submission, a stop or a finished attempt should not wait for the next tick.
package final class Wakeup: Sendable {
    package let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    package init() {
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    package func signal() { continuation.yield() }
}
