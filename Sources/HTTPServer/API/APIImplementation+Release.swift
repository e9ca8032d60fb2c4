import AITIPAPI
import AITIPCore
import Foundation
import OpenAPIRuntime
import Release

extension APIImplementation {
    var releases: ReleaseService { dependencies.releases }

    func listReleases(_ input: Operations.ListReleases.Input) async throws -> Operations.ListReleases.Output {
        let page = try await releases.list(
            project: try Parse.id(input.query.projectId, "project_id"), page: try PageRequest(limit: input.query.limit, cursor: input.query.cursor),
            caller: caller)
        return .ok(.init(body: .json(.init(items: page.items.map { Components.Schemas.Release($0) }, nextCursor: page.nextCursor))))
    }

    func createRelease(_ input: Operations.CreateRelease.Input) async throws -> Operations.CreateRelease.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let created = try await releases.create(
            .init(
                name: body.name, version: body.version, changelog: body.changelog, releaseType: body.releaseType?.rawValue,
                strategy: body.strategy?.rawValue, serviceId: try body.serviceId.map { try Parse.id($0, "service_id") },
                canaryServiceId: try body.canaryServiceId.map { try Parse.id($0, "canary_service_id") }, canaryStages: body.canaryStages,
                approvalPolicy: body.approvalPolicy.map(ApprovalPolicy.init), gates: try body.gates.map(Gates.init),
                analysis: body.analysis.map(AnalysisPolicy.init),
                artifact: try body.artifact.map {
                    .init(datasetId: try Parse.id($0.datasetId, "artifact.dataset_id"), version: $0.version, path: $0.path)
                },
                deployTarget: try body.deployTarget.map(DeployTarget.init)),
            project: try Parse.id(body.projectId, "project_id"), caller: caller)
        return .created(.init(body: .json(.init(created))))
    }

    func getRelease(_ input: Operations.GetRelease.Input) async throws -> Operations.GetRelease.Output {
        let view = try await releases.get(try Parse.id(input.path.releaseId, "release_id"), caller: caller)
        return .ok(.init(body: .json(.init(view))))
    }

    func updateRelease(_ input: Operations.UpdateRelease.Input) async throws -> Operations.UpdateRelease.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let updated = try await releases.update(
            try Parse.id(input.path.releaseId, "release_id"),
            .init(
                canaryServiceId: try body.canaryServiceId.map { try Parse.id($0, "canary_service_id") }, changelog: body.changelog,
                canaryStages: body.canaryStages, approvalPolicy: body.approvalPolicy.map(ApprovalPolicy.init),
                gates: try body.gates.map(Gates.init), analysis: body.analysis.map(AnalysisPolicy.init)),
            caller: caller)
        return .ok(.init(body: .json(.init(try await releases.view(of: updated, caller: caller)))))
    }

    func deleteRelease(_ input: Operations.DeleteRelease.Input) async throws -> Operations.DeleteRelease.Output {
        try await releases.delete(try Parse.id(input.path.releaseId, "release_id"), caller: caller)
        return .noContent(.init())
    }

    func approveRelease(_ input: Operations.ApproveRelease.Input) async throws -> Operations.ApproveRelease.Output {
        var body: Components.Schemas.ReleaseApprove?
        if case .json(let sent) = input.body { body = sent }
        let release = try await releases.approve(
            try Parse.id(input.path.releaseId, "release_id"), approve: body?.approve ?? true, comment: body?.comment, caller: caller)
        return .ok(.init(body: .json(.init(try await releases.view(of: release, caller: caller)))))
    }

    func deployRelease(_ input: Operations.DeployRelease.Input) async throws -> Operations.DeployRelease.Output {
        let release = try await releases.deploy(try Parse.id(input.path.releaseId, "release_id"), caller: caller)
        return .ok(.init(body: .json(.init(try await releases.view(of: release, caller: caller)))))
    }

    func promoteRelease(_ input: Operations.PromoteRelease.Input) async throws -> Operations.PromoteRelease.Output {
        let release = try await releases.promote(try Parse.id(input.path.releaseId, "release_id"), caller: caller)
        return .ok(.init(body: .json(.init(try await releases.view(of: release, caller: caller)))))
    }

    func rollbackRelease(_ input: Operations.RollbackRelease.Input) async throws -> Operations.RollbackRelease.Output {
        var reason: String?
        if case .json(let sent) = input.body { reason = sent.reason }
        let release = try await releases.rollback(try Parse.id(input.path.releaseId, "release_id"), reason: reason, caller: caller)
        return .ok(.init(body: .json(.init(try await releases.view(of: release, caller: caller)))))
    }
}

extension ApprovalPolicy {
    init(_ wire: Components.Schemas.ReleaseApprovalPolicy) {
        self.init()
        if let required = wire.required { self.required = required }
        if let roles = wire.roles { self.roles = roles.map(\.rawValue) }
        if let users = wire.users { self.users = users }
        if let requireHuman = wire.requireHuman { self.requireHuman = requireHuman }
        if let expiresHours = wire.expiresHours { self.expiresHours = expiresHours }
    }

    var wire: Components.Schemas.ReleaseApprovalPolicy {
        .init(
            required: required, roles: roles.compactMap { .init(rawValue: $0) }, users: users, requireHuman: requireHuman,
            expiresHours: expiresHours)
    }
}

extension Gates {
    init(_ wire: Components.Schemas.ReleaseGates) throws {
        self.init(
            evaluationJobId: try Parse.optionalId(wire.evaluationJobId, "gates.evaluation_job_id"),
            testExecutionId: try Parse.optionalId(wire.testExecutionId, "gates.test_execution_id"),
            simulationRunId: try Parse.optionalId(wire.simulationRunId, "gates.simulation_run_id"), minSafetyScore: wire.minSafetyScore)
    }

