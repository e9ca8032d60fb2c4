import AITIPAPI
import AITIPCore
import Evaluation
import Foundation
import OpenAPIRuntime
import Workloads

extension APIImplementation {
    var evaluation: EvaluationService { dependencies.evaluation }

    func listBenchmarks(_ input: Operations.ListBenchmarks.Input) async throws -> Operations.ListBenchmarks.Output {
        try requireInSomeOrganization(Permission(.evaluation, .read))
        return .ok(.init(body: .json(.init(items: Benchmark.catalog.map(Components.Schemas.Benchmark.init)))))
    }

    func listEvaluationJobs(_ input: Operations.ListEvaluationJobs.Input) async throws -> Operations.ListEvaluationJobs.Output {
        let query = WorkloadService.ListQuery(
            projectId: try Parse.optionalId(input.query.projectId, "project_id"), states: try Parse.workloadStates(input.query.status),
            queue: nil, limit: try PageRequest.limit(input.query.limit), cursor: input.query.cursor)
        let page = try await evaluation.list(query, caller: caller)
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.EvaluationJob.init), nextCursor: page.nextCursor))))
    }

    func createEvaluationJob(_ input: Operations.CreateEvaluationJob.Input) async throws -> Operations.CreateEvaluationJob.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let submission = WorkloadService.Submission(
            name: body.name, entrypoint: nil, gpuType: body.resources?.gpuType, gpuCount: body.resources?.gpuCount, nodes: body.resources?.nodes,
            cpu: body.resources?.cpu, memoryMiB: body.resources?.memoryMib, priorityClass: body.priority, queue: body.queue,
            maxRuntimeSeconds: body.maxRuntimeSeconds, maxRetries: 0)
        let thresholds = (body.thresholds?.additionalProperties ?? [:]).mapValues {
            MetricThreshold(
                threshold: $0.threshold, minAbsoluteChange: $0.minAbsoluteChange, minRelativeChange: $0.minRelativeChange,
                greaterIsBetter: $0.greaterIsBetter)
        }
        let job = try await evaluation.submit(
            .init(
                submission: submission, model: body.model, baseline: body.baseline, benchmark: body.benchmark,
                datasetId: try Parse.id(body.dataset.datasetId, "dataset.dataset_id"), datasetVersion: body.dataset.version,
                datasetPath: body.dataset.path, target: body.target, sliceBy: body.sliceBy ?? [], thresholds: thresholds, python: body.python,
                command: body.command, codeArchive: body.codeArchive,
                lmEval: body.lmEval.map { .init(tasks: $0.tasks, numFewshot: $0.numFewshot, limit: $0.limit, batchSize: $0.batchSize) },
                serving: body.serving.map { .init(requests: $0.requests, concurrency: $0.concurrency, batchRows: $0.batchRows, warmup: $0.warmup) }),
            project: try Parse.id(body.projectId, "project_id"), caller: caller)
        return .created(.init(body: .json(.init(job))))
    }

    func getEvaluationJob(_ input: Operations.GetEvaluationJob.Input) async throws -> Operations.GetEvaluationJob.Output {
        .ok(.init(body: .json(.init(try await evaluation.job(try Parse.id(input.path.evalId, "eval_id"), caller: caller)))))
    }

    func deleteEvaluationJob(_ input: Operations.DeleteEvaluationJob.Input) async throws -> Operations.DeleteEvaluationJob.Output {
        try await evaluation.delete(try Parse.id(input.path.evalId, "eval_id"), caller: caller)
        return .noContent(.init())
    }

    func stopEvaluationJob(_ input: Operations.StopEvaluationJob.Input) async throws -> Operations.StopEvaluationJob.Output {
        .ok(.init(body: .json(.init(try await evaluation.stop(try Parse.id(input.path.evalId, "eval_id"), caller: caller)))))
    }

    func getEvaluationResults(_ input: Operations.GetEvaluationResults.Input) async throws -> Operations.GetEvaluationResults.Output {
        let job = try await evaluation.job(try Parse.id(input.path.evalId, "eval_id"), caller: caller)
        let details = job.details
        let results = details.decodedResults
        return .ok(
            .init(
                body: .json(
                    .init(
                        jobId: details.id.lowercasedString, resultState: .init(rawValue: details.resultState.rawValue)!,
                        resultError: details.resultError, rows: results?.rows, candidate: results.map { .wire($0.candidate) },
                        baseline: results?.baseline.map(Components.Schemas.EvaluationMetricValues.wire),
                        directions: results?.directions.map { .init(additionalProperties: $0) },
                        slices: (results?.slices ?? []).map {
                            .init(
                                column: $0.column, value: $0.value, rows: $0.rows, candidate: .wire($0.candidate),
                                baseline: $0.baseline.map { .wire($0) })
                        },
                        gate: results.map { results in
                            .init(
                                passed: results.gate.passed,
                                checks: results.gate.checks.map { .init(metric: $0.metric, passed: $0.passed, reason: $0.reason) })
                        }))))
    }

    func getEvaluationReport(_ input: Operations.GetEvaluationReport.Input) async throws -> Operations.GetEvaluationReport.Output {
        let format: ReportFormat = input.query.format == .html ? .html : .pdf
        let data = try await evaluation.report(try Parse.id(input.path.evalId, "eval_id"), format: format, caller: caller)
        return .ok(.init(body: format == .html ? .html(HTTPBody(data)) : .pdf(HTTPBody(data))))
    }

    func getEvaluationJobLogs(_ input: Operations.GetEvaluationJobLogs.Input) async throws -> Operations.GetEvaluationJobLogs.Output {
        let id = try Parse.id(input.path.evalId, "eval_id")
        _ = try await evaluation.authorizeLogs(id, caller: caller)
        var text = Data()
        var position = max(0, input.query.offset ?? 0)
        while text.count < 64 << 20 {
            let slice = try await evaluation.logs.read(id, from: position, limit: 4 << 20)
            if slice.data.isEmpty { break }
            text.append(slice.data)
            position = slice.nextOffset
        }
        return .ok(.init(body: .plainText(HTTPBody(text))))
    }
}

