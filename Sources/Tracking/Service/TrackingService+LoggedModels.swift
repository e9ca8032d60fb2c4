import AITIPCore
import Foundation
import Identity
import SQLKit
import Storage

/// MLflow 3 logged models: a model's files and metadata, logged from a run, before (or without) registration.
extension TrackingService {
    package struct LoggedModelInput: Sendable {
        package var name: String?
        package var sourceRunId: UUID?
        package var modelType: String?
        package var params: [KeyValue]
        package var tags: [KeyValue]

        package init(name: String?, sourceRunId: UUID?, modelType: String?, params: [KeyValue], tags: [KeyValue]) {
            self.name = name
            self.sourceRunId = sourceRunId
            self.modelType = modelType
            self.params = params
            self.tags = tags
        }
    }

    package func createLoggedModel(in experimentId: UUID, _ input: LoggedModelInput, caller: Caller) async throws -> LoggedModel {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        let name = validator.requireText(input.name, "name", maxLength: 500)
        Limits.checkTags(input.tags, into: &validator)
        for param in input.params { Limits.checkKey(param.key, "params", into: &validator) }
        let checked = validator
        let now = clock.now()
        let id = "m-" + IDGenerator.uuidV7(at: now).lowercasedString.replacingOccurrences(of: "-", with: "")
        return try await database.transaction { sql in
            let experiment = try await TrackingService.authorizedExperiment(experimentId, principal, .experimentsWrite, on: sql)
            try checked.finish()
            if let runId = input.sourceRunId {
                guard let run = try await TrackingStore.run(runId, on: sql), run.experimentId == experimentId else {
                    throw AppError.badRequest(
                        "source_run_id '\(runId.lowercasedString)' is not a run of experiment '\(experimentId.lowercasedString)'")
                }
            }
            let model = LoggedModel(
                id: id, experimentId: experimentId, name: name, sourceRunId: input.sourceRunId,
                status: "LOGGED_MODEL_PENDING", modelType: input.modelType,
                artifactLocation: "\(experiment.artifactLocation)/models/\(id)/artifacts",
                params: TagColumn.encode(input.params), tags: TagColumn.encode(input.tags),
                createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
            try await sql.insert(model, into: "logged_models")
            try await audit.record(on: sql, caller, orgId: experiment.orgId, action: "logged_model.create", targetType: "logged_model", targetId: id)
            return model
        }
    }

    package func loggedModel(_ id: String, caller: Caller) async throws -> LoggedModel {
        let principal = try caller.requirePrincipal()
        return try await database.read { sql in try await Self.authorizedLoggedModel(id, principal, .experimentsRead, on: sql).model }
    }

    static func authorizedLoggedModel(_ id: String, _ principal: Principal, _ permission: Permission, on sql: any SQLDatabase) async throws
        -> (model: LoggedModel, experiment: Experiment)
    {
        guard let model = try await sql.select().column("*").from("logged_models").where("id", .equal, id).row(LoggedModel.self),
            let experiment = try await TrackingStore.experiment(model.experimentId, on: sql)
        else {
            throw AppError(.notFound, "Logged model with ID '\(id)' not found.")
        }
        try Policy.authorize(principal, permission, on: experiment.policyResource)
        return (model, experiment)
    }

    package enum LoggedModelChange: Sendable {
        case status(String)
        case setTags([KeyValue])
        case deleteTag(String)
        case delete
    }

    @discardableResult
    package func changeLoggedModel(_ id: String, _ change: LoggedModelChange, caller: Caller) async throws -> LoggedModel {
        let principal = try caller.requirePrincipal()
        return try await database.transaction { sql in
            let permission: Permission = if case .delete = change { .experimentsDelete } else { .experimentsWrite }
            var (model, experiment) = try await Self.authorizedLoggedModel(id, principal, permission, on: sql)
            var tags = TagColumn.decode(model.tags)
            switch change {
            case .status(let status):
                guard ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"].contains(status) else {
                    throw AppError.badRequest("Invalid logged model status '\(status)'")
                }
                model.status = status
            case .setTags(let new):
                var validator = Validator()
                Limits.checkTags(new, into: &validator)
                try validator.finish()
                tags = tags.filter { old in !new.contains { $0.key == old.key } } + new
            case .deleteTag(let key):
                tags.removeAll { $0.key == key }
            case .delete:
                try await sql.delete(from: "logged_models").where("id", .equal, id).run()
                try await audit.record(
                    on: sql, caller, orgId: experiment.orgId, action: "logged_model.delete", targetType: "logged_model", targetId: id)
                return model
            }
            model.tags = TagColumn.encode(tags)
            model.updatedMs = clock.now().epochMilliseconds
            try await sql.update("logged_models").set("status", to: model.status).set("tags", to: model.tags)
                .set("updated_ms", to: model.updatedMs).where("id", .equal, id).run()
            try await audit.record(on: sql, caller, orgId: experiment.orgId, action: "logged_model.update", targetType: "logged_model", targetId: id)
            return model
        }
    }

    /// Logged models of the given experiments; the filter may compare `name` and `source_run_id` (what clients send).
    package func searchLoggedModels(experimentIds: [UUID], filter: String?, maxResults: Int, offset: Int, caller: Caller) async throws
        -> (models: [LoggedModel], nextOffset: Int?)
    {
        let principal = try caller.requirePrincipal()
        let parsed = try SearchFilter(filter)
        let limit = min(max(maxResults, 1), 10_000)
        return try await database.read { sql in
            for id in Set(experimentIds) { _ = try await TrackingService.authorizedExperiment(id, principal, .experimentsRead, on: sql) }
            guard !experimentIds.isEmpty else { return ([], nil) }
            var query: SQLQueryString = "SELECT * FROM logged_models WHERE experiment_id IN (\(binds: experimentIds))"
            for clause in parsed.clauses {
                switch (clause.entity, clause.key.lowercased()) {
                case (.attribute, "name"): query += " AND " + SearchSQL.compare("name", clause.comparator, clause.value)
                case (.attribute, "source_run_id"):
                    guard case .string(let text) = clause.value, let runId = UUID(uuidString: text) else { return ([], nil) }
                    query += " AND source_run_id = \(bind: runId)"
                default: throw AppError.badRequest("Invalid logged model filter: only name and source_run_id can be compared")
                }
            }
            query += " ORDER BY created_ms DESC, id LIMIT \(literal: limit + 1) OFFSET \(literal: offset)"
            let rows = try await sql.raw(query).all(decoding: LoggedModel.self)
            return (Array(rows.prefix(limit)), rows.count > limit ? offset + limit : nil)
        }
    }
}
