import AITIPAPI
import AITIPCore
import Agent
import Foundation
import OpenAPIRuntime

extension APIImplementation {
    var agent: AgentService { dependencies.agent }

    func listAgentTools(_ input: Operations.ListAgentTools.Input) async throws -> Operations.ListAgentTools.Output {
        _ = try caller.requirePrincipal()
        let tools = agent.registry.tools.filter { tool in
            (input.query.area.map { $0 == tool.area } ?? true) && (input.query.risk.map { $0.rawValue == tool.risk.rawValue } ?? true)
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        tools: try tools.map(Components.Schemas.AgentTool.init),
                        areas: Array(Set(agent.registry.tools.map(\.area))).sorted()))))
    }

    func executeAgentTool(_ input: Operations.ExecuteAgentTool.Input) async throws -> Operations.ExecuteAgentTool.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let arguments = try body.params.map { try JSONValue.from($0.additionalProperties) } ?? [:]
        let outcome = try await agent.execute(
            .init(
                tool: body.tool, arguments: arguments, asynchronous: body.async ?? false, confirmationToken: body.confirmationToken,
                callbackURL: body.callbackUrl, callbackSecret: body.callbackSecret),
            bearer: RequestScope.bearer, caller: caller)
        return .ok(.init(body: .json(try .init(outcome.execution, tool: outcome.tool, token: outcome.confirmationToken, registry: agent.registry))))
    }

    func planAgentRequest(_ input: Operations.PlanAgentRequest.Input) async throws -> Operations.PlanAgentRequest.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let plan = try await agent.naturalLanguage(
            body.message, projectId: try body.context?.projectId.map { try Parse.id($0, "context.project_id") }, execute: body.execute ?? false,
            reader: body.mode.flatMap { AgentService.Reader(rawValue: $0.rawValue) } ?? .auto, bearer: RequestScope.bearer, caller: caller)
        let params = try JSONDecoder().decode(OpenAPIObjectContainer.self, from: JSONEncoder().encode(plan.arguments))
        return .ok(
            .init(
                body: .json(
                    .init(
                        understood: plan.understood, intent: plan.tool?.name, risk: plan.tool.map { .init(rawValue: $0.risk.rawValue)! },
                        params: .init(additionalProperties: params), missing: plan.missing, questions: plan.questions,
                        confirmationRequired: plan.tool?.risk.needsConfirmation ?? false, explanation: plan.explanation,
                        reader: .init(rawValue: plan.reader.rawValue),
                        execution: try plan.outcome.map {
                            try .init($0.execution, tool: $0.tool, token: $0.confirmationToken, registry: agent.registry)
                        }))))
    }

    func listAgentExecutions(_ input: Operations.ListAgentExecutions.Input) async throws -> Operations.ListAgentExecutions.Output {
        let page = try await agent.executions(page: try PageRequest(limit: input.query.limit, cursor: input.query.cursor), caller: caller)
        return .ok(.init(body: .json(try executionList(page))))
    }

    func getAgentExecution(_ input: Operations.GetAgentExecution.Input) async throws -> Operations.GetAgentExecution.Output {
        let (execution, tool) = try await agent.execution(try Parse.id(input.path.executionId, "execution_id"), caller: caller)
        return .ok(.init(body: .json(try .init(execution, tool: tool, token: nil, registry: agent.registry))))
    }

    func listAgentApprovals(_ input: Operations.ListAgentApprovals.Input) async throws -> Operations.ListAgentApprovals.Output {
        let page = try await agent.pendingApprovals(page: try PageRequest(limit: input.query.limit, cursor: input.query.cursor), caller: caller)
        return .ok(.init(body: .json(try executionList(page))))
    }

    func approveAgentExecution(_ input: Operations.ApproveAgentExecution.Input) async throws -> Operations.ApproveAgentExecution.Output {
        let comment: String? = if case .json(let body)? = input.body { body.comment } else { nil }
        return .ok(.init(body: .json(try await decide(input.path.executionId, approve: true, comment: comment))))
    }

    func rejectAgentExecution(_ input: Operations.RejectAgentExecution.Input) async throws -> Operations.RejectAgentExecution.Output {
        let comment: String? = if case .json(let body)? = input.body { body.comment } else { nil }
        return .ok(.init(body: .json(try await decide(input.path.executionId, approve: false, comment: comment))))
    }

    func serveAgentMCP(_ input: Operations.ServeAgentMCP.Input) async throws -> Operations.ServeAgentMCP.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send one JSON-RPC message as a JSON object") }
        guard let bearer = RequestScope.bearer else { throw AppError.unauthorized("MCP acts with your bearer token or API key: send one") }
        let dispatcher = dependencies.agentDispatcher
        let session = MCPSession { method, target, body in try await dispatcher.dispatch(method: method, target: target, body: body, bearer: bearer) }
        let message = try JSONEncoder().encode(body)
        let answer = await session.handle(message)
        let request = (try? JSONSerialization.jsonObject(with: message)) as? [String: Any]
        if request?["method"] as? String == "tools/call" {
            try await agent.recordMCPCall((request?["params"] as? [String: Any])?["name"] as? String ?? "", caller: caller)
        }
        guard let answer else { return .accepted(.init()) }
        return .ok(.init(body: .json(.init(additionalProperties: try JSONDecoder().decode(OpenAPIObjectContainer.self, from: answer)))))
    }

    private func executionList(_ page: Page<AgentExecution>) throws -> Components.Schemas.AgentExecutionList {
        .init(
            items: try page.items.map { try .init($0, tool: agent.registry.tool(named: $0.tool), token: nil, registry: agent.registry) },
            nextCursor: page.nextCursor)
    }

    private func decide(_ id: String, approve: Bool, comment: String?) async throws -> Components.Schemas.AgentExecution {
        let execution = try await agent.decide(try Parse.id(id, "execution_id"), approve: approve, comment: comment, caller: caller)
        return try .init(execution, tool: agent.registry.tool(named: execution.tool), token: nil, registry: agent.registry)
    }
}