extension Components.Schemas.EvaluationMetricValues {
    static func wire(_ values: [String: MetricValue]) -> Self {
        .init(additionalProperties: values.mapValues { .init(value: $0.value, ciLow: $0.ciLow, ciHigh: $0.ciHigh) })
    }
}

extension Components.Schemas.Benchmark {
    init(_ benchmark: Benchmark) {
        self.init(
            name: benchmark.name, version: benchmark.version, title: benchmark.title, task: benchmark.task,
            runner: .init(rawValue: benchmark.runner.rawValue)!, description: benchmark.description,
            metrics: benchmark.metrics.map { .init(name: $0.name, greaterIsBetter: $0.greaterIsBetter, description: $0.description) })
    }
}

extension Components.Schemas.EvaluationJob {
    init(_ job: EvaluationJob) {
        let (workload, details) = (job.workload, job.details)
        let id = workload.id.lowercasedString
        self.init(
            id: id, name: workload.name, projectId: workload.projectId.lowercasedString, ownerId: workload.ownerId?.lowercasedString,
            status: .init(rawValue: workload.state.rawValue)!, reason: workload.reason, model: details.modelURI,
            modelVersionId: details.modelVersionId.lowercasedString, baseline: details.baselineURI, baselineReason: details.baselineReason,
            benchmark: details.benchmark, benchmarkVersion: details.benchmarkVersion,
            dataset: .init(
                datasetId: details.datasetId.lowercasedString, name: details.datasetName, version: details.datasetVersion,
                path: details.datasetPath.isEmpty ? nil : details.datasetPath,
                sha256: details.datasetSha256),
            target: details.targetColumn.isEmpty ? nil : details.targetColumn, sliceBy: details.decodedSliceColumns,
            thresholds: .init(
                additionalProperties: details.decodedThresholds.mapValues {
                    .init(
                        threshold: $0.threshold, minAbsoluteChange: $0.minAbsoluteChange, minRelativeChange: $0.minRelativeChange,
                        greaterIsBetter: $0.greaterIsBetter)
                }),
            resultState: .init(rawValue: details.resultState.rawValue)!, gatePassed: details.gatePassed, resultError: details.resultError,
            runId: details.runId?.lowercasedString,
            resources: .init(
                gpuType: workload.gpuType, gpuCount: workload.gpuCount, nodes: workload.nodeCount, cpu: workload.cpu, memoryMib: workload.memoryMiB),
            entrypoint: workload.spec.entrypoint, createdAt: Date(epochMilliseconds: workload.createdMs),
            startedAt: workload.startedMs.map(Date.init(epochMilliseconds:)), finishedAt: workload.finishedMs.map(Date.init(epochMilliseconds:)),
            completedAt: details.completedMs.map(Date.init(epochMilliseconds:)), updatedAt: Date(epochMilliseconds: workload.updatedMs),
            resultsUrl: "/api/v1/evaluation/jobs/\(id)/results", reportUrl: "/api/v1/evaluation/jobs/\(id)/report",
            logsUrl: "/api/v1/evaluation/jobs/\(id)/logs")
    }
}

extension APIImplementation {
    /// For what belongs to no project (a catalog): the permission in any organization of the caller will do.
    func requireInSomeOrganization(_ permission: Permission) throws {
        let principal = try caller.requirePrincipal()
        guard principal.visibleOrgIds.contains(where: { principal.permissions(in: $0).contains(permission) }) else {
            throw AppError.forbidden("You need the '\(permission)' permission for this action")
        }
    }
}
