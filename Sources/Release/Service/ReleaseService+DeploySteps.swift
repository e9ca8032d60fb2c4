import AITIPCore
import Datasets
import Events
import Foundation
import Identity
import Workloads

/// Firmware, service and config releases: an artifact (a dataset file, pinned by its checksum) rolled out to a fleet
/// the platform does not run, through a deploy step per stage — a signed webhook call or a workload in the job
/// sandbox — that puts it on `percent` % of the fleet, and once more to undo it on a rollback. The same approvals and
/// test gate apply as for a model; the "analysis" is the step's own answer, then a bake time at each stage
/// (`interval_seconds` × `intervals_per_stage`) during which anyone may roll back, before the next stage.
extension ReleaseService {
    /// The service columns of a release without a service (see `Release.serviceId`).
    static let noService = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// Deploy steps run as workloads of this kind (App registers it), owned by the release's creator.
    package static let stepKind = WorkloadKind(
        name: "release", title: "Release step", read: .releaseRead, write: .releaseWrite, delete: .releaseDelete)

    /// Where a workload step finds the artifact, under its working directory.
    static let artifactFolder = "artifact"

    enum StepAction: String {
        case deploy, rollback
    }

    static func checkDeployable(_ input: Input, gates: Gates, into validator: inout Validator) {
        let type = input.releaseType ?? "model"
        validator.check(
            input.serviceId == nil && input.canaryServiceId == nil, "service_id", "is for model releases; a \(type) release has a deploy_target")
        validator.check(input.artifact != nil, "artifact", "is required: the dataset file (dataset_id, version, path) the \(type) release rolls out")
        if let path = input.artifact?.path { validator.check(!path.isEmpty && path.count <= 1_000, "artifact.path", "must name one file") }
        validator.check(
            gates.evaluationJobId == nil && gates.simulationRunId == nil, "gates",
            "evaluation and simulation gates judge a model version; a \(type) release takes a test_execution_id gate")
        guard let target = input.deployTarget else {
            return validator.add("deploy_target", "is required: {\"type\": \"webhook\", \"url\": …} or {\"type\": \"workload\", \"command\": …}")
        }
        switch target.type {
        case .webhook:
            validator.check(target.url != nil, "deploy_target.url", "is required for a webhook step")
            validator.check((target.secret ?? "").count <= 1_000, "deploy_target.secret", "must be at most 1000 characters")
            validator.check(target.command == nil && target.codeArchive == nil, "deploy_target.command", "is for a workload step")
        case .workload:
            validator.check(!(target.command ?? "").isEmpty, "deploy_target.command", "is required for a workload step")
            validator.check(
                (target.command ?? "").count <= WorkloadService.maxEntrypointLength, "deploy_target.command",
                "is longer than \(WorkloadService.maxEntrypointLength) characters")
            validator.check(target.url == nil && target.secret == nil, "deploy_target.url", "is for a webhook step")
            if let timeout = target.timeoutSeconds {
                validator.check((10...86_400).contains(timeout), "deploy_target.timeout_seconds", "must be 10–86400")
            }
        }
    }

    /// The chosen file of a dataset version of this project, as the caller may read it.
    func resolveArtifact(_ choice: ArtifactChoice, in scope: ProjectScope, caller: Caller) async throws -> ReleaseArtifact {
        let (dataset, version, files) = try await datasets.versionFiles(choice.datasetId, version: choice.version, path: choice.path, caller: caller)
        guard dataset.projectId == scope.projectId else {
            throw AppError.validation([FieldError(field: "artifact.dataset_id", message: "is not a dataset of this project")])
        }
        guard let file = files.first(where: { $0.path == choice.path }) else {
            throw AppError.validation([FieldError(field: "artifact.path", message: "version \(version.version) has no file '\(choice.path)'")])
        }
        return ReleaseArtifact(
            datasetId: dataset.id, datasetName: dataset.name, version: version.version, versionId: version.id, path: file.path,
            sha256: file.sha256, sizeBytes: file.sizeBytes)
    }

    /// A webhook's address is checked as a project webhook's; a workload step as its runs will be submitted.
    func checkDeployTarget(_ target: DeployTarget, in scope: ProjectScope, ownerId: UUID) async throws {
        switch target.type {
        case .webhook:
            do { _ = try OutboundURL.validate(target.url ?? "", allowPrivate: webhooks.allowPrivateAddresses) } catch {
                throw AppError.validation([FieldError(field: "deploy_target.url", message: error.detail)])
            }
        case .workload:
            let probe = Self.stepSubmission(target, release: nil, action: .deploy, percent: 0)
            _ = try await database.read { sql in try await workloads.prepare(probe, kind: Self.stepKind, in: scope, ownerId: ownerId, on: sql) }
        }
    }

    static func stepSubmission(_ target: DeployTarget, release: Release?, action: StepAction, percent: Int) -> WorkloadService.Submission {
        var submission = WorkloadService.Submission(
            name: "release-\(release?.name ?? "step")-\(action.rawValue)", entrypoint: target.command, codeArchive: target.codeArchive,
            cpu: target.cpu, memoryMiB: target.memoryMiB, maxRuntimeSeconds: target.timeoutSeconds ?? 1_800, maxRetries: 0)
        if let release, let artifact = release.decodedArtifact {
            submission.systemEnv = [
                "AITIP_RELEASE_ID": release.id.lowercasedString, "AITIP_RELEASE_NAME": release.name, "AITIP_RELEASE_VERSION": release.version,
                "AITIP_RELEASE_TYPE": release.releaseType, "AITIP_RELEASE_ACTION": action.rawValue, "AITIP_RELEASE_PERCENT": String(percent),
                "AITIP_RELEASE_STAGE": String(release.currentStage + 1),
                "AITIP_ARTIFACT": "\(artifactFolder)/\((artifact.path as NSString).lastPathComponent)", "AITIP_ARTIFACT_SHA256": artifact.sha256,
            ]
        }
        return submission
    }