extension JSONValue {
    /// A free-form object of the generated types, as the domain's JSON.
    static func from(_ container: OpenAPIObjectContainer) throws -> [String: JSONValue] {
        try JSONDecoder().decode([String: JSONValue].self, from: try JSONEncoder().encode(container))
    }
}

extension Components.Schemas.AgentTool {
    init(_ tool: AgentTool) throws {
        self.init(
            name: tool.name, area: tool.area, operationId: tool.operationId, method: tool.method, path: tool.path, description: tool.description,
            parameters: .init(
                additionalProperties: try JSONDecoder().decode(OpenAPIObjectContainer.self, from: JSONEncoder().encode(tool.parameters))),
            risk: .init(rawValue: tool.risk.rawValue)!, permission: tool.permission, executable: tool.notExecutable == nil,
            notExecutable: tool.notExecutable)
    }
}

extension Components.Schemas.AgentExecution {
    init(_ execution: AgentExecution, tool: AgentTool?, token: String?, registry: ToolRegistry) throws {
        var monitoring = ["execution_url": "/api/v1/agent/executions/\(execution.id.lowercasedString)"]
        if let tool, execution.status == .succeeded {
            monitoring.merge(registry.links(after: tool, result: execution.result)) { $1 }
        }
        let result = try execution.result.flatMap { text in
            try? JSONDecoder().decode(OpenAPIValueContainer.self, from: Data(text.utf8))
        }
        self.init(
            executionId: execution.id.lowercasedString, tool: execution.tool, status: .init(rawValue: execution.status.rawValue)!,
            risk: .init(rawValue: (tool?.risk ?? .write).rawValue)!,
            params: .init(additionalProperties: try JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data(execution.arguments.utf8))),
            requestedBy: execution.userId.lowercasedString, orgId: execution.orgId?.lowercasedString,
            approvalRequired: execution.approvalsRequired > 0, approvalsRequired: execution.approvalsRequired,
            approvals: execution.decisions.map {
                .init(
                    userId: $0.userId.lowercasedString, username: $0.username, approved: $0.approved, comment: $0.comment,
                    at: Date(epochMilliseconds: $0.atMs))
            },
            async: execution.asynchronous,
            confirmationRequired: [.awaitingConfirmation, .awaitingApproval].contains(execution.status), confirmationToken: token,
            confirmBefore: [.awaitingConfirmation, .awaitingApproval].contains(execution.status)
                ? execution.confirmBeforeMs.map(Date.init(epochMilliseconds:)) : nil,
            httpStatus: execution.httpStatus, result: result, error: execution.error, callbackStatus: execution.callbackStatus,
            createdAt: Date(epochMilliseconds: execution.createdMs), finishedAt: execution.finishedMs.map(Date.init(epochMilliseconds:)),
            monitoring: .init(additionalProperties: monitoring))
    }
}
