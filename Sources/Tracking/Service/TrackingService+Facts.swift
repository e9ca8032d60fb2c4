import AITIPCore
import Foundation
import Identity
import SQLKit
import Storage

/// Read functions for other modules, which read no table of Tracking's: no caller is checked here, the asking module
/// authorizes against the organization and project these answers carry.
extension TrackingService {
    /// Whether this project has an experiment with this id (a training job that names one).
    package func experimentExists(_ id: UUID, inProject projectId: UUID) async throws -> Bool {
        try await database.read { sql in try await TrackingStore.experiment(id, on: sql)?.projectId == projectId }
    }

    /// A version of a registered model of this project, by number or by alias (an inference service being deployed).
    package func modelVersion(named name: String, version: Int?, alias: String?, inProject scope: ProjectScope) async throws -> ModelVersionDetail {
        try await database.read { sql in
            let model = try await Self.registeredModel(named: name, in: scope, on: sql)
            var number = version ?? 0
            if let alias {
                guard
                    let row = try await sql.select().column("version").from("model_aliases").where("model_id", .equal, model.id)
                        .where("alias", .equal, alias).first()
                else {
                    throw AppError(.notFound, "Registered model alias \(alias) not found.")
                }
                number = try row.decode(column: "version", as: Int.self)
            }
            return try await Self.versionDetail(model, try await Self.version(model, number, on: sql), on: sql)
        }
    }

    /// A model version as lineage sees it: where it lives, what it is called, and what its record says it came from.
    package struct ModelVersionFacts: Sendable {
        package var id: UUID
        package var name: String
        package var version: Int
        package var orgId: UUID
        package var projectId: UUID
        package var trainingJobId: UUID?
        package var datasetVersionId: UUID?
        package var createdMs: Int64
    }

    package func modelVersionFacts(_ ids: [UUID]) async throws -> [ModelVersionFacts] {
        try await modelVersionFacts(ids) { select, chunk in select.where(SQLColumn("id", table: "model_versions"), .in, SQLBind.group(chunk)) }
    }

    /// The model versions made by these training jobs or trained on these dataset versions.
    package func modelVersionFacts(madeFrom ids: [UUID]) async throws -> [ModelVersionFacts] {
        try await modelVersionFacts(ids) { select, chunk in
            select.where { $0.where("training_job_id", .in, chunk).orWhere("dataset_version_id", .in, chunk) }
        }
    }

    private func modelVersionFacts(_ ids: [UUID], matching: @escaping @Sendable (SQLSelectBuilder, [UUID]) -> SQLSelectBuilder) async throws
        -> [ModelVersionFacts]
    {
        guard !ids.isEmpty else { return [] }
        return try await database.read { sql in
            var facts: [ModelVersionFacts] = []
            for chunk in ids.chunked(500) {
                let select = sql.select()
                    .columns(
                        SQLColumn("id", table: "model_versions"), SQLColumn("version", table: "model_versions"),
                        SQLColumn("training_job_id", table: "model_versions"), SQLColumn("dataset_version_id", table: "model_versions"),
                        SQLColumn("created_ms", table: "model_versions"), SQLColumn("name", table: "models"), SQLColumn("org_id", table: "models"),
                        SQLColumn("project_id", table: "models")
                    )
                    .from("model_versions").join("models", on: "models.id = model_versions.model_id")
                for row in try await matching(select, chunk).all() {
                    facts.append(
                        ModelVersionFacts(
                            id: try row.uuid("id"), name: try row.decode(column: "name", as: String.self),
                            version: try row.decode(column: "version", as: Int.self), orgId: try row.uuid("org_id"),
                            projectId: try row.uuid("project_id"),
                            trainingJobId: try row.optionalUUID("training_job_id"),
                            datasetVersionId: try row.optionalUUID("dataset_version_id"),
                            createdMs: try row.decode(column: "created_ms", as: Int64.self)))
                }
            }
            return facts
        }
    }
}

extension TrackingService {
    /// Metrics another module computed for a run (an evaluation of the model version the run logged). That module
    /// checked, when the work was submitted, that its caller could write the run's experiment; a run deleted since
    /// is skipped.
    package func appendMetrics(_ points: [MetricPoint], toRun runId: UUID) async throws {
        try await database.transaction { sql in
            guard let run = try await TrackingStore.run(runId, on: sql), run.lifecycleStage == .active else { return }
            try await TrackingStore.insertMetrics(points, run: runId, experiment: run.experimentId, on: sql)
        }
    }
}

extension TrackingService {
    /// The version a `models:/` reference names in this project's registry; one that is not there is a validation
    /// error of the request field `field`.
    package func modelVersion(_ reference: ModelReference, inProject scope: ProjectScope, field: String) async throws -> ModelVersionDetail {
        do {
            switch reference.selector {
            case .version(let number): return try await modelVersion(named: reference.name, version: number, alias: nil, inProject: scope)
            case .alias(let alias): return try await modelVersion(named: reference.name, version: nil, alias: alias, inProject: scope)
            }
        } catch let error as AppError where error.kind == .notFound {
            throw AppError.validation([FieldError(field: field, message: "\(error.detail) (in this project's registry)")])
        }
    }
}
