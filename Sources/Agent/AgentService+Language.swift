import AITIPCore
import Foundation
import Identity

/// `agent/natural-language`: a request in words read by `IntentParser` into a tool and its arguments, the names in it
/// looked up as the caller (through the same front door as the tools, so a name the caller may not see is not found),
/// and what is still missing asked for. It shows the plan; it runs it only when asked and nothing is missing, and then
/// as `execute` does (a destructive or costly tool still waits for its confirmation).
extension AgentService {
    package struct Plan: Sendable {
        package var understood: Bool
        package var tool: AgentTool?
        package var arguments: [String: JSONValue]
        package var missing: [String]
        package var questions: [String]
        package var explanation: String
        package var outcome: Outcome?
        /// What read the words: the rules, or the configured language model.
        package var reader: Reader = .rules
    }

    /// Who reads the words: `rules` (`IntentParser`), `llm` (the configured `LanguageModel`), or `auto` — the rules,
    /// and the model when the rules read nothing and one is configured.
    package enum Reader: String, Sendable { case auto, rules, llm }

    package func naturalLanguage(
        _ message: String, projectId: UUID?, execute: Bool, reader: Reader = .auto, bearer: String?, caller: Caller
    ) async throws -> Plan {
        _ = try caller.requirePrincipal()
        var validator = Validator()
        validator.check(!message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "message", "is empty")
        validator.check(message.count <= 2_000, "message", "is longer than 2,000 characters")
        validator.check(reader != .llm || languageModel != nil, "mode", "llm needs a language model: the server's agent_llm_url is not set")
        try validator.finish()
        guard let bearer else { throw AppError.unauthorized("The agent API acts with your bearer token or API key: send one") }
        var readBy = Reader.rules
        var found = reader == .llm ? nil : IntentParser.read(message).flatMap { registry.tool(named: $0.intent) != nil ? $0 : nil }
        var unreadable = [
            "What should be done? For example: \"list the datasets\", \"scale service churn-api to 3 replicas\", \"roll back release ranker\"."
        ]
        var ignored: [String] = []
        if found == nil, reader != .rules, let languageModel {
            readBy = .llm
            switch try await languageModel.read(message, tools: registry.tools) {
            case .call(let name, let arguments):
                if let tool = registry.tool(named: name), tool.notExecutable == nil {
                    (found, ignored) = Self.reading(tool, arguments)
                } else {
                    unreadable = ["The language model proposed \(name), which is not a tool it may run: say it another way."]
                }
            case .words(let text):
                if !text.isEmpty { unreadable = [text] }
            }
        }
        guard let reading = found, let tool = registry.tool(named: reading.intent) else {
            let plan = Plan(
                understood: false, tool: nil, arguments: [:], missing: [], questions: unreadable,
                explanation: "No operation reads from these words.", outcome: nil, reader: readBy)
            try await recordPlan(message, plan: plan, caller: caller)
            return plan
        }
        var arguments = reading.arguments
        var questions: [String] = []
        let properties = Self.properties(of: tool)
        let needsProject = properties.contains("project_id") || reading.references.values.contains { $0.kind != .project }
        var project = projectId
        if project == nil, case .string(let given)? = arguments["project_id"] { project = UUID(uuidString: given) }
        if needsProject, project == nil {
            if let name = reading.project {
                project = try await lookUp(.project, name, project: nil, bearer: bearer)
                if project == nil { questions.append("There is no project named \(name) that you can see: which project?") }
            } else {
                let all = try await names(of: .project, project: nil, bearer: bearer)
                if all.count == 1 {
                    project = all[0].id
                } else {
                    questions.append("Which project? (give context.project_id, or say \"in project <name>\")")
                }
            }
        }
        if properties.contains("project_id"), arguments["project_id"] == nil, let project {
            arguments["project_id"] = .string(project.lowercasedString)
        }
        for (argument, reference) in reading.references.sorted(by: { $0.key < $1.key }) {
            guard let project else { break }
            guard let id = try await lookUp(reference.kind, reference.name, project: project, bearer: bearer) else {
                questions.append("There is no \(reference.kind.rawValue) named \(reference.name) in this project: which one?")
                continue
            }
            arguments[argument] = argument == "dataset" ? .object(["dataset_id": .string(id.lowercasedString)]) : .string(id.lowercasedString)
        }
        let missing = Self.required(of: tool).filter { arguments[$0] == nil }
        for name in missing
        where !questions.contains(where: { $0.contains("which") && $0.lowercased().contains(name.replacingOccurrences(of: "_id", with: "")) }) {
            questions.append("What \(name.replacingOccurrences(of: "_", with: " ")) should \(tool.name) use?")
        }
        let risk = tool.risk.needsConfirmation ? " It is \(tool.risk.rawValue): it runs after a confirmation." : ""
        let model =
            readBy == .llm
            ? " Read by the language model \(languageModel?.model ?? "")\(ignored.isEmpty ? "" : "; it gave arguments the tool does not take, left out: \(ignored.joined(separator: ", "))")."
            : ""
        var plan = Plan(
            understood: true, tool: tool, arguments: arguments, missing: missing, questions: questions,
            explanation: "\(tool.name): \(tool.method) \(tool.path).\(risk)\(model)", outcome: nil, reader: readBy)
        try await recordPlan(message, plan: plan, caller: caller)
        if execute, missing.isEmpty, questions.isEmpty {
            plan.outcome = try await self.execute(Request(tool: tool.name, arguments: arguments), bearer: bearer, caller: caller)
        }
        return plan
    }

