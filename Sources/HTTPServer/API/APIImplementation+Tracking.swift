import AITIPAPI
import AITIPCore
import Foundation
import Identity
import Tracking

extension APIImplementation {
    var tracking: TrackingService { dependencies.tracking }

    func listExperiments(_ input: Operations.ListExperiments.Input) async throws -> Operations.ListExperiments.Output {
        let scope = try await tracking.project(.id(try Parse.id(input.path.projectId, "project_id")), caller: caller)
        let page = try await tracking.searchExperiments(
            in: scope, view: Self.view(input.query.view), filter: input.query.filter, orderBy: [],
            maxResults: try PageRequest.limit(input.query.limit), offset: try Cursor.parse(input.query.cursor)?.int(0) ?? 0)
        return .ok(
            .init(
                body: .json(
                    .init(items: page.items.map(Components.Schemas.Experiment.init), nextCursor: page.nextOffset.map { Cursor(offset: $0).text }))))
    }

    func createExperiment(_ input: Operations.CreateExperiment.Input) async throws -> Operations.CreateExperiment.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let scope = try await tracking.project(.id(try Parse.id(input.path.projectId, "project_id")), caller: caller)
        let experiment = try await tracking.createExperiment(
            .init(name: body.name, description: body.description, hypothesis: body.hypothesis, tags: Self.pairs(body.tags)), in: scope, caller: caller
        )
        return .created(.init(body: .json(.init(try await tracking.experiment(experiment.id, caller: caller)))))
    }

    func getExperiment(_ input: Operations.GetExperiment.Input) async throws -> Operations.GetExperiment.Output {
        .ok(.init(body: .json(.init(try await tracking.experiment(try Parse.id(input.path.experimentId, "experiment_id"), caller: caller)))))
    }

    func updateExperiment(_ input: Operations.UpdateExperiment.Input) async throws -> Operations.UpdateExperiment.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let change = TrackingService.ExperimentChange.edit(
            name: body.name, description: body.description, hypothesis: body.hypothesis,
            stage: body.lifecycleStage.flatMap { LifecycleStage(rawValue: $0.rawValue) })
        let detail = try await tracking.changeExperiment(try Parse.id(input.path.experimentId, "experiment_id"), change, caller: caller)
        return .ok(.init(body: .json(.init(detail))))
    }

    func deleteExperiment(_ input: Operations.DeleteExperiment.Input) async throws -> Operations.DeleteExperiment.Output {
        try await tracking.purgeExperiment(try Parse.id(input.path.experimentId, "experiment_id"), caller: caller)
        return .noContent(.init())
    }

    func listRuns(_ input: Operations.ListRuns.Input) async throws -> Operations.ListRuns.Output {
        let page = try await tracking.searchRuns(
            experimentIds: [try Parse.id(input.path.experimentId, "experiment_id")], filter: input.query.filter, view: Self.view(input.query.view),
            orderBy: input.query.orderBy ?? [], maxResults: try PageRequest.limit(input.query.limit),
            offset: try Cursor.parse(input.query.cursor)?.int(0) ?? 0, caller: caller)
        return .ok(
            .init(body: .json(.init(items: page.runs.map(Components.Schemas.Run.init), nextCursor: page.nextOffset.map { Cursor(offset: $0).text }))))
    }

    func createRun(_ input: Operations.CreateRun.Input) async throws -> Operations.CreateRun.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let run = try await tracking.createRun(
            in: try Parse.id(input.path.experimentId, "experiment_id"),
            .init(
                name: body.name, startMs: body.startTime, tags: Self.pairs(body.tags),
                trainingJobId: try Parse.optionalId(body.trainingJobId, "training_job_id")), caller: caller)
        return .created(.init(body: .json(.init(run))))
    }

    func getRun(_ input: Operations.GetRun.Input) async throws -> Operations.GetRun.Output {
        .ok(.init(body: .json(.init(try await tracking.run(try Parse.id(input.path.runId, "run_id"), caller: caller)))))
    }

    func updateRun(_ input: Operations.UpdateRun.Input) async throws -> Operations.UpdateRun.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let id = try Parse.id(input.path.runId, "run_id")
        try await tracking.changeRun(
            id,
            .update(
                status: body.status.flatMap { RunStatus(rawValue: $0.rawValue) }, endMs: body.endTime, name: body.name,
                stage: body.lifecycleStage.flatMap { LifecycleStage(rawValue: $0.rawValue) }), caller: caller)
        return .ok(.init(body: .json(.init(try await tracking.run(id, caller: caller)))))
    }

    func deleteRun(_ input: Operations.DeleteRun.Input) async throws -> Operations.DeleteRun.Output {
        try await tracking.purgeRun(try Parse.id(input.path.runId, "run_id"), caller: caller)
        return .noContent(.init())
    }

    func logRunData(_ input: Operations.LogRunData.Input) async throws -> Operations.LogRunData.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        var points: [MetricPoint] = []
        let now = Date().epochMilliseconds
        for (index, column) in (body.metrics ?? []).enumerated() {
            guard column.steps.count == column.values.count, column.timestamps.map({ $0.count == column.values.count }) ?? true else {
                throw AppError.validation([FieldError(field: "metrics[\(index)]", message: "steps, values and timestamps must have the same length")])
            }
            points.reserveCapacity(points.count + column.values.count)
            for position in column.values.indices {
                points.append(
                    MetricPoint(
                        key: column.key, value: column.values[position],
                        timestampMs: column.timestamps?[position] ?? now, step: column.steps[position]))
            }
        }
        try await tracking.log(
            .init(metrics: points, params: Self.pairs(body.params), tags: Self.pairs(body.tags)),
            to: try Parse.id(input.path.runId, "run_id"), bulk: true, caller: caller)
        return .noContent(.init())
    }

    func getMetricSeries(_ input: Operations.GetMetricSeries.Input) async throws -> Operations.GetMetricSeries.Output {
        let series = try await tracking.metricSeries(
            run: try Parse.id(input.path.runId, "run_id"), key: input.path.key,
            maxPoints: input.query.maxPoints, minStep: input.query.minStep, maxStep: input.query.maxStep,
            caller: caller)
        return .ok(
            .init(body: .json(.init(key: input.path.key, totalPoints: series.total, points: series.points.map(Components.Schemas.MetricValue.init)))))
    }

    func listModels(_ input: Operations.ListModels.Input) async throws -> Operations.ListModels.Output {
        let scope = try await tracking.project(.id(try Parse.id(input.path.projectId, "project_id")), permission: .releaseRead, caller: caller)
        let page = try await tracking.searchRegisteredModels(
            filter: input.query.filter, maxResults: try PageRequest.limit(input.query.limit),
            orderBy: [], offset: try Cursor.parse(input.query.cursor)?.int(0) ?? 0, in: scope, caller: caller)
        return .ok(
            .init(
                body: .json(.init(items: page.models.map(Components.Schemas.Model.init), nextCursor: page.nextOffset.map { Cursor(offset: $0).text }))
            ))
    }

    func getModel(_ input: Operations.GetModel.Input) async throws -> Operations.GetModel.Output {
        let scope = try await tracking.project(.id(try Parse.id(input.path.projectId, "project_id")), permission: .releaseRead, caller: caller)
        return .ok(.init(body: .json(try await modelDetail(input.path.name, in: scope))))
    }

    static func view(_ view: Components.Schemas.ViewType?) -> ViewType {
        switch view {
        case .deleted: .deletedOnly
        case .all: .all
        case .active, nil: .activeOnly
        }
    }

    static func pairs(_ map: Components.Schemas.KeyValueMap?) -> [KeyValue] {
        (map?.additionalProperties ?? [:]).sorted { $0.key < $1.key }.map { KeyValue(key: $0.key, value: $0.value) }
    }

    static func map(_ pairs: [KeyValue]) -> Components.Schemas.KeyValueMap {
        .init(additionalProperties: Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }))
    }
}

