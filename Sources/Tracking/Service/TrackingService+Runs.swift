import AITIPCore
import Foundation
import Identity
import SQLKit
import Storage

extension TrackingService {
    package struct RunInput: Sendable {
        package var userId: String?
        package var name: String?
        package var startMs: Int64?
        package var tags: [KeyValue]
        package var trainingJobId: UUID?

        package init(userId: String? = nil, name: String? = nil, startMs: Int64? = nil, tags: [KeyValue] = [], trainingJobId: UUID? = nil) {
            self.userId = userId
            self.name = name
            self.startMs = startMs
            self.tags = tags
            self.trainingJobId = trainingJobId
        }
    }

    static let runNameTag = "mlflow.runName"

    package func createRun(in experimentId: UUID, _ input: RunInput, caller: Caller) async throws -> RunDetail {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        Limits.checkTags(input.tags, into: &validator)
        _ = validator.optionalText(input.name, "run_name", maxLength: 250)
        let now = clock.now()
        let id = IDGenerator.uuidV7(at: now)
        let name =
            input.name.flatMap { $0.isEmpty ? nil : $0 } ?? input.tags.first { $0.key == Self.runNameTag }?.value
            ?? RunNames.generate(from: id)
        let tags = input.tags.filter { $0.key != Self.runNameTag } + [KeyValue(key: Self.runNameTag, value: name)]
        let checked = validator
        return try await database.transaction { sql in
            let experiment = try await TrackingService.authorizedExperiment(experimentId, principal, .experimentsWrite, on: sql)
            try checked.finish()
            guard experiment.lifecycleStage == .active else {
                throw AppError.badRequest("Experiment '\(experiment.name)' is deleted; restore it before adding runs")
            }
            let run = Run(
                id: id, experimentId: experimentId, orgId: experiment.orgId, projectId: experiment.projectId,
                ownerId: principal.userId, name: name, userId: input.userId ?? principal.username, status: .running,
                startMs: input.startMs ?? now.epochMilliseconds, endMs: nil, lifecycleStage: .active,
                artifactURI: "\(experiment.artifactLocation)/\(id.lowercasedString)/artifacts",
                trainingJobId: input.trainingJobId, inputs: "[]", outputs: "[]")
            try await sql.insert(run, into: "runs")
            try await TrackingStore.upsert(tags, in: .runTags, owner: id, on: sql)
            try await audit.record(on: sql, caller, orgId: run.orgId, action: "run.create", targetType: "run", targetId: id.lowercasedString)
            return RunDetail(run: run, metrics: [], params: [], tags: tags.sorted { $0.key < $1.key })
        }
    }

    package func run(_ id: UUID, caller: Caller) async throws -> RunDetail {
        let principal = try caller.requirePrincipal()
        return try await database.read { sql in
            let run = try await Self.authorizedRun(id, principal, .experimentsRead, on: sql)
            return try await TrackingStore.details([run], on: sql)[0]
        }
    }

    static func authorizedExperiment(_ id: UUID, _ principal: Principal, _ permission: Permission, on sql: any SQLDatabase) async throws
        -> Experiment
    {
        guard let experiment = try await TrackingStore.experiment(id, on: sql) else { throw AppError.notFound("Experiment '\(id.lowercasedString)'") }
        try Policy.authorize(principal, permission, on: experiment.policyResource)
        return experiment
    }

    static func authorizedRun(_ id: UUID, _ principal: Principal, _ permission: Permission, on sql: any SQLDatabase) async throws -> Run {
        guard let run = try await TrackingStore.run(id, on: sql) else { throw AppError.notFound("Run with id=\(id.lowercasedString)") }
        try Policy.authorize(principal, permission, on: run.policyResource)
        return run
    }

    static func requireActive(_ run: Run) throws(AppError) {
        guard run.lifecycleStage == .active else {
            throw AppError.badRequest("The run \(run.id.lowercasedString) must be in the 'active' state. Current state is deleted.")
        }
    }

    /// What `changeRun` changes; nil fields stay as they are.
    package struct RunChange: Sendable {
        var status: RunStatus?
        var endMs: Int64?
        var name: String?
        var stage: LifecycleStage?

        package static func update(status: RunStatus? = nil, endMs: Int64? = nil, name: String? = nil, stage: LifecycleStage? = nil) -> RunChange {
            RunChange(status: status, endMs: endMs, name: name, stage: stage)
        }
    }