    /// A language model's call as a reading: arguments the tool does not take left out (and named), and names given
    /// where an id belongs (`dataset_id: "reviews"`) turned into references, looked up as the caller like the rules'.
    package static func reading(_ tool: AgentTool, _ arguments: [String: JSONValue]) -> (IntentParser.Reading, ignored: [String]) {
        let properties = properties(of: tool)
        var reading = IntentParser.Reading(intent: tool.name, arguments: [:], references: [:], project: nil)
        var ignored: [String] = []
        for (name, value) in arguments.sorted(by: { $0.key < $1.key }) {
            guard properties.contains(name) else {
                ignored.append(name)
                continue
            }
            if case .string(let text) = value, name.hasSuffix("_id"), UUID(uuidString: text) == nil, let kind = Self.kind(ofArgument: name) {
                if kind == .project { reading.project = text } else { reading.references[name] = .init(kind: kind, name: text) }
                continue
            }
            reading.arguments[name] = value
        }
        return (reading, ignored)
    }

    /// What an id argument refers to, by its name.
    static func kind(ofArgument name: String) -> IntentParser.Kind? {
        switch name {
        case "project_id": .project
        case "dataset_id": .dataset
        case "service_id", "canary_service_id", "parent_service_id": .service
        case "release_id": .release
        case "plan_id": .plan
        case "job_id": .job
        case "env_id", "environment_id": .environment
        case "experiment_id": .experiment
        default: nil
        }
    }

    /// Who asked what, and how it was read (`agent.plan`).
    private func recordPlan(_ message: String, plan: Plan, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try await database.transaction { sql in
            try await audit.record(
                on: sql, caller, orgId: principal.defaultOrgId, action: "agent.plan", targetType: "agent_tool", targetId: plan.tool?.name,
                detail:
                    "\"\(message.prefix(300))\" → \(plan.tool?.name ?? "not understood") (\(plan.reader.rawValue))\(plan.missing.isEmpty ? "" : "; missing \(plan.missing.joined(separator: ", "))")"
            )
        }
    }

    /// The id of the thing of `kind` named `name` that the caller can see (the newest when several share it).
    private func lookUp(_ kind: IntentParser.Kind, _ name: String, project: UUID?, bearer: String) async throws -> UUID? {
        try await names(of: kind, project: project, bearer: bearer).first { $0.name.lowercased() == name.lowercased() }?.id
    }

    private func names(of kind: IntentParser.Kind, project: UUID?, bearer: String) async throws -> [(id: UUID, name: String)] {
        let scope = project?.lowercasedString ?? ""
        let target =
            switch kind {
            case .project: "/api/v1/projects?limit=500"
            case .dataset: "/api/v1/projects/\(scope)/datasets?limit=500"
            case .service: "/api/v1/inference/services?project_id=\(scope)&limit=500"
            case .release: "/api/v1/releases?project_id=\(scope)&limit=500"
            case .plan: "/api/v1/test/plans?project_id=\(scope)&limit=500"
            case .job: "/api/v1/training/jobs?project_id=\(scope)&limit=500"
            case .environment: "/api/v1/simulation/environments?project_id=\(scope)&limit=500"
            case .experiment: "/api/v1/projects/\(scope)/experiments?limit=500"
            }
        let (status, body) = try await dispatch("GET", target, nil, bearer)
        guard (200..<300).contains(status), case .object(let page)? = try? JSONDecoder().decode(JSONValue.self, from: body),
            case .array(let items)? = page["items"]
        else { return [] }
        return items.compactMap { item in
            guard case .object(let fields) = item, case .string(let id)? = fields["id"], let uuid = UUID(uuidString: id),
                case .string(let name)? = fields["name"]
            else { return nil }
            return (uuid, name)
        }
    }

    static func properties(of tool: AgentTool) -> Set<String> {
        guard case .object(let schema) = tool.parameters, case .object(let properties)? = schema["properties"] else { return [] }
        return Set(properties.keys)
    }

    static func required(of tool: AgentTool) -> [String] {
        guard case .object(let schema) = tool.parameters, case .array(let names)? = schema["required"] else { return [] }
        return names.compactMap { if case .string(let name) = $0 { name } else { nil } }
    }
}
