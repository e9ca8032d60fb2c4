import AITIPAPI
import AITIPCore
import Foundation
import OpenAPIRuntime
import TestPlans
import Workloads

extension APIImplementation {
    var testPlans: TestPlanService { dependencies.testPlans }

    func listTestPlans(_ input: Operations.ListTestPlans.Input) async throws -> Operations.ListTestPlans.Output {
        let page = try await testPlans.plans(
            project: try Parse.id(input.query.projectId, "project_id"), page: try PageRequest(limit: input.query.limit, cursor: input.query.cursor),
            caller: caller)
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.TestPlan.init), nextCursor: page.nextCursor))))
    }

    func createTestPlan(_ input: Operations.CreateTestPlan.Input) async throws -> Operations.CreateTestPlan.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let plan = try await testPlans.create(
            .init(
                name: body.name, description: body.description, testType: body.testType?.rawValue, config: .init(wire: body.config),
                schedule: body.schedule), project: try Parse.id(body.projectId, "project_id"), caller: caller)
        return .created(.init(body: .json(.init(plan))))
    }

    func getTestPlan(_ input: Operations.GetTestPlan.Input) async throws -> Operations.GetTestPlan.Output {
        .ok(.init(body: .json(.init(try await testPlans.plan(try Parse.id(input.path.planId, "plan_id"), caller: caller)))))
    }

    func updateTestPlan(_ input: Operations.UpdateTestPlan.Input) async throws -> Operations.UpdateTestPlan.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let plan = try await testPlans.update(
            try Parse.id(input.path.planId, "plan_id"),
            .init(
                name: body.name, description: body.description, testType: body.testType?.rawValue,
                config: body.config.map(TestPlan.Config.init(wire:)),
                schedule: body.schedule.map { $0.isEmpty ? String?.none : $0 }), caller: caller)
        return .ok(.init(body: .json(.init(plan))))
    }

    func deleteTestPlan(_ input: Operations.DeleteTestPlan.Input) async throws -> Operations.DeleteTestPlan.Output {
        try await testPlans.delete(try Parse.id(input.path.planId, "plan_id"), caller: caller)
        return .noContent(.init())
    }

    func executeTestPlan(_ input: Operations.ExecuteTestPlan.Input) async throws -> Operations.ExecuteTestPlan.Output {
        let execution = try await testPlans.execute(try Parse.id(input.path.planId, "plan_id"), caller: caller)
        return .created(.init(body: .json(try await wire(execution.id))))
    }

    func rotateTestPlanWebhook(_ input: Operations.RotateTestPlanWebhook.Input) async throws -> Operations.RotateTestPlanWebhook.Output {
        let webhook = try await testPlans.rotateWebhook(try Parse.id(input.path.planId, "plan_id"), caller: caller)
        return .created(.init(body: .json(.init(url: webhook.path, secret: webhook.secret))))
    }

    func removeTestPlanWebhook(_ input: Operations.RemoveTestPlanWebhook.Input) async throws -> Operations.RemoveTestPlanWebhook.Output {
        try await testPlans.removeWebhook(try Parse.id(input.path.planId, "plan_id"), caller: caller)
        return .noContent(.init())
    }

    func triggerTestPlan(_ input: Operations.TriggerTestPlan.Input) async throws -> Operations.TriggerTestPlan.Output {
        // BodyLimitMiddleware has bounded the body (max_body_bytes) before this runs.
        var body = Data()
        if case .any(let stream) = input.body { body = try await Data(collecting: stream, upTo: .max) }
        let delivery = TestPlanService.Delivery(
            body: body, hubSignature: input.headers.xHubSignature256, gitlabToken: input.headers.xGitlabToken)
        let (execution, workload, started) = try await testPlans.trigger(try Parse.id(input.path.planId, "plan_id"), delivery, caller: caller)
        let wire = Components.Schemas.TestExecution(execution, workload: workload.map { ($0.state, $0.reason, nil, nil) })
        return started ? .accepted(.init(body: .json(wire))) : .ok(.init(body: .json(wire)))
    }

    func reportTestResults(_ input: Operations.ReportTestResults.Input) async throws -> Operations.ReportTestResults.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let execution = try await testPlans.report(
            try Parse.id(input.path.planId, "plan_id"), junit: body.junitXml, coverage: body.coverageXml, caller: caller)
        return .created(.init(body: .json(.init(execution, workload: nil))))
    }

    func listTestCaseHistory(_ input: Operations.ListTestCaseHistory.Input) async throws -> Operations.ListTestCaseHistory.Output {
        var history = try await testPlans.caseHistory(
            plan: try Parse.id(input.path.planId, "plan_id"), executions: input.query.executions ?? 10, caller: caller)
        if input.query.flaky == true { history = history.filter(\.flaky) }
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: history.map { item in
                            .init(
                                suite: item.suite, classname: item.classname, name: item.name, flaky: item.flaky, flips: item.flips,
                                outcomes: item.outcomes.map {
                                    .init(
                                        executionId: $0.execution.lowercasedString, status: .init(rawValue: $0.status.rawValue)!, message: $0.message)
                                })
                        }))))
    }

    func listTestExecutions(_ input: Operations.ListTestExecutions.Input) async throws -> Operations.ListTestExecutions.Output {
        let page = try await testPlans.executions(
            plan: try Parse.optionalId(input.query.planId, "plan_id"), project: try Parse.optionalId(input.query.projectId, "project_id"),
            limit: try PageRequest.limit(input.query.limit), cursor: input.query.cursor, caller: caller)
        let workloads = Dictionary(
            uniqueKeysWithValues: try await testPlans.workloads.summaries(page.items.compactMap(\.workloadId)).map { ($0.id, $0) })
        return .ok(
            .init(
                body: .json(
                    .init(
                        items: page.items.map { execution in
                            .init(execution, workload: execution.workloadId.flatMap { workloads[$0] }.map { ($0.state, $0.reason, nil, nil) })
                        }, nextCursor: page.nextCursor))))
    }

    func getTestExecution(_ input: Operations.GetTestExecution.Input) async throws -> Operations.GetTestExecution.Output {
        .ok(.init(body: .json(try await wire(try Parse.id(input.path.executionId, "execution_id")))))
    }

    func stopTestExecution(_ input: Operations.StopTestExecution.Input) async throws -> Operations.StopTestExecution.Output {
        let id = try Parse.id(input.path.executionId, "execution_id")
        let (execution, _, _) = try await testPlans.execution(id, caller: caller)
        guard let workloadId = execution.workloadId else {
            throw AppError.conflict("This execution was reported from outside; there is nothing to stop")
        }
        _ = try await testPlans.workloads.stop(workloadId, of: TestPlanService.kind, caller: caller)
        return .ok(.init(body: .json(try await wire(id))))
    }

    func getTestExecutionResults(_ input: Operations.GetTestExecutionResults.Input) async throws -> Operations.GetTestExecutionResults.Output {
        let (execution, cases) = try await testPlans.cases(of: try Parse.id(input.path.executionId, "execution_id"), caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        executionId: execution.id.lowercasedString, resultState: .init(rawValue: execution.resultState.rawValue)!,
                        items: cases.map {
                            .init(
                                suite: $0.suite, classname: $0.classname, name: $0.name, status: .init(rawValue: $0.status.rawValue)!,
                                durationMs: $0.durationMs, message: $0.message)
                        }))))
    }

    func getTestExecutionReport(_ input: Operations.GetTestExecutionReport.Input) async throws -> Operations.GetTestExecutionReport.Output {
        let format: ReportFormat = input.query.format == .html ? .html : .pdf
        let data = try await testPlans.reportPage(try Parse.id(input.path.executionId, "execution_id"), format: format, caller: caller)
        return .ok(.init(body: format == .html ? .html(HTTPBody(data)) : .pdf(HTTPBody(data))))
    }

    func getTestExecutionLogs(_ input: Operations.GetTestExecutionLogs.Input) async throws -> Operations.GetTestExecutionLogs.Output {
        let (execution, _, _) = try await testPlans.execution(try Parse.id(input.path.executionId, "execution_id"), caller: caller)
        var text = Data()
        var position = max(0, input.query.offset ?? 0)
        while let workloadId = execution.workloadId, text.count < 64 << 20 {
            let slice = try await testPlans.workloads.logs.read(workloadId, from: position, limit: 4 << 20)
            if slice.data.isEmpty { break }
            text.append(slice.data)
            position = slice.nextOffset
        }
        return .ok(.init(body: .plainText(HTTPBody(text))))
    }

    private func wire(_ id: UUID) async throws -> Components.Schemas.TestExecution {
        let (execution, _, workload) = try await testPlans.execution(id, caller: caller)
        return .init(execution, workload: workload.map { ($0.state, $0.reason, $0.startedMs, $0.finishedMs) })
    }
}