    /// What one deploy step came to.
    enum StepOutcome: Sendable {
        /// The target says the stage is in place.
        case inPlace(String)
        /// A workload step is running.
        case running
        /// The target could not be reached or asked to be tried again.
        case retry(String)
        /// The target refused, or the workload failed.
        case failed(String)
    }

    /// Calls the webhook for the release's current stage now.
    func callWebhook(_ release: Release, _ target: DeployTarget, action: StepAction, percent: Int) async -> StepOutcome {
        let payload = Self.stepPayload(release, action: action, percent: percent)
        let answer = await WebhookDeliverer.post(
            to: target.url ?? "", secret: target.secret, deliveryId: "\(release.id.lowercasedString)-\(action.rawValue)-\(release.currentStage + 1)",
            event: "release.\(action.rawValue)", payload: payload, now: clock.now(), configuration: webhooks)
        switch answer.status {
        case let code? where (200..<300).contains(code): return .inPlace("the webhook answered \(code)")
        case let code? where code != 408 && code != 429 && code < 500: return .failed("the webhook refused the step (\(code))")
        case let code?: return .retry("the webhook answered \(code)")
        case nil: return .retry(answer.error ?? "the webhook did not answer")
        }
    }

    static func stepPayload(_ release: Release, action: StepAction, percent: Int) -> String {
        let artifact = release.decodedArtifact
        var data: [String: JSONValue] = [
            "release_id": .string(release.id.lowercasedString), "project_id": .string(release.projectId.lowercasedString),
            "name": .string(release.name), "version": .string(release.version), "release_type": .string(release.releaseType),
            "action": .string(action.rawValue), "stage": .number(Double(release.currentStage + 1)), "percent": .number(Double(percent)),
        ]
        if let artifact {
            let path = artifact.path.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? artifact.path
            data["artifact"] = .object([
                "dataset_id": .string(artifact.datasetId.lowercasedString), "dataset": .string(artifact.datasetName),
                "version": .string(artifact.version), "path": .string(artifact.path), "sha256": .string(artifact.sha256),
                "size_bytes": .number(Double(artifact.sizeBytes)),
                "download": .string("/api/v1/datasets/\(artifact.datasetId.lowercasedString)/versions/\(artifact.version)/download?path=\(path)"),
            ])
        }
        return json(data)
    }

    /// Tells the target to undo the release after a rollback (a webhook once, a workload started): best effort, its
    /// outcome on the timeline. A step still running is stopped first. Nothing is sent when no step ever ran.
    func undoDeploySteps(_ release: Release, hadStep: Bool, running: UUID? = nil) async {
        if let running { try? await workloads.stopOwned(running, reason: "release \(release.name) \(release.version) rolled back") }
        guard !release.isModel, hadStep, let target = release.decodedDeployTarget else { return }
        let detail: String
        switch target.type {
        case .webhook:
            switch await callWebhook(release, target, action: .rollback, percent: 0) {
            case .inPlace(let why): detail = "the target was told to roll back: \(why)"
            case .running: detail = ""
            case .retry(let why), .failed(let why): detail = "telling the target to roll back failed: \(why); roll the fleet back by hand"
            }
        case .workload:
            do {
                let id = try await startStepWorkload(release, target, action: .rollback, percent: 0)
                detail = "rollback workload \(id.lowercasedString) started"
            } catch {
                detail = "the rollback workload could not start: \(error)"
            }
        }
        do {
            try await database.transaction { sql in
                try await record(event(release, actor: nil, kind: "rollback_step", from: nil, to: nil, detail: detail), of: release, on: sql)
            }
        } catch {}
    }

    /// Submits a step as a workload of the release's creator; answers its id.
    @discardableResult
    func startStepWorkload(_ release: Release, _ target: DeployTarget, action: StepAction, percent: Int) async throws -> UUID {
        guard let artifact = release.decodedArtifact else { throw AppError(.internalError, "release \(release.id) has no artifact") }
        let scope = ProjectScope(projectId: release.projectId, orgId: release.orgId)
        var submission = Self.stepSubmission(target, release: release, action: action, percent: percent)
        let packed = try await workloads.packCode(
            objectsUnder: [],
            objects: [(try DatasetService.blobKey(orgId: release.orgId, sha256: artifact.sha256), submission.systemEnv["AITIP_ARTIFACT"]!)],
            includingCode: target.codeArchive, extra: [:], org: release.orgId)
        submission.codeArchive = packed.sha256
        let prepared = submission
        let id = try await database.transaction { sql in
            let workload = try await workloads.prepare(prepared, kind: Self.stepKind, in: scope, ownerId: release.createdBy, on: sql)
            try await workloads.insert(workload, caller: ReleaseController.system, on: sql, audited: false)
            return workload.id
        }
        workloads.wake()
        return id
    }

    /// The outcome of the release's running workload step.
    func workloadOutcome(_ id: UUID) async throws -> StepOutcome {
        guard let summary = try await workloads.summaries([id]).first else { return .failed("the step's workload \(id.lowercasedString) is gone") }
        guard summary.state.isFinal else { return .running }
        return summary.state == .succeeded
            ? .inPlace("workload \(id.lowercasedString) succeeded")
            : .failed("workload \(id.lowercasedString) \(summary.state.rawValue): \(summary.reason)")
    }
}