extension Components.Schemas.Experiment {
    init(_ detail: ExperimentDetail) {
        let experiment = detail.experiment
        self.init(
            id: experiment.id.lowercasedString, projectId: experiment.projectId.lowercasedString, ownerId: experiment.ownerId?.lowercasedString,
            name: experiment.name, description: experiment.description, hypothesis: experiment.hypothesis,
            lifecycleStage: .init(rawValue: experiment.lifecycleStage.rawValue)!, artifactLocation: experiment.artifactLocation,
            tags: APIImplementation.map(detail.tags), createdAt: Date(epochMilliseconds: experiment.createdMs),
            updatedAt: Date(epochMilliseconds: experiment.updatedMs))
    }
}

extension Components.Schemas.MetricValue {
    init(_ point: MetricPoint) {
        let nonfinite: NonfinitePayload? = point.value.isNaN ? .naN : point.value.isInfinite ? (point.value > 0 ? .infinity : ._hyphen_Infinity) : nil
        self.init(
            key: point.key, value: point.value.isFinite ? point.value : nil, nonfinite: nonfinite, step: point.step, timestamp: point.timestampMs)
    }
}

extension Components.Schemas.Run {
    init(_ detail: RunDetail) {
        let run = detail.run
        self.init(
            id: run.id.lowercasedString, experimentId: run.experimentId.lowercasedString, name: run.name, user: run.userId,
            status: .init(rawValue: run.status.rawValue)!, startTime: run.startMs, endTime: run.endMs,
            lifecycleStage: .init(rawValue: run.lifecycleStage.rawValue)!, artifactUri: run.artifactURI,
            trainingJobId: run.trainingJobId?.lowercasedString, params: APIImplementation.map(detail.params),
            tags: APIImplementation.map(detail.tags), metrics: detail.metrics.map(Components.Schemas.MetricValue.init),
            datasets: run.datasetInputs.map {
                .init(
                    name: $0.name, digest: $0.digest, sourceType: $0.sourceType, source: $0.source, context: $0.context, schema: $0.schema,
                    profile: $0.profile)
            },
            models: run.modelLinks.map { .init(modelId: $0.modelId, direction: .init(rawValue: $0.direction.rawValue)!, step: $0.step) })
    }
}