    /// Status, end time, name, and soft delete / restore (`stage`).
    @discardableResult
    package func changeRun(_ id: UUID, _ change: RunChange, caller: Caller) async throws -> Run {
        let principal = try caller.requirePrincipal()
        if let name = change.name, name.count > 250 { throw AppError.badRequest("run_name must be at most 250 characters") }
        return try await database.transaction { sql in try await apply(change, toRun: id, principal: principal, caller: caller, on: sql) }
    }

    // Not optimized: in release builds Swift 6.3 crashes on this body (signal 11 in LLVM's coroutine splitting,
    // `emitSetAndGetSwiftErrorValueAround`), inlined or not. Updating a run is not a hot path.
    @_optimize(none)
    private func apply(_ change: RunChange, toRun id: UUID, principal: Principal, caller: Caller, on sql: any SQLDatabase) async throws -> Run {
        let (status, endMs, name, stage) = (change.status, change.endMs, change.name, change.stage)
        var run = try await Self.authorizedRun(id, principal, stage == .deleted ? .experimentsDelete : .experimentsWrite, on: sql)
        var action = "run.update"
        if status != nil || endMs != nil || name != nil {
            try Self.requireActive(run)
        }
        if let status { run.status = status }
        if let endMs { run.endMs = endMs } else if status?.isTerminal == true, run.endMs == nil { run.endMs = clock.now().epochMilliseconds }
        if let name, !name.isEmpty {
            run.name = name
            try await TrackingStore.upsert([KeyValue(key: Self.runNameTag, value: name)], in: .runTags, owner: id, on: sql)
        }
        if let stage, stage != run.lifecycleStage {
            run.lifecycleStage = stage
            action = stage == .deleted ? "run.delete" : "run.restore"
        }
        try await TrackingStore.setRunStatus(run, on: sql)
        try await audit.record(on: sql, caller, orgId: run.orgId, action: action, targetType: "run", targetId: id.lowercasedString)
        return run
    }

    /// Removes a run and everything logged to it (the native DELETE).
    package func purgeRun(_ id: UUID, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try await database.transaction { sql in
            let run = try await Self.authorizedRun(id, principal, .experimentsDelete, on: sql)
            try await sql.delete(from: "runs").where("id", .equal, id).run()
            try await audit.record(on: sql, caller, orgId: run.orgId, action: "run.purge", targetType: "run", targetId: id.lowercasedString)
        }
    }

    package struct Batch: Sendable {
        package var metrics: [MetricPoint]
        package var params: [KeyValue]
        package var tags: [KeyValue]

        package init(metrics: [MetricPoint] = [], params: [KeyValue] = [], tags: [KeyValue] = []) {
            self.metrics = metrics
            self.params = params
            self.tags = tags
        }
    }

    /// log-batch, and log-metric / log-parameter / set-tag as batches of one. MLflow's limits apply unless
    /// `bulk` (the native ingest endpoint, which takes up to 100,000 points per request).
    package func log(_ batch: Batch, to runId: UUID, bulk: Bool = false, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try Self.checkBatch(batch, bulk: bulk)
        try await database.transaction { sql in
            let run = try await Self.authorizedRun(runId, principal, .experimentsWrite, on: sql)
            try Self.requireActive(run)
            if !batch.params.isEmpty {
                let existing = try await TrackingStore.existingParams(batch.params.map(\.key), run: runId, on: sql)
                for param in batch.params {
                    if let old = existing[param.key], old != param.value {
                        throw AppError.badRequest(
                            "Changing param values is not allowed. Param with key='\(param.key)' was already logged with value='\(old)' for run ID='\(runId.lowercasedString)'. Attempted logging new value '\(param.value)'."
                        )
                    }
                }
                try await TrackingStore.upsert(batch.params, in: .runParams, owner: runId, on: sql)
            }
            try await TrackingStore.upsert(batch.tags, in: .runTags, owner: runId, on: sql)
            if let renamed = batch.tags.last(where: { $0.key == Self.runNameTag }) {
                try await sql.update("runs").set("name", to: renamed.value).where("id", .equal, runId).run()
            }
            try await TrackingStore.insertMetrics(batch.metrics, run: runId, experiment: run.experimentId, on: sql)
            try await audit.record(
                on: sql, caller, orgId: run.orgId, action: "run.log", targetType: "run", targetId: runId.lowercasedString,
                detail: "\(batch.metrics.count) metrics, \(batch.params.count) params, \(batch.tags.count) tags")
        }
    }

