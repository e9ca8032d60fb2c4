import AITIPAPI
import AITIPCore
import Foundation
import Inference
import OpenAPIRuntime

extension APIImplementation {
    var inference: InferenceService { dependencies.inference }

    func listInferenceServices(_ input: Operations.ListInferenceServices.Input) async throws -> Operations.ListInferenceServices.Output {
        let page = try await inference.list(
            project: try Parse.id(input.query.projectId, "project_id"), page: try Parse.page(limit: input.query.limit, cursor: input.query.cursor),
            caller: caller)
        return .ok(.init(body: .json(.init(items: page.items.map { .init($0) }, nextCursor: page.nextCursor))))
    }

    func createInferenceService(_ input: Operations.CreateInferenceService.Input) async throws -> Operations.CreateInferenceService.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let created = try await inference.create(
            .init(
                name: body.name, description: body.description, model: body.model, runtime: body.runtime,
                runtimeConfig: Self.jsonText(body.runtimeConfig), gpuType: body.resources?.gpuType, gpuCount: body.resources?.gpuCount,
                cpu: body.resources?.cpu, memoryMiB: body.resources?.memoryMib, replicas: body.replicas, minReplicas: body.minReplicas,
                maxReplicas: body.maxReplicas, parentServiceId: try Parse.optionalId(body.parentServiceId, "parent_service_id"),
                trafficPercentage: body.trafficPercentage, routeHeader: body.routeHeader.map { ($0.name, $0.value) },
                stickySessions: body.stickySessions, autoscaling: body.autoscaling.map(AutoscalePolicy.init), rateLimitRps: body.rateLimitRps,
                shadow: body.shadow),
            project: try Parse.id(body.projectId, "project_id"), caller: caller)
        return .created(.init(body: .json(.init(created))))
    }

    func getInferenceService(_ input: Operations.GetInferenceService.Input) async throws -> Operations.GetInferenceService.Output {
        let view = try await inference.get(try Parse.id(input.path.serviceId, "service_id"), caller: caller)
        return .ok(.init(body: .json(.init(view))))
    }

    func updateInferenceService(_ input: Operations.UpdateInferenceService.Input) async throws -> Operations.UpdateInferenceService.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        var routeHeader: (name: String, value: String)?? = body.routeHeader.map { .some(($0.name, $0.value)) }
        if body.clearRouteHeader == true {
            guard body.routeHeader == nil else { throw AppError.badRequest("Give route_header or clear_route_header, not both") }
            routeHeader = .some(nil)
        }
        var autoscaling: AutoscalePolicy?? = body.autoscaling.map { .some(AutoscalePolicy($0)) }
        if body.clearAutoscaling == true {
            guard body.autoscaling == nil else { throw AppError.badRequest("Give autoscaling or clear_autoscaling, not both") }
            autoscaling = .some(nil)
        }
        let updated = try await inference.update(
            try Parse.id(input.path.serviceId, "service_id"),
            .init(
                description: body.description, minReplicas: body.minReplicas, maxReplicas: body.maxReplicas,
                trafficPercentage: body.trafficPercentage, routeHeader: routeHeader, stickySessions: body.stickySessions,
                autoscaling: autoscaling, rateLimitRps: body.rateLimitRps, shadow: body.shadow),
            caller: caller)
        return .ok(.init(body: .json(.init(updated))))
    }

    func deleteInferenceService(_ input: Operations.DeleteInferenceService.Input) async throws -> Operations.DeleteInferenceService.Output {
        try await inference.delete(try Parse.id(input.path.serviceId, "service_id"), caller: caller)
        return .noContent(.init())
    }

    func startInferenceService(_ input: Operations.StartInferenceService.Input) async throws -> Operations.StartInferenceService.Output {
        .ok(.init(body: .json(.init(try await inference.start(try Parse.id(input.path.serviceId, "service_id"), caller: caller)))))
    }

    func stopInferenceService(_ input: Operations.StopInferenceService.Input) async throws -> Operations.StopInferenceService.Output {
        .ok(.init(body: .json(.init(try await inference.stop(try Parse.id(input.path.serviceId, "service_id"), caller: caller)))))
    }

    func scaleInferenceService(_ input: Operations.ScaleInferenceService.Input) async throws -> Operations.ScaleInferenceService.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let scaled = try await inference.scale(try Parse.id(input.path.serviceId, "service_id"), replicas: body.replicas, caller: caller)
        return .ok(.init(body: .json(.init(scaled))))
    }

    func getInferenceServiceLogs(_ input: Operations.GetInferenceServiceLogs.Input) async throws -> Operations.GetInferenceServiceLogs.Output {
        let replica = try await inference.logReplica(
            try Parse.id(input.path.serviceId, "service_id"), replica: try Parse.optionalId(input.query.replica, "replica"), caller: caller)
        var text = Data()
        var position = max(0, input.query.offset ?? 0)
        while let replica, text.count < 64 << 20 {
            let slice = try await inference.logs.read(replica.workloadId, from: position, limit: 4 << 20)
            if slice.data.isEmpty { break }
            text.append(slice.data)
            position = slice.nextOffset
        }
        return .ok(.init(headers: .init(xAitipReplica: replica?.workloadId.lowercasedString), body: .plainText(HTTPBody(text))))
    }

    func getInferenceServiceMetrics(_ input: Operations.GetInferenceServiceMetrics.Input) async throws
        -> Operations.GetInferenceServiceMetrics.Output
    {
        let metrics = try await inference.metrics(try Parse.id(input.path.serviceId, "service_id"), caller: caller)
        return .ok(.init(body: .json(.init(metrics))))
    }
}