    var wire: Components.Schemas.ReleaseGates {
        .init(
            evaluationJobId: evaluationJobId?.lowercasedString, testExecutionId: testExecutionId?.lowercasedString,
            simulationRunId: simulationRunId?.lowercasedString, minSafetyScore: minSafetyScore)
    }
}

extension AnalysisPolicy {
    init(_ wire: Components.Schemas.ReleaseAnalysis) {
        self.init()
        if let value = wire.intervalSeconds { intervalSeconds = value }
        if let value = wire.minRequests { minRequests = value }
        if let value = wire.maxErrorRate { maxErrorRate = value }
        if let value = wire.maxLatencyRatio { maxLatencyRatio = value }
        if let value = wire.intervalsPerStage { intervalsPerStage = value }
        if let value = wire.maxInconclusive { maxInconclusive = value }
        if let value = wire.autoPromote { autoPromote = value }
        if let value = wire.pauseTimeoutSeconds { pauseTimeoutSeconds = value }
    }

    var wire: Components.Schemas.ReleaseAnalysis {
        .init(
            intervalSeconds: intervalSeconds, minRequests: minRequests, maxErrorRate: maxErrorRate, maxLatencyRatio: maxLatencyRatio,
            intervalsPerStage: intervalsPerStage, maxInconclusive: maxInconclusive, autoPromote: autoPromote,
            pauseTimeoutSeconds: pauseTimeoutSeconds)
    }
}

extension Components.Schemas.Release {
    init(_ release: Release) {
        self.init(
            id: release.id.lowercasedString, projectId: release.projectId.lowercasedString, name: release.name, version: release.version,
            changelog: release.changelog, releaseType: release.releaseType, strategy: release.strategy,
            serviceId: release.isModel ? release.serviceId.lowercasedString : nil,
            canaryServiceId: release.isModel ? release.canaryServiceId.lowercasedString : nil, modelId: release.modelId?.lowercasedString,
            modelUri: release.isModel ? "models:/\(release.modelName)/\(release.modelVersion)" : nil,
            artifact: release.decodedArtifact.map(Components.Schemas.ReleaseArtifact.init),
            deployTarget: release.decodedDeployTarget.map(Components.Schemas.ReleaseDeployTarget.init),
            appliedStage: release.isModel ? nil : release.appliedStage + 1, canaryStages: release.stages, currentStage: release.currentStage + 1,
            status: .init(rawValue: release.status.rawValue)!,
            statusReason: release.statusReason, approvalStatus: .init(rawValue: release.approvalStatus.rawValue)!,
            approvedBy: release.approvedBy?.lowercasedString, approvedAt: release.approvedMs.map(Date.init(epochMilliseconds:)),
            approvalPolicy: release.decodedApprovalPolicy.wire, gates: release.decodedGates.wire, analysis: release.decodedAnalysis.wire,
            rollbackAvailable: release.status.isRollingOut || release.status == .production,
            rolledBackAt: release.rolledBackMs.map(Date.init(epochMilliseconds:)), rolledBackBy: release.rolledBackBy?.lowercasedString,
            rollbackReason: release.rollbackReason, createdBy: release.createdBy?.lowercasedString,
            createdAt: Date(epochMilliseconds: release.createdMs), updatedAt: Date(epochMilliseconds: release.updatedMs))
    }

    init(_ view: ReleaseService.View) {
        self.init(view.release)
        canaryPercentage = view.canaryShare
        timeline = view.events.map {
            .init(
                at: Date(epochMilliseconds: $0.atMs), actor: $0.actorName, kind: $0.kind, fromStatus: $0.fromStatus, toStatus: $0.toStatus,
                detail: $0.detail)
        }
        approvals = view.approvals.map {
            .init(username: $0.username, approved: $0.approved, comment: $0.comment, at: Date(epochMilliseconds: $0.atMs))
        }
        gateChecks = view.gates.map {
            .init(gate: .init(rawValue: $0.gate)!, evidenceId: $0.evidence.lowercasedString, passed: $0.passed, detail: $0.detail)
        }
    }
}

extension Components.Schemas.ReleaseArtifact {
    init(_ artifact: ReleaseArtifact) {
        self.init(
            datasetId: artifact.datasetId.lowercasedString, dataset: artifact.datasetName, version: artifact.version, path: artifact.path,
            sha256: artifact.sha256, sizeBytes: artifact.sizeBytes)
    }
}

extension Components.Schemas.ReleaseDeployTarget {
    /// The target as answers show it: the webhook's secret is never sent back.
    init(_ target: DeployTarget) {
        self.init(
            _type: .init(rawValue: target.type.rawValue)!, url: target.url, hasSecret: target.type == .webhook ? target.secret != nil : nil,
            command: target.command, codeArchive: target.codeArchive, cpu: target.cpu, memoryMib: target.memoryMiB,
            timeoutSeconds: target.timeoutSeconds)
    }
}

extension DeployTarget {
    init(_ wire: Components.Schemas.ReleaseDeployTarget) throws {
        guard wire.hasSecret == nil else {
            throw AppError.validation([FieldError(field: "deploy_target.has_secret", message: "is shown in answers; send secret")])
        }
        self.init(
            type: DeployTarget.Kind(rawValue: wire._type.rawValue)!, url: wire.url, secret: wire.secret, command: wire.command,
            codeArchive: wire.codeArchive, cpu: wire.cpu, memoryMiB: wire.memoryMib, timeoutSeconds: wire.timeoutSeconds)
    }
}