    static func checkBatch(_ batch: Batch, bulk: Bool) throws(AppError) {
        if !bulk {
            for (part, count) in [(Limits.BatchPart.metrics, batch.metrics.count), (.params, batch.params.count), (.tags, batch.tags.count)]
            where count > Limits.maxPerBatch(part) {
                throw Limits.tooMany(part, got: String(count))
            }
            let total = batch.metrics.count + batch.params.count + batch.tags.count
            if total > Limits.maxEntitiesPerBatch {
                throw AppError.badRequest(
                    "A batch logging request can contain at most \(Limits.maxEntitiesPerBatch) metrics, params, and tags in total. Got \(total) entities."
                )
            }
        } else if batch.metrics.count > Limits.maxBulkPoints {
            throw Limits.tooManyBulkPoints(got: String(batch.metrics.count))
        }
        var validator = Validator()
        var seenKeys = Set<String>()
        for point in batch.metrics where seenKeys.insert(point.key).inserted {
            Limits.checkKey(point.key, "metrics", into: &validator)
        }
        var paramKeys = Set<String>()
        for param in batch.params {
            Limits.checkKey(param.key, "params", into: &validator)
            if param.value.count > Limits.maxParamValueLength {
                validator.add(
                    "params", "Param '\(param.key)' has a value of \(param.value.count) characters; the limit is \(Limits.maxParamValueLength)")
            }
            if !paramKeys.insert(param.key).inserted, batch.params.filter({ $0.key == param.key }).map(\.value).uniqued().count > 1 {
                validator.add("params", "Duplicate parameter keys have been submitted: '\(param.key)' with different values")
            }
        }
        Limits.checkTags(batch.tags, into: &validator)
        if let first = validator.errors.first, validator.errors.count >= 1 {
            // MLflow reports one message; keep the first and name how many more there were.
            let more = validator.errors.count > 1 ? " (and \(validator.errors.count - 1) more problems)" : ""
            throw AppError.badRequest(first.message + more)
        }
    }

    package func deleteTag(_ key: String, from runId: UUID, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try await database.transaction { sql in
            let run = try await Self.authorizedRun(runId, principal, .experimentsWrite, on: sql)
            try Self.requireActive(run)
            let deleted = try await sql.delete(from: "run_tags").where("run_id", .equal, runId).where("key", .equal, key).returning("key").all()
            guard !deleted.isEmpty else { throw AppError(.notFound, "No tag with name: \(key) in run with id \(runId.lowercasedString)") }
            try await audit.record(on: sql, caller, orgId: run.orgId, action: "run.delete_tag", targetType: "run", targetId: runId.lowercasedString)
        }
    }

    /// Appends JSON entries (dataset inputs, model inputs or outputs) to the run's `inputs` or `outputs` list.
    package func append(_ entries: [JSONValue], to column: RunLinkColumn, of runId: UUID, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try await database.transaction { sql in
            let run = try await Self.authorizedRun(runId, principal, .experimentsWrite, on: sql)
            try Self.requireActive(run)
            let current = try JSONDecoder().decode([JSONValue].self, from: Data((column == .inputs ? run.inputs : run.outputs).utf8))
            let merged = current + entries.filter { !current.contains($0) }
            let text = String(decoding: try JSONEncoder().encode(merged), as: UTF8.self)
            try await sql.update("runs").set(SQLIdentifier(column.rawValue), to: text).where("id", .equal, runId).run()
            try await audit.record(
                on: sql, caller, orgId: run.orgId, action: "run.log_\(column.rawValue)", targetType: "run", targetId: runId.lowercasedString)
        }
    }

    package enum RunLinkColumn: String, Sendable {
        case inputs, outputs
    }