extension Components.Schemas.InferenceService.RuntimeConfigPayload: FreeFormPayload {}

extension Components.Schemas.InferenceServiceMetrics {
    init(_ metrics: InferenceService.Metrics) {
        self.init(
            serviceId: metrics.deployment.id.lowercasedString, status: metrics.deployment.status.rawValue, replicas: metrics.deployment.replicas,
            readyReplicas: metrics.readyReplicas,
            versions: metrics.versions.map { version in
                .init(
                    serviceId: version.deployment.id.lowercasedString, name: version.deployment.name, trafficShare: version.share,
                    requests: Int64(version.stats.requests), errors: Int64(version.stats.errors),
                    requestsPerSecond: version.stats.requestsPerSecond, latencyP50Ms: version.stats.p50Ms, latencyP95Ms: version.stats.p95Ms,
                    latencyP99Ms: version.stats.p99Ms)
            })
    }
}

extension Components.Schemas.InferenceService {
    init(_ deployment: Deployment) {
        self.init(
            id: deployment.id.lowercasedString, projectId: deployment.projectId.lowercasedString, ownerId: deployment.ownerId?.lowercasedString,
            name: deployment.name, description: deployment.description, modelId: deployment.modelId?.lowercasedString,
            modelName: deployment.modelName, modelVersion: deployment.modelVersion, modelUri: deployment.modelURI, runtime: deployment.runtime,
            runtimeConfig: FreeForm.wire(deployment.runtimeConfig), gpuType: deployment.gpuType, gpuCount: deployment.gpuCount,
            cpu: deployment.cpu, memoryMib: deployment.memoryMiB, replicas: deployment.replicas, minReplicas: deployment.minReplicas,
            maxReplicas: deployment.maxReplicas, endpointUrl: deployment.endpointURL, status: .init(rawValue: deployment.status.rawValue)!,
            statusReason: deployment.statusReason, healthStatus: .init(rawValue: deployment.healthStatus.rawValue)!,
            isCanary: deployment.isCanary, trafficPercentage: deployment.trafficPercentage, shadow: deployment.shadow,
            parentServiceId: deployment.parentServiceId?.lowercasedString,
            routeHeader: deployment.routeHeaderName.map { .init(name: $0, value: deployment.routeHeaderValue ?? "") },
            stickySessions: deployment.stickySessions, autoscaling: deployment.autoscalePolicy.map(Components.Schemas.Autoscaling.init),
            rateLimitRps: deployment.rateLimitRps, createdAt: Date(epochMilliseconds: deployment.createdMs),
            updatedAt: Date(epochMilliseconds: deployment.updatedMs))
    }

    init(_ view: InferenceService.View) {
        self.init(view.deployment)
        replicaList = view.replicas.map { replica in
            .init(
                workloadId: replica.workloadId.lowercasedString, state: replica.state.rawValue, ready: replica.ready, reason: replica.reason,
                createdAt: Date(epochMilliseconds: replica.createdMs), readyAt: replica.readyMs.map(Date.init(epochMilliseconds:)))
        }
        canaries = view.canaries.map(\.id.lowercasedString)
    }
}

extension AutoscalePolicy {
    init(_ wire: Components.Schemas.Autoscaling) {
        self.init(
            metric: Metric(rawValue: wire.metric.rawValue) ?? .concurrency, target: wire.target,
            scaleUpWindowSeconds: wire.scaleUpWindowSeconds ?? 0, scaleDownWindowSeconds: wire.scaleDownWindowSeconds ?? 120)
    }
}

extension Components.Schemas.Autoscaling {
    init(_ policy: AutoscalePolicy) {
        self.init(
            metric: .init(rawValue: policy.metric.rawValue)!, target: policy.target, scaleUpWindowSeconds: policy.scaleUpWindowSeconds,
            scaleDownWindowSeconds: policy.scaleDownWindowSeconds)
    }
}
