import AITIPAPI
import AITIPCore
import Executors
import Foundation
import OpenAPIRuntime
import Training
import Workloads

extension APIImplementation {
    var training: TrainingService { dependencies.training }

    func listTrainingJobs(_ input: Operations.ListTrainingJobs.Input) async throws -> Operations.ListTrainingJobs.Output {
        let query = WorkloadService.ListQuery(
            projectId: try Parse.optionalId(input.query.projectId, "project_id"), states: try Parse.workloadStates(input.query.status),
            queue: input.query.queue, limit: try PageRequest.limit(input.query.limit),
            cursor: input.query.cursor)
        let page = try await training.list(query, caller: caller)
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.TrainingJob.init), nextCursor: page.nextCursor))))
    }

    func createTrainingJob(_ input: Operations.CreateTrainingJob.Input) async throws -> Operations.CreateTrainingJob.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let repository: LaunchRequest.Repository? = try body.code?.repository.map { url in
            guard let commit = body.code?.commit else { throw AppError.badRequest("code.repository needs code.commit (the commit to run)") }
            return LaunchRequest.Repository(url: url, commit: commit)
        }
        let distributed = body.distributedMode.flatMap { DistributedMode(rawValue: $0.rawValue) } ?? .single
        let submission = WorkloadService.Submission(
            name: body.name, entrypoint: body.entrypoint, env: body.env?.additionalProperties ?? [:], codeArchive: body.code?.archive,
            repository: repository, gpuType: body.resources?.gpuType, gpuCount: body.resources?.gpuCount, nodes: body.resources?.nodes,
            cpu: body.resources?.cpu, memoryMiB: body.resources?.memoryMib, priorityClass: body.priority, queue: body.queue,
            maxRuntimeSeconds: body.maxRuntimeSeconds, maxRetries: body.maxRetries, distributed: distributed,
            isolateNetwork: body.isolateNetwork)
        let job = try await training.submit(
            .init(
                submission: submission, framework: body.framework, config: Self.jsonText(body.config), dataConfig: Self.jsonText(body.dataConfig),
                experimentId: try Parse.optionalId(body.experimentId, "experiment_id"), datasetId: try Parse.optionalId(body.datasetId, "dataset_id")),
            project: try Parse.id(body.projectId, "project_id"), caller: caller)
        return .created(.init(body: .json(.init(job))))
    }

    func uploadTrainingCode(_ input: Operations.UploadTrainingCode.Input) async throws -> Operations.UploadTrainingCode.Output {
        guard case .applicationGzip(let body) = input.body else { throw AppError.badRequest("Send the package as application/gzip") }
        let archive = try await training.uploadCode(project: try Parse.id(input.query.projectId, "project_id"), caller: caller) { atMost in
            var data = Data()
            for try await chunk in body {
                data.append(contentsOf: chunk)
                if data.count >= atMost { break }
            }
            return data
        }
        return .created(.init(body: .json(.init(sha256: archive.sha256, sizeBytes: Int64(archive.sizeBytes)))))
    }

    func getTrainingJob(_ input: Operations.GetTrainingJob.Input) async throws -> Operations.GetTrainingJob.Output {
        .ok(.init(body: .json(.init(try await training.job(try Parse.id(input.path.jobId, "job_id"), caller: caller)))))
    }

    func deleteTrainingJob(_ input: Operations.DeleteTrainingJob.Input) async throws -> Operations.DeleteTrainingJob.Output {
        try await training.delete(try Parse.id(input.path.jobId, "job_id"), caller: caller)
        return .noContent(.init())
    }

    func stopTrainingJob(_ input: Operations.StopTrainingJob.Input) async throws -> Operations.StopTrainingJob.Output {
        .ok(.init(body: .json(.init(try await training.stop(try Parse.id(input.path.jobId, "job_id"), caller: caller)))))
    }

    func listTrainingJobEvents(_ input: Operations.ListTrainingJobEvents.Input) async throws -> Operations.ListTrainingJobEvents.Output {
        let events = try await training.events(try Parse.id(input.path.jobId, "job_id"), caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: events.map { event in
                            .init(
                                at: Date(epochMilliseconds: event.atMs), from: event.fromState.flatMap { .init(rawValue: $0.rawValue) },
                                to: .init(rawValue: event.toState.rawValue)!, reason: event.reason)
                        }))))
    }

    func getTrainingJobLogs(_ input: Operations.GetTrainingJobLogs.Input) async throws -> Operations.GetTrainingJobLogs.Output {
        let id = try Parse.id(input.path.jobId, "job_id")
        _ = try await training.authorizeLogs(id, caller: caller)
        let resume = input.headers.lastEventID.flatMap { Int64($0) }
        let offset = max(0, resume ?? input.query.offset ?? 0)
        // Without an Accept header the runtime lists every type; an SSE client (EventSource) asks for that one alone.
        let accepted = input.headers.accept.map(\.contentType)
        let wantsEvents = input.query.follow == true || (accepted.contains(.textEventStream) && !accepted.contains(.plainText))
        let logs = training.logs
        if !wantsEvents {
            var text = Data()
            var position = offset
            while text.count < 64 << 20 {
                let slice = try await logs.read(id, from: position, limit: 4 << 20)
                if slice.data.isEmpty { break }
                text.append(slice.data)
                position = slice.nextOffset
            }
            return .ok(.init(body: .plainText(HTTPBody(text))))
        }
        let caller = self.caller
        let training = self.training
        let stream = LogEventStream(workloadId: id, logs: logs, from: offset, follow: true) {
            try await training.authorizeLogs(id, caller: caller).state
        }
        let sequence = AsyncThrowingStream<ArraySlice<UInt8>, any Error>(unfolding: { try await stream.next() })
        return .ok(.init(body: .textEventStream(HTTPBody(sequence, length: .unknown, iterationBehavior: .single))))
    }

    func getTrainingJobMetrics(_ input: Operations.GetTrainingJobMetrics.Input) async throws -> Operations.GetTrainingJobMetrics.Output {
        let (job, series, usage) = try await training.metrics(try Parse.id(input.path.jobId, "job_id"), caller: caller)
        let runtime = job.workload.startedMs.map { started in
            Double((job.workload.finishedMs ?? Date().epochMilliseconds) - started) / 1_000
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        jobId: job.workload.id.lowercasedString, status: .init(rawValue: job.workload.state.rawValue)!,
                        metrics: .init(additionalProperties: series.mapValues { $0.map { .init(step: $0.step, value: $0.value) } }),
                        gpuHours: job.gpuSeconds / 3_600, costActual: job.costActual, runtimeSeconds: runtime,
                        resources: usage.map {
                            .init(
                                cpuSeconds: $0.cpuSeconds, memoryBytes: Int64($0.memoryBytes), processes: $0.processes,
                                gpus: $0.gpus.isEmpty
                                    ? nil
                                    : $0.gpus.map {
                                        .init(
                                            index: $0.index, utilizationPercent: $0.utilizationPercent, memoryUsedMib: $0.memoryUsedMiB,
                                            memoryTotalMib: $0.memoryTotalMiB)
                                    })
                        }))))
    }

    static func jsonText(_ payload: (some Encodable)?) -> String {
        guard let payload, let data = try? JSONEncoder.sorted.encode(payload) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension Components.Schemas.TrainingJob.ConfigPayload: FreeFormPayload {}
extension Components.Schemas.TrainingJob.DataConfigPayload: FreeFormPayload {}

extension Components.Schemas.TrainingJob {
    init(_ job: TrainingJob) {
        let workload = job.workload
        let spec = workload.spec
        let id = workload.id.lowercasedString
        self.init(
            id: id, name: workload.name, projectId: workload.projectId.lowercasedString, ownerId: workload.ownerId?.lowercasedString,
            experimentId: job.details.experimentId?.lowercasedString, datasetId: job.details.datasetId?.lowercasedString,
            framework: job.details.framework, distributedMode: .init(rawValue: job.details.distributedMode) ?? .single,
            config: FreeForm.wire(job.details.config), dataConfig: FreeForm.wire(job.details.dataConfig),
            status: .init(rawValue: workload.state.rawValue)!, reason: workload.reason, queue: workload.queue, priority: workload.priorityClass,
            resources: .init(
                gpuType: workload.gpuType, gpuCount: workload.gpuCount, nodes: workload.nodeCount, cpu: workload.cpu,
                memoryMib: workload.memoryMiB),
            entrypoint: spec.entrypoint,
            code: .init(archive: spec.codeArchive, repository: spec.repository?.url, commit: spec.repository?.commit),
            envNames: spec.env.keys.filter { $0 != "AITIP_JOB_CONFIG" }.sorted(), isolateNetwork: spec.isolateNetwork,
            maxRuntimeSeconds: workload.maxRuntimeSeconds, maxRetries: workload.maxRetries, attempt: workload.attempt, exitCode: workload.exitCode,
            placement: workload.placements.map { .init(nodeId: $0.nodeId.lowercasedString, gpuIndices: $0.gpuIndices) },
            checkpointPath: job.details.checkpointPath, costEstimate: job.details.costEstimate, costActual: job.costActual,
            gpuHours: job.gpuSeconds / 3_600, createdAt: Date(epochMilliseconds: workload.createdMs),
            startedAt: workload.startedMs.map(Date.init(epochMilliseconds:)), finishedAt: workload.finishedMs.map(Date.init(epochMilliseconds:)),
            updatedAt: Date(epochMilliseconds: workload.updatedMs), logsUrl: "/api/v1/training/jobs/\(id)/logs",
            metricsUrl: "/api/v1/training/jobs/\(id)/metrics")
    }
}
