import AITIPCore
import Foundation
import Identity
import ObjectStore
import SQLKit
import Storage

/// Experiments and runs: the use cases behind both the MLflow-compatible routes and the native API.
/// Every method authorizes against the project the object lives in, and audits what it changes in the same
/// transaction.
package struct TrackingService: Sendable {
    let database: Database
    let clock: any Clock
    let audit: AuditLog
    let projects: ProjectScopes

    package init(database: Database, clock: any Clock, audit: AuditLog) {
        self.database = database
        self.clock = clock
        self.audit = audit
        projects = ProjectScopes(database: database)
    }

    /// The project name-based calls (create, get-by-name, search) work in, with `permission` checked there (reading
    /// experiments, unless told otherwise): Identity's one resolution of "this project, this caller".
    package func project(_ selector: ProjectSelector, permission: Permission = .experimentsRead, caller: Caller) async throws -> ProjectScope {
        try await projects.scope(selector, permission: permission, caller: caller)
    }

    // MARK: experiments

    package struct ExperimentInput: Sendable {
        package var name: String?
        package var description: String?
        package var hypothesis: String?
        package var artifactLocation: String?
        package var tags: [KeyValue]

        package init(
            name: String?, description: String? = nil, hypothesis: String? = nil, artifactLocation: String? = nil,
            tags: [KeyValue] = []
        ) {
            self.name = name
            self.description = description
            self.hypothesis = hypothesis
            self.artifactLocation = artifactLocation
            self.tags = tags
        }
    }

    package func createExperiment(_ input: ExperimentInput, in scope: ProjectScope, caller: Caller) async throws -> Experiment {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .experimentsWrite, on: Policy.Resource(kind: "Project", orgId: scope.orgId, projectId: scope.projectId))
        var validator = Validator()
        let name = validator.requireText(input.name, "name", maxLength: 500)
        _ = validator.optionalText(input.description, "description", maxLength: 10_000)
        _ = validator.optionalText(input.hypothesis, "hypothesis", maxLength: 10_000)
        // Artifacts always live in this server's object store; a client-chosen location could point anywhere.
        validator.check(
            input.artifactLocation?.isEmpty ?? true, "artifact_location",
            "is chosen by the server (artifacts are stored in aitip's object store)")
        Limits.checkTags(input.tags, into: &validator)
        try validator.finish()
        let now = clock.now()
        let id = IDGenerator.uuidV7(at: now)
        let experiment = Experiment(
            id: id, orgId: scope.orgId, projectId: scope.projectId, ownerId: principal.userId, name: name,
            description: input.description, hypothesis: input.hypothesis, config: "{}",
            lifecycleStage: .active, artifactLocation: "mlflow-artifacts:/\(id.lowercasedString)",
            createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
        return try await database.transaction { sql in
            if let existing = try await TrackingStore.experiment(named: name, project: scope.projectId, on: sql) {
                let state = existing.lifecycleStage == .deleted ? " (deleted; restore it or choose another name)" : ""
                throw AppError.conflict("Experiment '\(name)' already exists\(state)")
            }
            try await sql.insert(experiment, into: "experiments")
            try await TrackingStore.upsert(input.tags, in: .experimentTags, owner: id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: scope.orgId, action: "experiment.create", targetType: "experiment",
                targetId: id.lowercasedString)
            return experiment
        }
    }

    /// The experiment MLflow calls "0" (the client's default): this project's "Default", created on first use.
    package func defaultExperiment(in scope: ProjectScope, caller: Caller) async throws -> Experiment {
        if let existing = try await database.read({ sql in try await TrackingStore.experiment(named: "Default", project: scope.projectId, on: sql) })
        {
            return existing
        }
        do {
            return try await createExperiment(ExperimentInput(name: "Default"), in: scope, caller: caller)
        } catch let error as AppError where error.kind == .conflict {
            // Created concurrently by another request.
            guard
                let existing = try await database.read({ sql in
                    try await TrackingStore.experiment(named: "Default", project: scope.projectId, on: sql)
                })
            else { throw error }
            return existing
        }
    }

    package func experiment(_ id: UUID, caller: Caller) async throws -> ExperimentDetail {
        let principal = try caller.requirePrincipal()
        return try await database.read { sql in
            let experiment = try await TrackingService.authorizedExperiment(id, principal, .experimentsRead, on: sql)
            return ExperimentDetail(experiment: experiment, tags: try await TrackingStore.pairs(in: .experimentTags, owners: [id], on: sql)[id] ?? [])
        }
    }

    package func experiment(named name: String, in scope: ProjectScope, caller: Caller) async throws -> ExperimentDetail {
        try await database.read { sql in
            guard let experiment = try await TrackingStore.experiment(named: name, project: scope.projectId, on: sql) else {
                throw AppError(.notFound, "Could not find experiment with name '\(name)'")
            }
            return ExperimentDetail(
                experiment: experiment,
                tags: try await TrackingStore.pairs(in: .experimentTags, owners: [experiment.id], on: sql)[experiment.id] ?? [])
        }
    }

    package func searchExperiments(
        in scope: ProjectScope, view: ViewType, filter: String?, orderBy: [String], maxResults: Int,
        offset: Int
    ) async throws -> (items: [ExperimentDetail], nextOffset: Int?) {
        guard (1...50_000).contains(maxResults) else {
            throw AppError.badRequest("max_results must be between 1 and 50000, got \(maxResults)")
        }
        let parsed = try SearchFilter(filter)
        return try await database.read { sql in
            let rows = try await TrackingStore.experiments(
                project: scope.projectId, stages: view.stages, filter: parsed, orderBy: orderBy,
                offset: offset, limit: maxResults + 1, on: sql)
            let page = Array(rows.prefix(maxResults))
            let tags = try await TrackingStore.pairs(in: .experimentTags, owners: page.map(\.id), on: sql)
            return (
                page.map { ExperimentDetail(experiment: $0, tags: tags[$0.id] ?? []) },
                rows.count > maxResults ? offset + maxResults : nil
            )
        }
    }

    package enum ExperimentChange: Sendable {
        /// Any of: rename, describe, soft-delete or restore (`stage`, which applies to its runs too).
        case edit(name: String? = nil, description: String? = nil, hypothesis: String? = nil, stage: LifecycleStage? = nil)
        case setTag(KeyValue)
        case deleteTag(String)
    }

    @discardableResult
    package func changeExperiment(_ id: UUID, _ change: ExperimentChange, caller: Caller) async throws -> ExperimentDetail {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        var permission = Permission.experimentsWrite
        switch change {
        case .edit(let name, let description, let hypothesis, let stage):
            if name != nil { validator.requireText(name, "name", maxLength: 500) }
            _ = validator.optionalText(description, "description", maxLength: 10_000)
            _ = validator.optionalText(hypothesis, "hypothesis", maxLength: 10_000)
            if stage == .deleted { permission = .experimentsDelete }
        case .setTag(let tag): Limits.checkTags([tag], into: &validator)
        case .deleteTag: break
        }
        let checked = validator
        let required = permission
        let now = clock.now().epochMilliseconds
        return try await database.transaction { sql in
            guard var experiment = try await TrackingStore.experiment(id, on: sql) else {
                throw AppError.notFound("Experiment '\(id.lowercasedString)'")
            }
            try Policy.authorize(principal, required, on: experiment.policyResource)
            try checked.finish()
            var action = "experiment.update"
            switch change {
            case .edit(let name, let description, let hypothesis, let stage):
                if let name {
                    let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
                    if trimmed != experiment.name, try await TrackingStore.experiment(named: trimmed, project: experiment.projectId, on: sql) != nil {
                        throw AppError.conflict("Experiment '\(trimmed)' already exists")
                    }
                    experiment.name = trimmed
                }
                if let description { experiment.description = description }
                if let hypothesis { experiment.hypothesis = hypothesis }
                if let stage, stage != experiment.lifecycleStage {
                    experiment.lifecycleStage = stage
                    action = stage == .deleted ? "experiment.delete" : "experiment.restore"
                    try await sql.update("runs").set("lifecycle_stage", to: stage.rawValue).where("experiment_id", .equal, id).run()
                }
            case .setTag(let tag):
                try await TrackingStore.upsert([tag], in: .experimentTags, owner: id, on: sql)
                action = "experiment.set_tag"
            case .deleteTag(let key):
                try await TrackingStore.deleteExperimentTag(key, experiment: id, on: sql)
                action = "experiment.delete_tag"
            }
            experiment.updatedMs = now
            var update = sql.update("experiments").set("name", to: experiment.name).set("lifecycle_stage", to: experiment.lifecycleStage.rawValue)
                .set("updated_ms", to: now)
            if let description = experiment.description { update = update.set("description", to: description) }
            if let hypothesis = experiment.hypothesis { update = update.set("hypothesis", to: hypothesis) }
            try await update.where("id", .equal, id).run()
            try await audit.record(on: sql, caller, orgId: experiment.orgId, action: action, targetType: "experiment", targetId: id.lowercasedString)
            return ExperimentDetail(experiment: experiment, tags: try await TrackingStore.pairs(in: .experimentTags, owners: [id], on: sql)[id] ?? [])
        }
    }

    /// Removes an experiment with its runs, metrics and registry links for good (the native DELETE; MLflow's
    /// delete is the soft `changeExperiment(.delete)`).
    package func purgeExperiment(_ id: UUID, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try await database.transaction { sql in
            let experiment = try await TrackingService.authorizedExperiment(id, principal, .experimentsDelete, on: sql)
            try await sql.delete(from: "experiments").where("id", .equal, id).run()
            try await audit.record(
                on: sql, caller, orgId: experiment.orgId, action: "experiment.purge", targetType: "experiment", targetId: id.lowercasedString)
        }
    }
}

