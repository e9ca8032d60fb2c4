import AITIPAPI
import AITIPCore
import Foundation
import Workloads

extension APIImplementation {
    var resources: ResourceService { dependencies.resources }

    func listGpuNodes(_ input: Operations.ListGpuNodes.Input) async throws -> Operations.ListGpuNodes.Output {
        .ok(.init(body: .json(.init(items: try await resources.nodes(caller: caller).map(Components.Schemas.GpuNode.init)))))
    }

    func updateGpuNode(_ input: Operations.UpdateGpuNode.Input) async throws -> Operations.UpdateGpuNode.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let node = try await resources.setNodeStatus(
            try Parse.id(input.path.nodeId, "node_id"), NodeStatus(rawValue: body.status.rawValue)!,
            caller: caller)
        guard let view = try await resources.nodes(caller: caller).first(where: { $0.node.id == node.id }) else {
            throw AppError.notFound("GPU node")
        }
        return .ok(.init(body: .json(.init(view))))
    }

    func listQuotas(_ input: Operations.ListQuotas.Input) async throws -> Operations.ListQuotas.Output {
        let quotas = try await resources.quotas(orgId: try Parse.optionalId(input.query.orgId, "org_id"), caller: caller)
        return .ok(.init(body: .json(.init(items: quotas.map(Components.Schemas.Quota.init)))))
    }

    func setQuota(_ input: Operations.SetQuota.Input) async throws -> Operations.SetQuota.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let quota = try await resources.setQuota(
            .init(
                orgId: try Parse.id(body.orgId, "org_id"), projectId: try Parse.optionalId(body.projectId, "project_id"),
                maxGPUHoursMonth: body.maxGpuHoursMonth, maxStorageGB: body.maxStorageGb,
                maxConcurrentJobs: body.maxConcurrentJobs, maxModels: body.maxModels), caller: caller)
        guard let view = try await resources.quotas(orgId: quota.orgId, caller: caller).first(where: { $0.quota.id == quota.id }) else {
            throw AppError.notFound("Quota")
        }
        return .ok(.init(body: .json(.init(view))))
    }

    func getUsage(_ input: Operations.GetUsage.Input) async throws -> Operations.GetUsage.Output {
        let report = try await resources.usage(
            orgId: try Parse.optionalId(input.query.orgId, "org_id"), fromDay: input.query.from, toDay: input.query.to,
            groupBy: .init(rawValue: input.query.groupBy?.rawValue ?? "project") ?? .project, caller: caller)
        return .ok(.init(body: .json(.init(report))))
    }

    func getCosts(_ input: Operations.GetCosts.Input) async throws -> Operations.GetCosts.Output {
        let report = try await resources.usage(
            orgId: try Parse.optionalId(input.query.orgId, "org_id"), fromDay: input.query.from, toDay: input.query.to,
            groupBy: .init(rawValue: input.query.groupBy?.rawValue ?? "project") ?? .project, caller: caller)
        return .ok(.init(body: .json(.init(report))))
    }
}

extension Components.Schemas.GpuNode {
    init(_ view: NodeView) {
        let node = view.node
        self.init(
            id: node.id.lowercasedString, name: node.name, nodeType: node.nodeType, gpuCount: node.gpuCount, gpusInUse: view.gpusInUse,
            gpuMemoryGb: node.gpuMemoryGB, cpuCores: node.cpuCores, memoryMib: Int64(node.memoryMiB),
            status: .init(rawValue: view.effectiveStatus.rawValue)!, source: node.source,
            labels: .init(additionalProperties: node.labels), runningWorkloads: view.runningWorkloads, totalJobs: node.totalJobs,
            totalGpuHours: node.totalGPUSeconds / 3_600, lastHeartbeatAt: node.lastHeartbeatMs.map(Date.init(epochMilliseconds:)))
    }
}

extension Components.Schemas.Quota {
    init(_ view: QuotaView) {
        let quota = view.quota
        self.init(
            orgId: quota.orgId.lowercasedString, projectId: quota.projectId?.lowercasedString, scope: quota.scope,
            maxGpuHoursMonth: quota.maxGPUHoursMonth, maxStorageGb: quota.maxStorageGB, maxConcurrentJobs: quota.maxConcurrentJobs,
            maxModels: quota.maxModels, usedGpuHoursMonth: view.usedGPUHoursMonth, runningJobs: view.runningJobs)
    }
}

extension Components.Schemas.UsageReport {
    init(_ report: ResourceService.UsageReport) {
        self.init(
            from: report.from, to: report.to, groupBy: report.groupBy.rawValue, currency: report.currency,
            lines: report.lines.map { .init(key: $0.key, gpuType: $0.gpuType, gpuHours: $0.gpuSeconds / 3_600, cost: $0.cost) },
            totalGpuHours: report.totalGPUHours, totalCost: report.totalCost)
    }
}
