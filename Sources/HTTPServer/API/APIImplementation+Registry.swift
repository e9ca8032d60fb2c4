import AITIPAPI
import AITIPCore
import Foundation
import Identity
import Tracking

/// Editing the registry from the console: a model's description, tags and aliases, a version's description and tags.
/// Each call is one change in one transaction (the same use cases as MLflow's registry routes, audited and announced
/// to webhooks the same way), answered with the model as it now is.
extension APIImplementation {
    func updateModel(_ input: Operations.UpdateModel.Input) async throws -> Operations.UpdateModel.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        return .ok(.init(body: .json(try await changeModel(input.path.projectId, input.path.name, .describe(body.description)))))
    }

    func setModelTag(_ input: Operations.SetModelTag.Input) async throws -> Operations.SetModelTag.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let tag = KeyValue(key: input.path.key, value: body.value)
        return .ok(.init(body: .json(try await changeModel(input.path.projectId, input.path.name, .setTag(tag)))))
    }

    func deleteModelTag(_ input: Operations.DeleteModelTag.Input) async throws -> Operations.DeleteModelTag.Output {
        .ok(.init(body: .json(try await changeModel(input.path.projectId, input.path.name, .deleteTag(input.path.key)))))
    }

    func setModelAlias(_ input: Operations.SetModelAlias.Input) async throws -> Operations.SetModelAlias.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        return .ok(
            .init(body: .json(try await changeModel(input.path.projectId, input.path.name, .setAlias(input.path.alias, version: body.version)))))
    }

    func deleteModelAlias(_ input: Operations.DeleteModelAlias.Input) async throws -> Operations.DeleteModelAlias.Output {
        .ok(.init(body: .json(try await changeModel(input.path.projectId, input.path.name, .deleteAlias(input.path.alias)))))
    }

    func updateModelVersion(_ input: Operations.UpdateModelVersion.Input) async throws -> Operations.UpdateModelVersion.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let path = input.path
        return .ok(.init(body: .json(try await changeVersion(path.projectId, path.name, path.version, .describe(body.description)))))
    }

    func setModelVersionTag(_ input: Operations.SetModelVersionTag.Input) async throws -> Operations.SetModelVersionTag.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let path = input.path
        return .ok(
            .init(body: .json(try await changeVersion(path.projectId, path.name, path.version, .setTag(KeyValue(key: path.key, value: body.value))))))
    }

    func deleteModelVersionTag(_ input: Operations.DeleteModelVersionTag.Input) async throws -> Operations.DeleteModelVersionTag.Output {
        let path = input.path
        return .ok(.init(body: .json(try await changeVersion(path.projectId, path.name, path.version, .deleteTag(path.key)))))
    }

    func listRunModelVersions(_ input: Operations.ListRunModelVersions.Input) async throws -> Operations.ListRunModelVersions.Output {
        let (versions, run) = try await tracking.modelVersions(ofRun: try Parse.id(input.path.runId, "run_id"), caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: versions.map { detail in
                            .init(
                                modelName: detail.modelName, projectId: run.projectId.lowercasedString,
                                version: .init(detail, experimentId: run.experimentId))
                        }))))
    }

    private func changeModel(_ projectId: String, _ name: String, _ change: TrackingService.RegisteredModelChange) async throws
        -> Components.Schemas.ModelDetail
    {
        let scope = try await tracking.project(.id(try Parse.id(projectId, "project_id")), permission: .releaseRead, caller: caller)
        try await tracking.changeRegisteredModel(named: name, change, in: scope, caller: caller)
        return try await modelDetail(name, in: scope)
    }

    private func changeVersion(_ projectId: String, _ name: String, _ version: Int, _ change: TrackingService.VersionChange) async throws
        -> Components.Schemas.ModelDetail
    {
        let scope = try await tracking.project(.id(try Parse.id(projectId, "project_id")), permission: .releaseRead, caller: caller)
        try await tracking.changeModelVersion(of: name, version: version, change, in: scope, caller: caller)
        return try await modelDetail(name, in: scope)
    }

    func modelDetail(_ name: String, in scope: ProjectScope) async throws -> Components.Schemas.ModelDetail {
        let found = try await tracking.modelWithVersions(named: name, in: scope, caller: caller)
        let versions = found.versions.map { detail in
            Components.Schemas.ModelVersion(detail, experimentId: detail.version.runId.flatMap { found.experimentOfRun[$0] })
        }
        return .init(model: .init(found.model), versions: versions)
    }
}