extension TestPlan.Config {
    init(wire config: Components.Schemas.TestPlanConfig) {
        self.init(
            command: config.command, codeArchive: config.codeArchive, env: config.env?.additionalProperties ?? [:], junitPath: config.junitPath,
            coveragePath: config.coveragePath, cpu: config.cpu, memoryMiB: config.memoryMib, maxRuntimeSeconds: config.maxRuntimeSeconds)
    }
}

extension Components.Schemas.TestPlan {
    init(_ plan: TestPlan) {
        let config = plan.decodedConfig
        self.init(
            id: plan.id.lowercasedString, projectId: plan.projectId.lowercasedString, ownerId: plan.ownerId?.lowercasedString, name: plan.name,
            description: plan.description, testType: plan.testType,
            config: .init(
                command: config?.command ?? "", codeArchive: config?.codeArchive,
                env: config.map { $0.env.isEmpty ? nil : .init(additionalProperties: $0.env) } ?? nil, junitPath: config?.junitPath,
                coveragePath: config?.coveragePath, cpu: config?.cpu, memoryMib: config?.memoryMiB, maxRuntimeSeconds: config?.maxRuntimeSeconds),
            schedule: plan.schedule, nextRunAt: plan.nextRunMs.map(Date.init(epochMilliseconds:)), createdAt: Date(epochMilliseconds: plan.createdMs),
            updatedAt: Date(epochMilliseconds: plan.updatedMs))
    }
}