/// MLflow's size limits, enforced with its messages so clients that split batches behave the same.
package enum Limits {
    package static let maxMetricsPerBatch = 1_000
    package static let maxParamsTagsPerBatch = 100
    package static let maxEntitiesPerBatch = 1_000
    package static let maxKeyLength = 250
    package static let maxParamValueLength = 6_000
    package static let maxTagValueLength = 8_000
    /// Points one bulk ingest request (`POST /api/v1/runs/{id}/log`) may carry.
    package static let maxBulkPoints = 100_000

    package enum BatchPart: String, Sendable { case metrics, params, tags }

    /// How many entries of `part` one MLflow log-batch request may hold.
    package static func maxPerBatch(_ part: BatchPart) -> Int {
        part == .metrics ? maxMetricsPerBatch : maxParamsTagsPerBatch
    }

    /// MLflow's answer to a batch over a limit; `count` is the number seen, or "more than N" when a parser stopped
    /// reading at the limit.
    package static func tooMany(_ part: BatchPart, got count: String) -> AppError {
        let limit = maxPerBatch(part)
        return AppError.badRequest(
            "A batch logging request can contain at most \(limit) \(part.rawValue). Got \(count) \(part.rawValue). Please split up \(part.rawValue) across multiple requests and try again."
        )
    }

    package static func tooManyBulkPoints(got count: String) -> AppError {
        AppError.badRequest("A bulk request can contain at most \(maxBulkPoints) points; got \(count)")
    }

    static func checkKey(_ key: String, _ field: String, into validator: inout Validator) {
        if key.isEmpty || key.count > maxKeyLength {
            validator.add(field, "'\(key.prefix(50))' must have 1 to \(maxKeyLength) characters")
            return
        }
        let allowed = key.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_-. :/".unicodeScalars.contains($0) }
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        if !allowed || key.hasPrefix("/") || segments.contains("..") || segments.contains(".") {
            validator.add(
                field,
                "Invalid name '\(key.prefix(100))': names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/), and must not be a path outside the run"
            )
        }
    }

    static func checkTags(_ tags: [KeyValue], into validator: inout Validator) {
        for tag in tags {
            checkKey(tag.key, "tags", into: &validator)
            if tag.value.count > maxTagValueLength {
                validator.add("tags", "Tag '\(tag.key)' has a value of \(tag.value.count) characters; the limit is \(maxTagValueLength)")
            }
        }
    }
}