    package func metricHistory(run runId: UUID, key: String, maxResults: Int, offset: Int, caller: Caller) async throws
        -> (points: [MetricPoint], nextOffset: Int?)
    {
        let principal = try caller.requirePrincipal()
        guard (1...100_000).contains(maxResults) else { throw AppError.badRequest("max_results must be between 1 and 100000") }
        return try await database.read { sql in
            _ = try await Self.authorizedRun(runId, principal, .experimentsRead, on: sql)
            let points = try await TrackingStore.history(run: runId, key: key, on: sql)
            let page = Array(points.dropFirst(offset).prefix(maxResults))
            return (page, points.count > offset + maxResults ? offset + maxResults : nil)
        }
    }

    /// A metric's series for charts (the steps from `minStep` to `maxStep` when given: a zoomed chart reads that
    /// range at full detail), downsampled to at most `maxPoints` with LTTB; `total` counts the points in the range.
    package func metricSeries(
        run runId: UUID, key: String, maxPoints: Int?, minStep: Int64? = nil, maxStep: Int64? = nil,
        caller: Caller
    ) async throws -> (points: [MetricPoint], total: Int) {
        let principal = try caller.requirePrincipal()
        if let maxPoints, maxPoints < 3 { throw AppError.badRequest("max_points must be at least 3") }
        if let minStep, let maxStep, minStep > maxStep {
            throw AppError.badRequest("min_step (\(minStep)) must not be greater than max_step (\(maxStep))")
        }
        let steps = minStep == nil && maxStep == nil ? nil : (minStep ?? .min)...(maxStep ?? .max)
        let points = try await database.read { sql in
            _ = try await Self.authorizedRun(runId, principal, .experimentsRead, on: sql)
            return try await TrackingStore.history(run: runId, key: key, steps: steps, on: sql)
        }
        guard let maxPoints else { return (points, points.count) }
        return (Downsample.lttb(points, threshold: maxPoints), points.count)
    }

    package func searchRuns(
        experimentIds: [UUID], filter: String?, view: ViewType, orderBy: [String], maxResults: Int,
        offset: Int, caller: Caller
    ) async throws -> (runs: [RunDetail], nextOffset: Int?) {
        let principal = try caller.requirePrincipal()
        guard (1...50_000).contains(maxResults) else {
            throw AppError.badRequest("Invalid value \(maxResults) for parameter 'max_results' supplied. It must be at most 50000.")
        }
        let parsed = try SearchFilter(filter)
        var parsedOrders: [SearchOrder] = []
        for entry in orderBy { parsedOrders.append(try SearchOrder(entry)) }
        let orders = parsedOrders
        return try await database.read { sql in
            for id in Set(experimentIds) { _ = try await TrackingService.authorizedExperiment(id, principal, .experimentsRead, on: sql) }
            guard !experimentIds.isEmpty else { return ([], nil) }
            let rows = try await SearchSQL.searchRuns(
                experiments: experimentIds, stages: view.stages, filter: parsed, orderBy: orders,
                offset: offset, limit: maxResults + 1, on: sql)
            let page = Array(rows.prefix(maxResults))
            return (try await TrackingStore.details(page, on: sql), rows.count > maxResults ? offset + maxResults : nil)
        }
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

/// Readable default run names ("calm-otter-417"), derived from the run id so they are stable and need no state.
enum RunNames {
    static let adjectives = [
        "amber", "bold", "brisk", "calm", "clever", "crisp", "eager", "gentle", "keen", "lively",
        "merry", "nimble", "quiet", "rapid", "shy", "sunny", "swift", "tidy", "vivid", "wise",
    ]
    static let animals = [
        "badger", "bee", "crane", "deer", "eel", "falcon", "fox", "gull", "hare", "ibis", "koala",
        "lynx", "mole", "newt", "otter", "owl", "panda", "robin", "seal", "wren",
    ]

    static func generate(from id: UUID) -> String {
        let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
        let tail = bytes.suffix(4).reduce(0) { ($0 << 8) | Int($1) }
        return "\(adjectives[tail % adjectives.count])-\(animals[(tail / 20) % animals.count])-\(tail % 1000)"
    }
}