extension Components.Schemas.TestExecution {
    /// `workload`: the state, reason, start and end of the workload that ran it, when aitip ran it.
    init(_ execution: TestExecution, workload: (state: WorkloadState, reason: String, startedMs: Int64?, finishedMs: Int64?)?) {
        let status: StatusPayload
        switch execution.resultState {
        case .ready: status = .completed
        case .failed: status = .failed
        case .pending: status = [.starting, .running].contains(workload?.state) || workload?.state.isFinal == true ? .running : .pending
        }
        let id = execution.id.lowercasedString
        self.init(
            id: id, planId: execution.planId.lowercasedString, projectId: execution.projectId.lowercasedString,
            triggerType: .init(rawValue: execution.triggerType) ?? .manual, triggeredBy: execution.triggeredBy?.lowercasedString, status: status,
            workloadStatus: workload.flatMap { .init(rawValue: $0.state.rawValue) }, reason: workload?.reason,
            resultState: .init(rawValue: execution.resultState.rawValue)!, resultError: execution.resultError, exitCode: execution.exitCode,
            passed: execution.resultState == .ready ? execution.failedCases == 0 : nil, totalCases: execution.totalCases,
            passedCases: execution.passedCases, failedCases: execution.failedCases, skippedCases: execution.skippedCases,
            coveragePercent: execution.coveragePercent, durationSeconds: execution.durationSeconds,
            createdAt: Date(epochMilliseconds: execution.createdMs), startedAt: workload?.startedMs.map(Date.init(epochMilliseconds:)),
            endedAt: (workload?.finishedMs ?? execution.completedMs).map(Date.init(epochMilliseconds:)),
            resultsUrl: "/api/v1/test/executions/\(id)/results",
            reportUrl: "/api/v1/test/executions/\(id)/report", logsUrl: execution.workloadId == nil ? nil : "/api/v1/test/executions/\(id)/logs")
    }
}
