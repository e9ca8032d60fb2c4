import AITIPCore
import Crypto
import Events
import Foundation
import Identity
import Logging
import SQLKit
import Storage

/// The agent API (design §4.1–4.2): every operation of the API as a tool (`ToolRegistry`), run for the caller with
/// the caller's own credential — the call goes through the server's front door like any other request, so exactly
/// the caller's rights, budgets and audit apply, never more. Destructive and costly tools wait for a confirmation
/// token; every execution is recorded and audited (`agent.execute`) with the tool, the arguments and the outcome; an
/// asynchronous one answers at once, and its result is read later or POSTed, signed, to a callback URL.
package struct AgentService: Sendable {
    /// Sends one API request as the caller (App: over loopback to this server). Answers the status and the body.
    package typealias Dispatch = @Sendable (_ method: String, _ target: String, _ body: Data?, _ bearer: String) async throws -> (Int, Data)

    package static let maxResultBytes = 256 * 1_024
    /// How long a confirmation token is good for.
    package static let confirmationSeconds: Int64 = 600

    let database: Database
    let clock: any Clock
    let audit: AuditLog
    package let registry: ToolRegistry
    let dispatch: Dispatch
    let webhooks: WebhookService.Configuration
    /// Read for the organizations' approval policies (`AgentService+Approvals`).
    let organizations: OrganizationService
    /// The optional reader of words (`agent_llm_url`); nil: the rules only.
    let languageModel: LanguageModel?
    let logger: Logger

    package init(
        database: Database, clock: any Clock, audit: AuditLog, registry: ToolRegistry, dispatch: @escaping Dispatch,
        webhooks: WebhookService.Configuration, organizations: OrganizationService, languageModel: LanguageModel? = nil, logger: Logger
    ) {
        self.database = database
        self.clock = clock
        self.audit = audit
        self.registry = registry
        self.dispatch = dispatch
        self.organizations = organizations
        self.languageModel = languageModel
        self.webhooks = webhooks
        self.logger = logger
    }

    /// What `execute` was asked.
    package struct Request: Sendable {
        package var tool: String
        package var arguments: [String: JSONValue]
        package var asynchronous: Bool
        package var confirmationToken: String?
        package var callbackURL: String?
        package var callbackSecret: String?

        package init(
            tool: String, arguments: [String: JSONValue], asynchronous: Bool = false, confirmationToken: String? = nil,
            callbackURL: String? = nil, callbackSecret: String? = nil
        ) {
            self.tool = tool
            self.arguments = arguments
            self.asynchronous = asynchronous
            self.confirmationToken = confirmationToken
            self.callbackURL = callbackURL
            self.callbackSecret = callbackSecret
        }
    }

    /// An execution as answered: with the confirmation token once, when one is asked for.
    package struct Outcome: Sendable {
        package var execution: AgentExecution
        package var confirmationToken: String?
        package var tool: AgentTool
    }

    package func execute(_ request: Request, bearer: String?, caller: Caller) async throws -> Outcome {
        let principal = try caller.requirePrincipal()
        guard let tool = registry.tool(named: request.tool) else {
            throw AppError.validation([FieldError(field: "tool", message: "'\(request.tool)' is not a tool: GET /api/v1/agent/tools lists them")])
        }
        if let reason = tool.notExecutable { throw AppError.badRequest("\(tool.name) cannot run through the agent API: \(reason)") }
        guard let bearer else { throw AppError.unauthorized("The agent API acts with your bearer token or API key: send one") }
        let arguments = try Self.canonical(request.arguments)
        _ = try Self.httpRequest(for: tool, arguments: request.arguments) // refuses missing or unknown arguments before anything is stored
        if let url = request.callbackURL {
            do { _ = try OutboundURL.validate(url, allowPrivate: webhooks.allowPrivateAddresses) } catch {
                throw AppError.validation([FieldError(field: "callback_url", message: error.detail)])
            }
        }
        let now = clock.now().epochMilliseconds
        var execution: AgentExecution
        let orgId = await organization(of: request.arguments, principal: principal, bearer: bearer)
        let approvals = try await approvalsRequired(for: tool, in: orgId)
        if tool.risk.needsConfirmation || approvals > 0 {
            guard let token = request.confirmationToken else {
                let token = IDGenerator.random().lowercasedString + IDGenerator.random().lowercasedString
                let waitSeconds = approvals > 0 ? Self.approvalSeconds : Self.confirmationSeconds
                let pending = AgentExecution(
                    id: IDGenerator.uuidV7(at: clock.now()), orgId: orgId, userId: principal.userId, apiKeyId: principal.apiKeyId,
                    tool: tool.name, arguments: arguments, status: approvals > 0 ? .awaitingApproval : .awaitingConfirmation, httpStatus: nil,
                    result: nil, error: nil, confirmationHash: Self.hash(token), confirmBeforeMs: now + waitSeconds * 1_000,
                    asynchronous: request.asynchronous, callbackURL: request.callbackURL, callbackSecret: request.callbackSecret,
                    callbackStatus: nil, approvalsRequired: approvals, createdMs: now, updatedMs: now, finishedMs: nil)
                let waiting = approvals > 0 ? "waiting for \(approvals) approval\(approvals == 1 ? "" : "s")" : "waiting for confirmation"
                try await save(pending, insert: true, caller: caller, detail: "\(tool.name): \(waiting)")
                return Outcome(execution: pending, confirmationToken: token, tool: tool)
            }
            execution = try await consume(
                token, tool: tool, arguments: arguments, asynchronous: request.asynchronous, principal: principal, caller: caller, now: now)
        } else {
            execution = AgentExecution(
                id: IDGenerator.uuidV7(at: clock.now()), orgId: orgId, userId: principal.userId, apiKeyId: principal.apiKeyId,
                tool: tool.name, arguments: arguments, status: request.asynchronous ? .queued : .running, httpStatus: nil, result: nil, error: nil,
                confirmationHash: nil, confirmBeforeMs: nil, asynchronous: request.asynchronous, callbackURL: request.callbackURL,
                callbackSecret: request.callbackSecret, callbackStatus: nil, createdMs: now, updatedMs: now, finishedMs: nil)
            try await save(execution, insert: true, caller: caller, detail: "\(tool.name): queued", audited: execution.asynchronous)
        }
        if execution.asynchronous {
            let started = execution
            Task { await self.run(started, tool: tool, bearer: bearer, caller: caller) }
            return Outcome(execution: execution, confirmationToken: nil, tool: tool)
        }
        return Outcome(execution: await run(execution, tool: tool, bearer: bearer, caller: caller), confirmationToken: nil, tool: tool)
    }

    /// An execution of the caller's (another user's answers 404, as one that does not exist).
    package func execution(_ id: UUID, caller: Caller) async throws -> (AgentExecution, AgentTool?) {
        let principal = try caller.requirePrincipal()
        guard
            let execution = try await database.read({ sql in
                try await sql.select().column("*").from("agent_executions").where("id", .equal, id).first(decoding: AgentExecution.self)
            }), execution.userId == principal.userId
        else { throw AppError.notFound("Execution") }
        return (try await settled(execution), registry.tool(named: execution.tool))
    }

    /// The caller's latest executions, newest first.
    package func executions(page: PageRequest, caller: Caller) async throws -> Page<AgentExecution> {
        let principal = try caller.requirePrincipal()
        let rows = try await database.read { sql in
            let select = sql.select().column("*").from("agent_executions").where("user_id", .equal, principal.userId)
            if let after = page.after { select.where("id", .lessThan, after) }
            return try await select.orderBy("id", .descending).limit(page.limit + 1).all(decoding: AgentExecution.self)
        }
        var settledRows: [AgentExecution] = []
        for row in rows { settledRows.append(try await settled(row)) }
        return Page(fetched: settledRows, limit: page.limit, id: \.id)
    }

    /// The caller's executions changed at or after `sinceMs`, oldest change first (at most 200): what the agent
    /// stream (`WS /ws/agent/stream`) polls, so it sees the executions every server of a deployment runs.
    package func changes(since sinceMs: Int64, caller: Caller) async throws -> [AgentExecution] {
        let principal = try caller.requirePrincipal()
        return try await database.read { sql in
            try await sql.select().column("*").from("agent_executions").where("user_id", .equal, principal.userId)
                .where("updated_ms", .greaterThanOrEqual, sinceMs).orderBy("updated_ms").limit(200).all(decoding: AgentExecution.self)
        }
    }

    /// Records a tool called over MCP's HTTP transport (its execution is audited besides, as `agent.execute`).
    package func recordMCPCall(_ tool: String, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try await database.transaction { sql in
            try await audit.record(
                on: sql, caller, orgId: principal.defaultOrgId, action: "agent.mcp", targetType: "agent_tool", targetId: tool,
                detail: "tools/call over MCP's streamable HTTP transport")
        }
    }

    /// The time by the service's clock, for a stream's starting point.
    package var nowMs: Int64 { clock.now().epochMilliseconds }

    /// A background execution runs one API call, which ends within minutes; one still queued or running after
    /// `staleSeconds` lost its server (stopped or restarted) and is recorded as failed when next read.
    private func settled(_ execution: AgentExecution) async throws -> AgentExecution {
        let now = clock.now().epochMilliseconds
        guard execution.status == .queued || execution.status == .running, now - execution.updatedMs > Self.staleSeconds * 1_000 else {
            return execution
        }
        var failed = execution
        failed.status = .failed
        failed.error = "the server running it stopped before it finished; nothing says whether the operation ran: check before retrying"
        failed.updatedMs = now
        failed.finishedMs = now
        let recorded = failed
        try await database.transaction { sql in try await sql.updateRow(recorded, in: "agent_executions", id: recorded.id) }
        return recorded
    }

    static let staleSeconds: Int64 = 900

    // MARK: running

    @discardableResult
    func run(_ execution: AgentExecution, tool: AgentTool, bearer: String, caller: Caller) async -> AgentExecution {
        var finished = execution
        do {
            let arguments = try JSONDecoder().decode([String: JSONValue].self, from: Data(execution.arguments.utf8))
            let (target, body) = try Self.httpRequest(for: tool, arguments: arguments)
            let (status, answer) = try await dispatch(tool.method, target, body, bearer)
            finished.httpStatus = status
            finished.result = String(decoding: answer.prefix(Self.maxResultBytes), as: UTF8.self)
            finished.status = (200..<300).contains(status) ? .succeeded : .failed
            if finished.status == .failed { finished.error = Self.problemDetail(answer) ?? "the operation answered \(status)" }
        } catch {
            finished.status = .failed
            finished.error = (error as? AppError)?.detail ?? "the operation could not be called: \(error)"
        }
        let now = clock.now().epochMilliseconds
        finished.updatedMs = now
        finished.finishedMs = now
        if finished.callbackURL != nil { finished.callbackStatus = await callBack(finished) }
        do {
            try await save(
                finished, insert: false, caller: caller,
                detail: "\(tool.name): \(finished.status.rawValue)\(finished.httpStatus.map { " (\($0))" } ?? "")")
        } catch {
            logger.warning("agent: an execution's outcome could not be saved", metadata: ["execution": "\(execution.id)", "error": "\(error)"])
        }
        return finished
    }

    /// POSTs the outcome to the callback URL, signed as webhooks are, tried three times (1 s, then 2 s apart).
    func callBack(_ execution: AgentExecution) async -> String {
        let payload = Self.json([
            "execution_id": .string(execution.id.lowercasedString), "tool": .string(execution.tool), "status": .string(execution.status.rawValue),
            "http_status": execution.httpStatus.map { .number(Double($0)) } ?? .null, "error": execution.error.map(JSONValue.string) ?? .null,
            "result": execution.result.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) } ?? .null,
        ])
        var last = ""
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .seconds(1 << (attempt - 1))) }
            let answer = await WebhookDeliverer.post(
                to: execution.callbackURL ?? "", secret: execution.callbackSecret, deliveryId: execution.id.lowercasedString,
                event: "agent_execution.\(execution.status.rawValue)", payload: payload, now: clock.now(), configuration: webhooks)
            if let status = answer.status, (200..<300).contains(status) { return "delivered (\(status))" }
            last = answer.status.map { "answered \($0)" } ?? answer.error ?? "no answer"
            if let status = answer.status, status < 500, status != 408, status != 429 { break }
        }
        return "not delivered: \(last)"
    }

    // MARK: helpers

    /// Takes the awaiting execution a token confirms — the same caller, tool and arguments, not expired — and marks it
    /// started, in one transaction holding its row: the same token sent twice at once runs the call once.
    private func consume(
        _ token: String, tool: AgentTool, arguments: String, asynchronous: Bool, principal: Principal, caller: Caller, now: Int64
    ) async throws -> AgentExecution {
        try await database.transaction { sql in
            let found = try await sql.select().column("*").from("agent_executions").where("confirmation_hash", .equal, Self.hash(token))
                .for(.update).first(decoding: AgentExecution.self)
            var execution = try Self.confirmable(found, tool: tool, arguments: arguments, principal: principal, now: now)
            execution.confirmationHash = nil
            execution.asynchronous = asynchronous || execution.asynchronous
            execution.status = execution.asynchronous ? .queued : .running
            execution.updatedMs = now
            // A synchronous run is audited once, with its outcome; a queued one now, and again when it ends.
            try await write(
                execution, insert: false, caller: caller, detail: "\(tool.name): confirmed, queued", audited: execution.asynchronous, on: sql)
            return execution
        }
    }

    /// `found` if the token may run it: the caller's, waiting for confirmation (not approval), the same tool and
    /// arguments, not expired.
    private static func confirmable(_ found: AgentExecution?, tool: AgentTool, arguments: String, principal: Principal, now: Int64) throws
        -> AgentExecution
    {
        guard let execution = found, execution.userId == principal.userId else {
            throw AppError.validation([FieldError(field: "confirmation_token", message: "is not a pending confirmation of yours")])
        }
        switch execution.status {
        case .awaitingConfirmation: break
        case .awaitingApproval:
            let approved = execution.decisions.filter(\.approved).count
            throw AppError.conflict(
                "\(execution.tool) waits for its organization's approval (\(approved) of \(execution.approvalsRequired) so far): "
                    + "send it again once GET /api/v1/agent/executions/\(execution.id.lowercasedString) says awaiting_confirmation")
        case .rejected:
            throw AppError.validation([FieldError(field: "confirmation_token", message: "confirms a call that was \(execution.error ?? "rejected")")])
        default:
            throw AppError.validation([FieldError(field: "confirmation_token", message: "is not a pending confirmation of yours")])
        }
        guard execution.tool == tool.name, execution.arguments == arguments else {
            throw AppError.validation([
                FieldError(field: "confirmation_token", message: "confirms \(execution.tool) with other arguments: send exactly what was confirmed")
            ])
        }
        guard let before = execution.confirmBeforeMs, now <= before else {
            throw AppError.validation([FieldError(field: "confirmation_token", message: "has expired: ask again")])
        }
        return execution
    }

    private func save(_ execution: AgentExecution, insert: Bool, caller: Caller, detail: String, audited: Bool = true) async throws {
        try await database.transaction { sql in try await write(execution, insert: insert, caller: caller, detail: detail, audited: audited, on: sql)
        }
    }

    private func write(_ execution: AgentExecution, insert: Bool, caller: Caller, detail: String, audited: Bool, on sql: any SQLDatabase) async throws
    {
        if insert {
            try await sql.insert(execution, into: "agent_executions")
        } else {
            try await sql.updateRow(execution, in: "agent_executions", id: execution.id)
        }
        guard audited else { return }
        try await audit.record(
            on: sql, caller, orgId: execution.orgId, action: "agent.execute", targetType: "agent_execution",
            targetId: execution.id.lowercasedString, detail: "\(detail); arguments \(execution.arguments.prefix(500))")
    }

    /// The request a tool's arguments make: the path with its parameters, the query, the JSON body.
    static func httpRequest(for tool: AgentTool, arguments: [String: JSONValue]) throws -> (String, Data?) {
        var path = tool.path
        var errors: [FieldError] = []
        for name in tool.pathParameters {
            guard case .string(let value)? = arguments[name] ?? nil, !value.isEmpty else {
                errors.append(FieldError(field: "params.\(name)", message: "is required (a path parameter)"))
                continue
            }
            path = path.replacingOccurrences(
                of: "{\(name)}", with: value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? value)
        }
        let known = Set(tool.pathParameters + tool.queryParameters + tool.bodyProperties + (tool.nestedBody ? ["body"] : []))
        for name in arguments.keys.sorted() where !known.contains(name) {
            errors.append(FieldError(field: "params.\(name)", message: "is not an argument of \(tool.name)"))
        }
        guard errors.isEmpty else { throw AppError.validation(errors) }
        var query = URLComponents()
        query.queryItems = tool.queryParameters.compactMap { name in
            switch arguments[name] {
            case .string(let text)?: URLQueryItem(name: name, value: text)
            case .number(let number)?: URLQueryItem(name: name, value: number.rounded() == number ? String(Int64(number)) : String(number))
            case .bool(let flag)?: URLQueryItem(name: name, value: flag ? "true" : "false")
            default: nil
            }
        }
        let target = path + ((query.queryItems ?? []).isEmpty ? "" : "?" + (query.percentEncodedQuery ?? ""))
        guard tool.hasBody else { return (target, nil) }
        let body: JSONValue =
            tool.nestedBody ? (arguments["body"] ?? .object([:])) : .object(arguments.filter { tool.bodyProperties.contains($0.key) })
        return (target, try JSONEncoder().encode(body))
    }

    static func canonical(_ arguments: [String: JSONValue]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(arguments), as: UTF8.self)
    }

    static func json(_ value: [String: JSONValue]) -> String { (try? canonical(value)) ?? "{}" }

    static func hash(_ token: String) -> String { SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined() }

    static func problemDetail(_ body: Data) -> String? {
        guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: body), case .string(let detail)? = fields["detail"] else {
            return nil
        }
        return detail
    }
}
