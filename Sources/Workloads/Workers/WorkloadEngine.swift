import AITIPCore
import Executors
import Foundation
import Logging
import ObjectStore
import SQLKit
import Scheduler
import Storage
import Synchronization

/// The scheduler loop and the reconciler: makes the stored state of every workload true.
///
/// Each cycle (on a tick, or at once when woken by a submission, a stop or a finished attempt) it sends stop
/// signals and kills after the grace period, stops work past its max runtime, meters GPU usage, runs the
/// `Scheduler` over the queued work, applies its decisions in one transaction and launches what was admitted.
/// Every running attempt has a pump: it copies the attempt's output into the `LogHub`, notices when the attempt
/// ends, and records how it ended. On start, attempts the database calls active are adopted again (their pumps pick
/// up where the persisted log ends); work admitted but never launched goes back to the queue.
package final class WorkloadEngine: Sendable {
    package struct Configuration: Sendable {
        package var tick: Duration
        package var gracePeriodSeconds: Double
        package var meteringIntervalSeconds: Double
        package var heartbeatSeconds: Double
        /// How often a pump polls its attempt's log and state.
        package var logPoll: Duration
        /// How long the engine lease lasts unrenewed: how soon a waiting server takes over from one that died.
        package var leaseSeconds: Double

        package init(
            tick: Duration = .seconds(1), gracePeriodSeconds: Double = 30, meteringIntervalSeconds: Double = 30,
            heartbeatSeconds: Double = 10, logPoll: Duration = .milliseconds(10), leaseSeconds: Double = 15
        ) {
            self.tick = tick
            self.gracePeriodSeconds = gracePeriodSeconds
            self.meteringIntervalSeconds = meteringIntervalSeconds
            self.heartbeatSeconds = heartbeatSeconds
            self.logPoll = logPoll
            self.leaseSeconds = leaseSeconds
        }
    }

    struct Attempt: Sendable {
        var workloadId: UUID
        var reference: String
        var attempt: Int
    }

    struct Memory {
        var signalled: [UUID: Int64] = [:]
        var lastMetering: Date = .distantPast
        var lastHeartbeat: Date = .distantPast
        var lastKeepAlive: Date = .distantPast
        var nodeIds: [UUID] = []
    }

    let database: Database
    let clock: any Clock
    let executor: any Executor
    let logs: LogHub
    let objects: any ObjectStore
    let nodeSource: (any NodeSource)?
    let wakeup: Wakeup
    let logger: Logger
    let configuration: Configuration
    /// Only the holder of this lease runs the engine; other servers on the same database wait (see LeaderLease).
    package let lease: LeaderLease
    private let scheduler = Scheduler()
    private let memory = Mutex(Memory())

    /// `nodeSource`: where the nodes come from (this machine, a Ray cluster); nil when nodes are registered elsewhere.
    package init(
        database: Database, clock: any Clock, executor: any Executor, logs: LogHub, objects: any ObjectStore,
        nodeSource: (any NodeSource)?, wakeup: Wakeup, configuration: Configuration = .init(), logger: Logger
    ) {
        self.database = database
        self.clock = clock
        self.executor = executor
        self.logs = logs
        self.objects = objects
        self.nodeSource = nodeSource
        self.wakeup = wakeup
        self.configuration = configuration
        self.logger = logger
        lease = LeaderLease(name: "workload-engine", database: database, clock: clock, seconds: configuration.leaseSeconds)
    }

    /// Runs until the task is cancelled (graceful shutdown): waits for the engine lease, then schedules, launches and
    /// reconciles while it holds it (waiting again if another server took it over). Attempts keep running without
    /// the server and are adopted again on the next start; the lease is released on the way out.
    package func run() async throws {
        while try await waitForLease() {
            guard try await lead() else { break }
            logger.error("another server took over the workload engine (this one did not renew its lease in time); waiting again")
        }
        // Released from a fresh task: this one is cancelled at shutdown, and SQLite refuses the statements of a cancelled task.
        let lease = self.lease
        do { try await Task { try await lease.release() }.value } catch {
            logger.warning("could not release the engine lease; another server takes over when it expires", metadata: ["error": "\(error)"])
        }
    }

    /// Waits until this server holds the lease; false when cancelled first.
    private func waitForLease() async throws -> Bool {
        var waited = false
        while !Task.isCancelled {
            if try await lease.acquire() {
                if waited { logger.info("this server now runs the workload engine", metadata: ["holder": "\(lease.holder)"]) }
                return true
            }
            if !waited {
                let holder = try await lease.currentHolder() ?? "?"
                logger.info(
                    "another server runs the workload engine; this one serves the API and waits to take over",
                    metadata: ["holder": "\(holder)"])
                waited = true
            }
            try? await Task.sleep(for: .seconds(configuration.leaseSeconds / 3))
        }
        return false
    }

    /// The engine proper, while this server holds the lease; true when the lease was lost, false when cancelled.
    private func lead() async throws -> Bool {
        try await registerNodes()
        let adopted = try await reconcile()
        var lost = false
        try await withThrowingDiscardingTaskGroup { group in
            let (wakeup, tick) = (self.wakeup, self.configuration.tick)
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    wakeup.signal()
                }
            }
            for attempt in adopted { group.addTask { await self.pump(attempt) } }
            for await _ in wakeup.stream {
                if Task.isCancelled { break }
                do {
                    guard try await lease.renewIfDue() else {
                        lost = true
                        group.cancelAll()
                        break
                    }
                    for attempt in try await cycle() { group.addTask { await self.pump(attempt) } }
                } catch {
                    logger.error("scheduling cycle failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        }
        return lost
    }

    // MARK: start-up

    /// Registers this server's nodes when it runs the engine (holds the lease), before serving, so the first
    /// submissions already see them. `run` registers them too.
    package func registerNodesIfLeading() async throws {
        if try await lease.acquire() { try await registerNodes() }
    }

    /// Registers (or refreshes) this server's nodes.
    func registerNodes() async throws {
        guard let nodeSource else { return }
        let now = clock.now().epochMilliseconds
        let nodes = try await nodeSource.nodes(now: now)
        let registered: [GPUNode] = try await database.transaction { sql in
            var saved: [GPUNode] = []
            for node in nodes { saved.append(try await ResourceStore.upsert(node, on: sql)) }
            let current = Set(saved.map(\.id))
            for stale in try await ResourceStore.nodes(on: sql)
            where nodeSource.sources.contains(stale.source) && !current.contains(stale.id)
                && stale.status != .offline
            {
                try await ResourceStore.setStatus(.offline, of: stale.id, on: sql)
            }
            return saved
        }
        let known = memory.withLock { state -> Set<UUID> in
            defer { state.nodeIds = registered.map(\.id) }
            return Set(state.nodeIds)
        }
        for node in registered where !known.contains(node.id) {
            logger.info(
                "node registered",
                metadata: [
                    "node": "\(node.name)", "gpus": "\(node.gpuCount)", "gpu_type": "\(node.nodeType ?? "none")",
                    "source": "\(node.source)",
                ])
        }
    }

    /// Active work after a restart: launched attempts are adopted (returned for pumping); admitted but never
    /// launched work is queued again.
    func reconcile() async throws -> [Attempt] {
        let now = clock.now().epochMilliseconds
        let kind = executor.kind
        return try await database.transaction { sql in
            var adopted: [Attempt] = []
            for workload in try await WorkloadStore.workloads(states: [.admitted, .starting, .running], on: sql) {
                if let reference = workload.executorRef, workload.executor == kind {
                    adopted.append(Attempt(workloadId: workload.id, reference: reference, attempt: workload.attempt))
                } else if workload.executorRef == nil {
                    _ = try await WorkloadStore.transition(
                        workload, to: .queued, reason: "requeued: the server restarted before it was launched",
                        at: now, on: sql
                    ) { $0.placementJSON = nil }
                } else {
                    _ = try await WorkloadStore.transition(
                        workload, to: .failed,
                        reason: "its executor '\(workload.executor ?? "?")' is not the one this server runs ('\(kind)'); its state is unknown",
                        at: now, on: sql
                    ) { $0.finishedMs = now }
                }
            }
            return adopted
        }
    }

    // MARK: the cycle

    /// Kills the attempts of every active workload at once, recording nothing: for a test that ends, or fails, with
    /// jobs still running, which would otherwise outlive it (the server itself leaves jobs running on shutdown, to
    /// adopt them at the next start).
    package func killActiveAttempts() async throws {
        let active = try await database.read { sql in try await WorkloadStore.workloads(states: [.admitted, .starting, .running], on: sql) }
        for reference in active.compactMap(\.executorRef) { await executor.kill(reference) }
    }

    /// One pass; returns the attempts launched, for pumping.
    func cycle() async throws -> [Attempt] {
        let now = clock.now()
        let ms = now.epochMilliseconds
        try await heartbeat(now)
        let snapshotRows = try await database.read { sql in
            (
                try await ResourceStore.nodes(on: sql),
                try await WorkloadStore.workloads(states: [.queued, .admitted, .starting, .running], on: sql),
                try await ResourceStore.allQuotas(on: sql),
                try await ResourceStore.gpuSecondsSince(ResourceService.day(ResourceService.monthStart(now)), on: sql)
            )
        }
        let (nodes, open, quotas, used) = snapshotRows
        let active = open.filter { $0.state.isActive }
        let queued = open.filter { $0.state == .queued }
        try await enforceStops(active, ms: ms)
        try await meter(active, now: now)

        let snapshot = ClusterSnapshot(
            now: now, nodes: nodes.map(\.capacity), running: active.map(\.running), pending: queued.map(\.pending),
            projectQuotas: Self.projectQuotas(quotas, used: used.projects, active: active),
            orgQuotas: Self.orgQuotas(quotas, used: used.orgs, active: active))
        let decision = scheduler.schedule(snapshot)
        let admitted = try await apply(decision, queued: queued, active: active, ms: ms)
        for victim in decision.preempted {
            if let workload = active.first(where: { $0.id == victim.victimId }), let reference = workload.executorRef {
                await executor.requestStop(reference)
                memory.withLock { _ = $0.signalled[workload.id] = ms }
            }
        }
        var launched: [Attempt] = []
        for workload in admitted {
            if let attempt = await launch(workload) { launched.append(attempt) }
        }
        return launched
    }

    private func heartbeat(_ now: Date) async throws {
        let (due, ids, keepAlive) = memory.withLock { state -> (Bool, [UUID], Bool) in
            let due = now.timeIntervalSince(state.lastHeartbeat) >= configuration.heartbeatSeconds
            if due { state.lastHeartbeat = now }
            let keepAlive = now.timeIntervalSince(state.lastKeepAlive) >= 10
            if keepAlive { state.lastKeepAlive = now }
            return (due, state.nodeIds, keepAlive)
        }
        if keepAlive { await logs.wakeAll() }
        guard due else { return }
        if nodeSource?.refreshes == true {
            do { try await registerNodes() } catch {
                logger.warning("could not refresh the nodes", metadata: ["error": "\(error)"])
            }
        }
        let ms = now.epochMilliseconds
        try await database.transaction { sql in
            try await ResourceStore.heartbeat(ids, at: ms, on: sql)
            try await ResourceStore.markOffline(heartbeatBefore: ms - Int64(6 * self.configuration.heartbeatSeconds * 1_000), on: sql)
        }
    }

    /// Stop signals, kills after the grace period, and stops for work past its max runtime.
    private func enforceStops(_ active: [Workload], ms: Int64) async throws {
        let overdue = active.filter { workload in
            guard workload.stopRequestedMs == nil, workload.state == .running, let limit = workload.maxRuntimeSeconds,
                let started = workload.startedMs
            else { return false }
            return ms - started > Int64(limit) * 1_000
        }
        if !overdue.isEmpty {
            try await database.transaction { sql in
                for workload in overdue {
                    _ = try await WorkloadStore.requestStop(
                        workload.id, attempt: workload.executorRef, .timeout,
                        reason: "stopping: exceeded its max runtime of \(workload.maxRuntimeSeconds ?? 0) s",
                        at: ms, on: sql)
                }
            }
        }
        let graceMs = Int64(configuration.gracePeriodSeconds * 1_000)
        for workload in active {
            guard let reference = workload.executorRef else { continue }
            let requested = overdue.contains { $0.id == workload.id } ? ms : workload.stopRequestedMs
            guard let requested else { continue }
            let signalledAt = memory.withLock { $0.signalled[workload.id] }
            if signalledAt == nil {
                await executor.requestStop(reference)
                memory.withLock { _ = $0.signalled[workload.id] = ms }
            } else if ms - requested > graceMs {
                await executor.kill(reference)
            }
        }
    }

    /// Adds GPU-seconds of running work to the usage table, per UTC day.
    private func meter(_ active: [Workload], now: Date) async throws {
        let due = memory.withLock { state -> Bool in
            guard now.timeIntervalSince(state.lastMetering) >= configuration.meteringIntervalSeconds else { return false }
            state.lastMetering = now
            return true
        }
        let running = active.filter { $0.state == .running && $0.gpuCount > 0 }
        guard due, !running.isEmpty else { return }
        let ms = now.epochMilliseconds
        try await database.transaction { sql in
            for workload in running {
                guard let row = Self.usage(workload, until: ms) else { continue }
                try await ResourceStore.meter(row, on: sql)
                try await sql.update("workloads").set("metered_ms", to: ms).where("id", .equal, workload.id).run()
            }
        }
    }

    static func usage(_ workload: Workload, until ms: Int64) -> ResourceStore.UsageRow? {
        guard workload.gpuCount > 0, let started = workload.startedMs else { return nil }
        let from = max(started, workload.meteredMs ?? started)
        guard ms > from else { return nil }
        return ResourceStore.UsageRow(
            workloadId: workload.id, day: ResourceService.day(Date(epochMilliseconds: ms)),
            gpuType: workload.gpuType ?? "gpu", orgId: workload.orgId, projectId: workload.projectId,
            userId: workload.ownerId, gpuSeconds: Double(ms - from) / 1_000 * Double(workload.gpuCount))
    }

    /// Stores the decision: admissions, preemption requests, rejections and changed waiting reasons.
    private func apply(_ decision: SchedulingDecision, queued: [Workload], active: [Workload], ms: Int64) async throws -> [Workload] {
        let byId = Dictionary(uniqueKeysWithValues: queued.map { ($0.id, $0) })
        let grace = Int(configuration.gracePeriodSeconds)
        let changedReasons = Dictionary(grouping: decision.waiting.filter { byId[$0.key]?.reason != $0.value }, by: \.value)
        // Most ticks decide nothing new: no write transaction then (on SQLite it would hold the one writer, which
        // every tracking write waits for, each tick).
        guard !decision.admitted.isEmpty || !decision.preempted.isEmpty || !decision.rejected.isEmpty || !changedReasons.isEmpty else {
            return []
        }
        return try await database.transaction { sql in
            var admitted: [Workload] = []
            for admission in decision.admitted {
                // A stop may have cancelled it since the snapshot.
                guard let current = try await WorkloadStore.workload(admission.workloadId, locking: true, on: sql), current.state == .queued else {
                    continue
                }
                let placement = String(decoding: try JSONEncoder.sorted.encode(admission.placements), as: UTF8.self)
                admitted.append(
                    try await WorkloadStore.transition(
                        current, to: .admitted, reason: Self.describe(admission.placements),
                        at: ms, on: sql
                    ) { $0.placementJSON = placement })
            }
            for preemption in decision.preempted {
                guard let victim = active.first(where: { $0.id == preemption.victimId }) else { continue }
                _ = try await WorkloadStore.requestStop(
                    victim.id, attempt: victim.executorRef, .preempt,
                    reason: "stopping: \(preemption.reason); \(grace) s to checkpoint, then it is killed and requeued",
                    at: ms, on: sql)
            }
            for (id, reason) in decision.rejected {
                guard let workload = byId[id] else { continue }
                _ = try await WorkloadStore.transition(workload, to: .failed, reason: "can never be scheduled: \(reason)", at: ms, on: sql) {
                    $0.finishedMs = ms
                }
            }
            for (reason, entries) in changedReasons {
                try await WorkloadStore.setReason(reason, of: entries.map(\.key), on: sql)
            }
            return admitted
        }
    }

    static func describe(_ placements: [Placement]) -> String {
        let gpus = placements.map { $0.gpuIndices.isEmpty ? "no GPU" : "GPUs \($0.gpuIndices.map(String.init).joined(separator: ","))" }
        return "admitted: \(gpus.joined(separator: "; ")) on \(placements.count == 1 ? "1 node" : "\(placements.count) nodes")"
    }

    /// Launches an admitted workload; a launch that fails fails the workload with the reason.
    private func launch(_ workload: Workload) async -> Attempt? {
        let ms = clock.now().epochMilliseconds
        let spec = workload.spec
        do {
            var archive: Data?
            if let sha = spec.codeArchive {
                // Submission checked that the organization's own archive exists; only work queued before archives
                // were kept per organization falls back to the shared key.
                let key = try WorkloadService.codeKey(sha, org: workload.orgId)
                archive = try await objects.get(try await objects.size(key) != nil ? key : WorkloadService.legacyCodeKey(sha))
            }
            let attempt = workload.attempt + 1
            let request = LaunchRequest(
                workloadId: workload.id, attempt: attempt, entrypoint: spec.entrypoint, environment: spec.env,
                codeArchive: archive, repository: spec.repository, gpuIndices: workload.placements.map(\.gpuIndices),
                gpuType: workload.gpuType, cpu: workload.cpu, memoryMiB: workload.memoryMiB,
                distributed: spec.distributed, isolateNetwork: spec.isolateNetwork, isolation: spec.isolation ?? .container,
                companion: spec.companion)
            let reference = try await executor.launch(request)
            let kind = executor.kind
            try await database.transaction { sql in
                guard let current = try await WorkloadStore.workload(workload.id, locking: true, on: sql), current.state == .admitted else { return }
                _ = try await WorkloadStore.transition(
                    current, to: .starting, reason: "launched on the \(kind) executor (attempt \(attempt))",
                    at: ms, on: sql
                ) {
                    $0.executor = kind
                    $0.executorRef = reference
                    $0.attempt = attempt
                }
            }
            return Attempt(workloadId: workload.id, reference: reference, attempt: attempt)
        } catch {
            logger.error("launch failed", metadata: ["workload": "\(workload.id)", "error": "\(error)"])
            try? await database.transaction { sql in
                guard let current = try await WorkloadStore.workload(workload.id, locking: true, on: sql), current.state == .admitted else { return }
                _ = try await WorkloadStore.transition(current, to: .failed, reason: "could not be launched: \(error)", at: ms, on: sql) {
                    $0.finishedMs = ms
                }
            }
            return nil
        }
    }

    // MARK: pumps

    /// Copies the attempt's output into the log hub until the attempt ends, then records how it ended.
    func pump(_ attempt: Attempt) async {
        var offset: Int64
        do {
            offset = try await logs.open(attempt.workloadId, attempt: attempt.attempt)
        } catch {
            logger.error("could not open a workload log", metadata: ["workload": "\(attempt.workloadId)", "error": "\(error)"])
            offset = 0
        }
        var lastCheck = ContinuousClock.now - .seconds(1)
        var markedRunning = false
        while true {
            do {
                let data = try await executor.readLog(attempt.reference, from: offset, limit: 1 << 20)
                if !data.isEmpty {
                    try await logs.append(attempt.workloadId, data)
                    offset += Int64(data.count)
                    continue
                }
                if await logs.secondsSinceFlush(attempt.workloadId) >= 1 { try await logs.flush(attempt.workloadId) }
            } catch {
                logger.warning("log pump", metadata: ["workload": "\(attempt.workloadId)", "error": "\(error)"])
            }
            if Task.isCancelled {
                try? await logs.flush(attempt.workloadId)
                return
            }
            if ContinuousClock.now - lastCheck >= .milliseconds(200) {
                lastCheck = ContinuousClock.now
                let state = await executor.state(of: attempt.reference)
                switch state {
                case .starting:
                    break
                case .running:
                    if !markedRunning { markedRunning = (try? await markRunning(attempt)) ?? false }
                case .exited, .lost, .killed:
                    while let rest = try? await executor.readLog(attempt.reference, from: offset, limit: 1 << 20), !rest.isEmpty {
                        try? await logs.append(attempt.workloadId, rest)
                        offset += Int64(rest.count)
                    }
                    try? await logs.close(attempt.workloadId)
                    do {
                        try await finish(attempt, state)
                        await executor.cleanUp(attempt.reference)
                    } catch {
                        logger.error("could not record the end of an attempt", metadata: ["workload": "\(attempt.workloadId)", "error": "\(error)"])
                    }
                    // Followers woken by the close may have read the state before `finish` stored it: wake them
                    // again so their end event goes out now rather than at the next keep-alive.
                    await logs.notify(attempt.workloadId)
                    wakeup.signal()
                    return
                }
            }
            try? await Task.sleep(for: configuration.logPoll)
        }
    }

    /// Why a workload that started runs: its attempt, unless a stop was asked for while it started (its reason says
    /// who stopped it, and the end is told as the stop's).
    static func runningReason(_ workload: Workload, attempt: Int) -> String {
        workload.stopReason == nil ? "running (attempt \(attempt))" : workload.reason
    }

    private func markRunning(_ attempt: Attempt) async throws -> Bool {
        let ms = clock.now().epochMilliseconds
        return try await database.transaction { sql in
            guard let current = try await WorkloadStore.workload(attempt.workloadId, locking: true, on: sql),
                current.executorRef == attempt.reference
            else { return true }
            guard current.state == .starting || current.state == .admitted else { return true }
            try await WorkloadStore.transition(current, to: .running, reason: Self.runningReason(current, attempt: attempt.attempt), at: ms, on: sql)
            {
                $0.startedMs = ms
                $0.meteredMs = ms
            }
            return true
        }
    }

    /// Records the end of an attempt: success, failure (retried while retries remain), cancellation, timeout, or
    /// preemption (requeued).
    func finish(_ attempt: Attempt, _ state: ExecutionState) async throws {
        let ms = clock.now().epochMilliseconds
        try await database.transaction { sql in
            guard var current = try await WorkloadStore.workload(attempt.workloadId, locking: true, on: sql),
                current.executorRef == attempt.reference, current.state.isActive
            else { return }
            if current.state != .running {
                // It ended before a pump saw it running (a quick program, or one stopped while it started): it did run.
                current = try await WorkloadStore.transition(
                    current, to: .running, reason: Self.runningReason(current, attempt: attempt.attempt), at: ms, on: sql
                ) {
                    $0.startedMs = $0.startedMs ?? ms
                    $0.meteredMs = $0.meteredMs ?? ms
                }
            }
            if let usage = Self.usage(current, until: ms) { try await ResourceStore.meter(usage, on: sql) }
            for placement in current.placements {
                let seconds = current.startedMs.map { Double(ms - $0) / 1_000 * Double(placement.gpuIndices.count) } ?? 0
                try await ResourceStore.addTotals(node: placement.nodeId, jobs: 1, gpuSeconds: seconds, on: sql)
            }
            let code: Int?
            let ended: String
            var retriable = true
            switch state {
            case .exited(let value): (code, ended) = (Int(value), "exited with code \(value)")
            case .killed(let value, let reason): (code, ended, retriable) = (Int(value), reason, false)
            case .lost(let reason): (code, ended) = (nil, "lost: \(reason)")
            case .starting, .running: (code, ended) = (nil, "ended")
            }
            func requeue(_ from: Workload, _ reason: String) async throws {
                _ = try await WorkloadStore.transition(from, to: .queued, reason: reason, at: ms, on: sql) {
                    $0.placementJSON = nil
                    $0.executorRef = nil
                    $0.stopRequestedMs = nil
                    $0.stopReason = nil
                    $0.startedMs = nil
                    $0.meteredMs = nil
                    $0.exitCode = code
                }
            }
            let finished: (inout Workload) -> Void = {
                $0.finishedMs = ms
                $0.exitCode = code
            }
            switch current.stopReason {
            case .preempt:
                let preempted = try await WorkloadStore.transition(
                    current, to: .preempted, reason: current.reason.replacingOccurrences(of: "stopping: ", with: ""),
                    at: ms, on: sql
                ) { $0.exitCode = code }
                try await requeue(preempted, "requeued after preemption; the next attempt finds its checkpoints in AITIP_CHECKPOINT_DIR")
            case .cancel:
                _ = try await WorkloadStore.transition(
                    current, to: .cancelled, reason: current.reason.replacingOccurrences(of: "stopping: requested", with: "stopped") + " (\(ended))",
                    at: ms, on: sql, change: finished)
            case .timeout:
                _ = try await WorkloadStore.transition(
                    current, to: .failed, reason: "exceeded its max runtime of \(current.maxRuntimeSeconds ?? 0) s (\(ended))",
                    at: ms, on: sql, change: finished)
            case nil:
                if code == 0 {
                    _ = try await WorkloadStore.transition(current, to: .succeeded, reason: ended, at: ms, on: sql, change: finished)
                } else if retriable, current.attempt <= current.maxRetries {
                    try await requeue(current, "attempt \(current.attempt) \(ended); retrying (retry \(current.attempt) of \(current.maxRetries))")
                } else {
                    _ = try await WorkloadStore.transition(current, to: .failed, reason: ended, at: ms, on: sql, change: finished)
                }
            }
        }
        memory.withLock { _ = $0.signalled.removeValue(forKey: attempt.workloadId) }
    }

    // MARK: snapshot helpers

    static func projectQuotas(_ quotas: [Quota], used: [UUID: Double], active: [Workload]) -> [UUID: QuotaState] {
        var result: [UUID: QuotaState] = [:]
        for quota in quotas {
            guard let project = quota.projectId else { continue }
            result[project] = QuotaState(
                maxConcurrentJobs: quota.maxConcurrentJobs, maxGPUSecondsPerMonth: quota.maxGPUHoursMonth.map { $0 * 3_600 },
                usedGPUSecondsThisMonth: used[project] ?? 0, runningJobs: active.filter { $0.projectId == project }.count)
        }
        return result
    }

    static func orgQuotas(_ quotas: [Quota], used: [UUID: Double], active: [Workload]) -> [UUID: QuotaState] {
        var result: [UUID: QuotaState] = [:]
        for quota in quotas where quota.projectId == nil {
            result[quota.orgId] = QuotaState(
                maxConcurrentJobs: quota.maxConcurrentJobs, maxGPUSecondsPerMonth: quota.maxGPUHoursMonth.map { $0 * 3_600 },
                usedGPUSecondsThisMonth: used[quota.orgId] ?? 0, runningJobs: active.filter { $0.orgId == quota.orgId }.count)
        }
        return result
    }
}

extension Workload {
    var running: RunningWorkload {
        RunningWorkload(
            id: id, owner: owner, queue: queue, priority: priority, placements: placements,
            startedAt: Date(epochMilliseconds: startedMs ?? updatedMs), maxRuntimeSeconds: maxRuntimeSeconds,
            terminating: stopRequestedMs != nil)
    }

    var pending: PendingWorkload {
        PendingWorkload(
            id: id, owner: owner, queue: queue, priority: priority, request: request, sequence: sequence,
            maxRuntimeSeconds: maxRuntimeSeconds)
    }
}
