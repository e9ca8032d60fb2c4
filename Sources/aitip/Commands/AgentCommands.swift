import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation
import OpenAPIRuntime

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "The agent API: every operation as a tool, run with your own rights (destructive and costly ones after a confirmation).",
        subcommands: [Tools.self, Run.self, Ask.self, Get.self, Executions.self, Approvals.self, Approve.self, Reject.self])

    static let columns = ["execution_id", "tool", "status", "http_status", "confirmation_token", "error"]

    struct Tools: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The tools, with their risk and the permission each needs.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Only this area (releases, training, …).") var area: String?
        @Option(help: "Only this risk: read, write, destructive, costly.") var risk: String?
        func run() async throws {
            let risk = try risk.map { text in
                guard let value = Operations.ListAgentTools.Input.Query.RiskPayload(rawValue: text) else {
                    throw ValidationError("--risk is read, write, destructive or costly")
                }
                return value
            }
            try await ClientCall.show(options, columns: ["name", "risk", "permission", "executable", "method", "path"]) { api in
                try await api.listAgentTools(query: .init(area: area, risk: risk)).ok.body.json.tools
            }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a tool. A destructive or costly one first answers a confirmation token: run it again with --confirm TOKEN.",
            discussion: """
                Examples:
                  aitip agent run projects.list_projects --param limit=5
                  aitip agent run releases.rollback_release --param release_id=R --param reason='"bad canary"'
                  aitip agent run releases.rollback_release --param release_id=R --param reason='"bad canary"' --confirm TOKEN
                A --param value is read as JSON when it is JSON (5, true, {"cpu": 1}), else as text.
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "Tool name (aitip agent tools).") var tool: String
        @Option(help: "An argument, name=value (repeatable).") var param: [String] = []
        @Option(help: "The confirmation token a destructive or costly call answered.") var confirm: String?
        @Flag(name: .customLong("async"), help: "Answer at once and run in the background (aitip agent get ID).") var background = false
        func run() async throws {
            var arguments: [String: OpenAPIValueContainer] = [:]
            for entry in param {
                guard let equals = entry.firstIndex(of: "=") else { throw ValidationError("--param takes name=value, not '\(entry)'") }
                let value = String(entry[entry.index(after: equals)...])
                arguments[String(entry[..<equals])] =
                    (try? JSONDecoder().decode(OpenAPIValueContainer.self, from: Data(value.utf8))) ?? OpenAPIValueContainer(stringLiteral: value)
            }
            let params = try JSONDecoder().decode(OpenAPIObjectContainer.self, from: try JSONEncoder().encode(arguments))
            try await ClientCall.show(options, columns: AgentCommand.columns) { api in
                try await api.executeAgentTool(
                    body: .json(
                        .init(tool: tool, params: .init(additionalProperties: params), async: background ? true : nil, confirmationToken: confirm))
                ).ok.body.json
            }
        }
    }

    struct Ask: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say what to do in words: see the plan (the tool, its arguments, what is missing); --run runs a complete one.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "What to do, e.g. \"scale service churn-api to 3 replicas\".") var words: String
        @Option(help: "The project the words are about.") var project: String?
        @Flag(name: .customLong("run"), help: "Run the plan when nothing is missing (a destructive or costly one answers its confirmation token).")
        var execute = false
        @Option(help: "Who reads the words: auto (default), rules, or llm (the server's agent_llm_url).") var mode: String?
        func run() async throws {
            let mode = try mode.map { text in
                guard let value = Components.Schemas.AgentLanguageRequest.ModePayload(rawValue: text) else {
                    throw ValidationError("--mode is auto, rules or llm")
                }
                return value
            }
            try await ClientCall.show(options, columns: ["understood", "intent", "risk", "reader", "missing", "questions", "explanation"]) { api in
                try await api.planAgentRequest(
                    body: .json(.init(message: words, context: project.map { .init(projectId: $0) }, execute: execute ? true : nil, mode: mode))
                ).ok.body.json
            }
        }
    }

    struct Executions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Your executions, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        func run() async throws {
            try await ClientCall.show(options, columns: ["execution_id", "tool", "status", "http_status", "created_at", "error"]) { api in
                try await api.listAgentExecutions(query: .init(limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Approvals: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Agents' calls waiting for an approval you may give (your organizations' settings.agent_approval), oldest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        func run() async throws {
            try await ClientCall.show(options, columns: ["execution_id", "tool", "requested_by", "approvals_required", "created_at", "params"]) {
                api in
                try await api.listAgentApprovals(query: .init(limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve an agent's call (signed in as a person with agent:approve, not the one who asked).")
        @OptionGroup var decision: Decision
        func run() async throws { try await decision.send(approve: true) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject an agent's call waiting for approval: it ends.")
        @OptionGroup var decision: Decision
        func run() async throws { try await decision.send(approve: false) }
    }

    /// What `approve` and `reject` take.
    struct Decision: ParsableArguments {
        @OptionGroup var options: ClientOptions
        @Argument(help: "Execution id.") var id: String
        @Option(help: "Why.") var comment: String?

        func send(approve: Bool) async throws {
            try await ClientCall.show(options, columns: AgentCommand.columns) { api in
                let body = Components.Schemas.AgentDecision(comment: comment)
                return approve
                    ? try await api.approveAgentExecution(path: .init(executionId: id), body: .json(body)).ok.body.json
                    : try await api.rejectAgentExecution(path: .init(executionId: id), body: .json(body)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One of your executions, with its outcome and where to follow it.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Execution id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getAgentExecution(path: .init(executionId: id)).ok.body.json }
        }
    }
}