extension Components.Schemas.Model {
    init(_ detail: RegisteredModelDetail) {
        let model = detail.model
        self.init(
            id: model.id.lowercasedString, projectId: model.projectId.lowercasedString, name: model.name, description: model.description,
            latestVersion: model.latestVersion, tags: APIImplementation.map(detail.tags),
            aliases: .init(additionalProperties: Dictionary(detail.aliases.map { ($0.alias, String($0.version)) }, uniquingKeysWith: { $1 })),
            createdAt: Date(epochMilliseconds: model.createdMs), updatedAt: Date(epochMilliseconds: model.updatedMs))
    }
}

extension Components.Schemas.ModelVersion {
    init(_ detail: ModelVersionDetail, experimentId: UUID?) {
        let version = detail.version
        self.init(
            id: version.id.lowercasedString, version: version.version, description: version.description, source: version.source,
            storagePath: version.storagePath, status: version.status, stage: version.currentStage,
            tags: APIImplementation.map(version.tagPairs), aliases: detail.aliases, runId: version.runId?.lowercasedString,
            experimentId: experimentId?.lowercasedString, loggedModelId: version.loggedModelId,
            trainingJobId: version.trainingJobId?.lowercasedString, datasetVersionId: version.datasetVersionId?.lowercasedString,
            createdAt: Date(epochMilliseconds: version.createdMs))
    }
}
