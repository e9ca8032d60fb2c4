import AITIPCore
import Datasets
import Executors
import Foundation
import Identity
import Storage
import Tracking
import Workloads

package struct TrainingService: Sendable {
    /// Training jobs as a workload kind: App registers it with WorkloadService. Their `training_jobs` row goes with
    /// the workload (ON DELETE CASCADE).
    package static let kind = WorkloadKind(
        name: "training", title: "Training job", read: .trainingRead, write: .trainingWrite,
        delete: .trainingDelete)
    let database: Database
    package let workloads: WorkloadService
    let resources: ResourceService
    let datasets: DatasetService
    let tracking: TrackingService

    package init(database: Database, workloads: WorkloadService, resources: ResourceService, datasets: DatasetService, tracking: TrackingService) {
        self.database = database
        self.workloads = workloads
        self.resources = resources
        self.datasets = datasets
        self.tracking = tracking
    }

    package struct Input: Sendable {
        package var submission: WorkloadService.Submission
        package var framework: String?
        /// JSON objects, as text.
        package var config: String
        package var dataConfig: String
        package var experimentId: UUID?
        package var datasetId: UUID?

        package init(
            submission: WorkloadService.Submission, framework: String? = nil, config: String = "{}", dataConfig: String = "{}",
            experimentId: UUID? = nil, datasetId: UUID? = nil
        ) {
            self.submission = submission
            self.framework = framework
            self.config = config
            self.dataConfig = dataConfig
            self.experimentId = experimentId
            self.datasetId = datasetId
        }
    }

    package func submit(_ input: Input, project projectId: UUID, caller: Caller) async throws -> TrainingJob {
        let scope = try await workloads.scope(project: projectId, permission: Self.kind.write, caller: caller)
        var validator = Validator()
        if let framework = input.framework {
            validator.check(framework.count <= 50 && !framework.isEmpty, "framework", "must be 1-50 characters (pytorch, tensorflow, sklearn, …)")
        }
        validator.check(input.config.utf8.count <= 256 * 1_024, "config", "is larger than 256 KiB")
        validator.check(
            input.submission.distributed != .deepspeed, "distributed_mode",
            "deepspeed is not run by the local executor yet; use single or ddp")
        try validator.finish()
        // A job's hyper-parameters reach the script as AITIP_JOB_CONFIG (JSON).
        var withConfig = input.submission
        withConfig.systemEnv["AITIP_JOB_CONFIG"] = input.config
        let submission = withConfig
        if let experimentId = input.experimentId, try await !tracking.experimentExists(experimentId, inProject: scope.projectId) {
            throw AppError.badRequest("experiment_id \(experimentId.lowercasedString) is not an experiment of this project")
        }
        let job: TrainingJob = try await database.transaction { sql in
            let workload = try await workloads.prepare(submission, kind: Self.kind, in: scope, caller: caller, on: sql)
            let estimate = workload.maxRuntimeSeconds.map {
                Double($0) / 3_600 * Double(workload.gpuCount) * resources.configuration.price(workload.gpuType ?? "gpu")
            }
            let details = TrainingJob.Details(
                id: workload.id, projectId: scope.projectId, experimentId: input.experimentId, datasetId: input.datasetId,
                dataConfig: input.dataConfig, framework: input.framework, distributedMode: submission.distributed.rawValue,
                config: input.config, codeRepo: submission.repository?.url, codeCommit: submission.repository?.commit,
                codePath: submission.codeArchive.map { "code/\($0).tar.gz" },
                checkpointPath: workloads.checkpointDirectory(of: workload.id),
                costEstimate: estimate, createdMs: workload.createdMs)
            try await workloads.insert(workload, caller: caller, on: sql)
            try await TrainingJobStore.insert(details, on: sql)
            // The lineage: the dataset's latest version → this job.
            if let datasetId = input.datasetId {
                try await datasets.recordUse(
                    of: datasetId, by: (.trainingJob, workload.id), relation: "trained_on", orgId: scope.orgId,
                    caller: caller, on: sql)
            }
            return TrainingJob(workload: workload, details: details, costActual: 0, gpuSeconds: 0)
        }
        workloads.wake()
        return job
    }

    package func job(_ id: UUID, caller: Caller) async throws -> TrainingJob {
        let workload = try await workloads.workload(id, of: Self.kind, caller: caller)
        return try await assemble([workload])[0]
    }

    package func list(_ query: WorkloadService.ListQuery, caller: Caller) async throws -> Page<TrainingJob> {
        let page = try await workloads.list(query, of: Self.kind, caller: caller)
        let jobs = try await assemble(page.items)
        return Page(items: jobs, nextCursor: page.nextCursor)
    }

    package func stop(_ id: UUID, caller: Caller) async throws -> TrainingJob {
        let workload = try await workloads.stop(id, of: Self.kind, caller: caller)
        return try await assemble([workload])[0]
    }

    package func delete(_ id: UUID, caller: Caller) async throws {
        try await workloads.delete(id, of: Self.kind, caller: caller)
    }

    package func events(_ id: UUID, caller: Caller) async throws -> [WorkloadEvent] {
        try await workloads.events(id, of: Self.kind, caller: caller)
    }

    /// Stores a code package for jobs of this project; `read` reads the body, at most the bytes it is given.
    package func uploadCode(project projectId: UUID, caller: Caller, read: (_ atMost: Int) async throws -> Data) async throws
        -> WorkloadService.CodeArchive
    {
        let scope = try await workloads.scope(project: projectId, permission: Self.kind.write, caller: caller)
        return try await workloads.uploadCode(in: scope, caller: caller, read: read)
    }

    /// Where the jobs' logs are kept (the HTTP layer streams them after `authorizeLogs`).
    package var logs: LogHub { workloads.logs }

    /// Checks read access to a job's log (the HTTP layer then streams it from the log hub).
    package func authorizeLogs(_ id: UUID, caller: Caller) async throws -> Workload {
        try await workloads.workload(id, of: Self.kind, caller: caller)
    }

    /// The job's metrics: lines its program printed in the documented format (see `MetricLine`), read from its log.
    package func metrics(_ id: UUID, caller: Caller) async throws -> (job: TrainingJob, series: [String: [MetricLine.Point]], usage: ResourceUsage?) {
        let job = try await job(id, caller: caller)
        var series: [String: [MetricLine.Point]] = [:]
        try await workloads.logs.forEachLines(of: id) { MetricLine.scan($0, into: &series) }
        return (job, series, await workloads.usage(of: job.workload))
    }

    private func assemble(_ items: [Workload]) async throws -> [TrainingJob] {
        guard !items.isEmpty else { return [] }
        let details = try await database.read { sql in
            try await TrainingJobStore.details(of: items.map(\.id), on: sql)
        }
        let byId = Dictionary(uniqueKeysWithValues: details.map { ($0.id, $0) })
        let seconds = try await resources.gpuSeconds(ofWorkloads: items.map(\.id))
        return items.map { workload in
            let used = seconds[workload.id] ?? 0
            let detail =
                byId[workload.id]
                ?? TrainingJob.Details(
                    id: workload.id, projectId: workload.projectId, dataConfig: "{}",
                    distributedMode: "single", config: "{}", createdMs: workload.createdMs)
            return TrainingJob(
                workload: workload, details: detail, costActual: used / 3_600 * resources.configuration.price(workload.gpuType ?? "gpu"),
                gpuSeconds: used)
        }
    }
}
