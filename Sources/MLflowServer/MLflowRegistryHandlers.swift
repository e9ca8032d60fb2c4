import AITIPCore
import Foundation
import HTTPServer
import Hummingbird
import Tracking

/// Registered models and model versions of the MLflow API. Models are looked up by name in the call's project.
struct MLflowRegistryHandlers: Sendable {
    let tracking: TrackingService

    func register(on groups: MLflowRouteGroups) {
        let route = groups.on
        route(.post, "registered-models/create") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            let detail = try await tracking.createRegisteredModel(
                named: try call.requiredString("name"), description: call.string("description"),
                tags: try call.keyValues("tags"), in: scope, caller: call.caller)
            return try MLflowResponse.json(["registered_model": MLRegisteredModel(detail)])
        }
        route(.get, "registered-models/get") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            let detail = try await tracking.registeredModel(named: try call.requiredString("name"), in: scope, caller: call.caller)
            return try MLflowResponse.json(["registered_model": MLRegisteredModel(detail)])
        }
        route(.patch, "registered-models/update") { call in
            try await changeModel(call, .describe(call.string("description") ?? ""))
        }
        route(.post, "registered-models/rename") { call in
            try await changeModel(call, .rename(try call.requiredString("new_name")), newName: try call.requiredString("new_name"))
        }
        route(.delete, "registered-models/delete") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            try await tracking.changeRegisteredModel(named: try call.requiredString("name"), .delete, in: scope, caller: call.caller)
            return MLflowResponse.empty()
        }
        route(.post, "registered-models/set-tag") { call in
            _ = try await changeModel(call, .setTag(KeyValue(key: try call.requiredString("key"), value: call.string("value") ?? "")))
            return MLflowResponse.empty()
        }
        route(.delete, "registered-models/delete-tag") { call in
            _ = try await changeModel(call, .deleteTag(try call.requiredString("key")))
            return MLflowResponse.empty()
        }
        route(.post, "registered-models/alias") { call in
            _ = try await changeModel(call, .setAlias(try call.requiredString("alias"), version: try call.version()))
            return MLflowResponse.empty()
        }
        route(.delete, "registered-models/alias") { call in
            _ = try await changeModel(call, .deleteAlias(try call.requiredString("alias")))
            return MLflowResponse.empty()
        }
        route(.get, "registered-models/alias") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            let detail = try await tracking.modelVersion(
                of: try call.requiredString("name"), alias: try call.requiredString("alias"),
                in: scope, caller: call.caller)
            return try MLflowResponse.json(["model_version": MLModelVersion(detail)])
        }
        route(.get, "registered-models/search", searchModels)
        groups.read(.post, "registered-models/search", searchModels)
        groups.read(.post, "registered-models/get-latest-versions", latestVersions)
        route(.get, "registered-models/get-latest-versions", latestVersions)
        route(.post, "model-versions/create") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            let runId = try call.string("run_id").flatMap { $0.isEmpty ? nil : $0 }
                .map { text throws(AppError) in try MLflowCall.uuid(text, what: "Run with id=\(text)") }
            let input = TrackingService.VersionInput(
                source: call.string("source"), runId: runId, loggedModelId: call.string("model_id"),
                description: call.string("description"), tags: try call.keyValues("tags"))
            let detail = try await tracking.createModelVersion(of: try call.requiredString("name"), input, in: scope, caller: call.caller)
            return try MLflowResponse.json(["model_version": MLModelVersion(detail)])
        }
        route(.get, "model-versions/get") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            let detail = try await tracking.modelVersion(
                of: try call.requiredString("name"), version: try call.version(), in: scope, caller: call.caller)
            return try MLflowResponse.json(["model_version": MLModelVersion(detail)])
        }
        route(.get, "model-versions/get-download-uri") { call in
            let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
            let detail = try await tracking.modelVersion(
                of: try call.requiredString("name"), version: try call.version(), in: scope, caller: call.caller)
            return try MLflowResponse.json(["artifact_uri": detail.version.storagePath])
        }
        route(.patch, "model-versions/update") { call in
            try MLflowResponse.json(["model_version": MLModelVersion(try await changeVersion(call, .describe(call.string("description") ?? "")))])
        }
        route(.delete, "model-versions/delete") { call in
            _ = try await changeVersion(call, .delete)
            return MLflowResponse.empty()
        }
        route(.post, "model-versions/transition-stage") { call in
            let change = TrackingService.VersionChange.stage(
                try call.requiredString("stage"),
                archiveExisting: call.bool("archive_existing_versions") ?? false)
            return try MLflowResponse.json(["model_version": MLModelVersion(try await changeVersion(call, change))])
        }
        route(.post, "model-versions/set-tag") { call in
            _ = try await changeVersion(call, .setTag(KeyValue(key: try call.requiredString("key"), value: call.string("value") ?? "")))
            return MLflowResponse.empty()
        }
        route(.delete, "model-versions/delete-tag") { call in
            _ = try await changeVersion(call, .deleteTag(try call.requiredString("key")))
            return MLflowResponse.empty()
        }
        route(.get, "model-versions/search", searchVersions)
        groups.read(.post, "model-versions/search", searchVersions)
    }

    func changeModel(_ call: MLflowCall, _ change: TrackingService.RegisteredModelChange, newName: String? = nil) async throws -> Response {
        let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
        try await tracking.changeRegisteredModel(named: try call.requiredString("name"), change, in: scope, caller: call.caller)
        let detail = try await tracking.registeredModel(named: newName ?? (try call.requiredString("name")), in: scope, caller: call.caller)
        return try MLflowResponse.json(["registered_model": MLRegisteredModel(detail)])
    }

    func changeVersion(_ call: MLflowCall, _ change: TrackingService.VersionChange) async throws -> ModelVersionDetail {
        let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
        return try await tracking.changeModelVersion(
            of: try call.requiredString("name"), version: try call.version(), change, in: scope,
            caller: call.caller)
    }

    struct ModelsPage: Encodable {
        var registered_models: [MLRegisteredModel]
        var next_page_token: String?
    }

    func searchModels(_ call: MLflowCall) async throws -> Response {
        let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
        let page = try await tracking.searchRegisteredModels(
            filter: call.string("filter"), maxResults: try call.int("max_results", default: 100),
            orderBy: call.strings("order_by"), offset: try OffsetPageToken.decode(call.string("page_token")),
            in: scope, caller: call.caller)
        return try MLflowResponse.json(
            ModelsPage(registered_models: page.models.map(MLRegisteredModel.init), next_page_token: page.nextOffset.map(OffsetPageToken.encode)))
    }

    struct VersionsPage: Encodable {
        var model_versions: [MLModelVersion]
        var next_page_token: String?
    }

    func searchVersions(_ call: MLflowCall) async throws -> Response {
        let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
        let page = try await tracking.searchModelVersions(
            filter: call.string("filter"), maxResults: try call.int("max_results", default: 10_000),
            offset: try OffsetPageToken.decode(call.string("page_token")), in: scope, caller: call.caller)
        return try MLflowResponse.json(
            VersionsPage(model_versions: page.versions.map(MLModelVersion.init), next_page_token: page.nextOffset.map(OffsetPageToken.encode)))
    }

    func latestVersions(_ call: MLflowCall) async throws -> Response {
        let scope = try await tracking.project(call.selector, permission: .releaseRead, caller: call.caller)
        let detail = try await tracking.registeredModel(named: try call.requiredString("name"), in: scope, caller: call.caller)
        let stages = Set(call.strings("stages").map { $0.lowercased() })
        let versions = detail.latestVersions.filter { stages.isEmpty || stages.contains($0.currentStage.lowercased()) }
        return try MLflowResponse.json([
            "model_versions": versions.map {
                MLModelVersion(ModelVersionDetail(version: $0, modelName: detail.model.name, aliases: []))
            }
        ])
    }
}

extension MLflowCall {
    func version() throws(AppError) -> Int {
        let text = try requiredString("version")
        guard let version = Int(text), version > 0 else { throw Self.invalid("version", text) }
        return version
    }
}
