import AITIPCore
import Agent
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Identity
import Logging
import NIOCore

/// `WS /ws/agent/stream[?since_ms=N]` (design §1–2, the agent gateway): the caller's agent executions as they change,
/// and what a finished one started — a training job, a release, an evaluation — followed until it ends. The client
/// may also send commands on it: `execute` and `plan` (the bodies of `POST /agent/execute` and `/agent/natural-language`
/// with a `ref` of its own), `follow` (an execution it already has) and `ping`. Authenticated as the log stream
/// (`LogWebSocket`); subprotocol `aitip.agent`. Every message is JSON with a `type`:
///
/// - `execution`: `{"execution": <GET /agent/executions/{id}>}` — once per change of status;
/// - `resource`: `{"execution_id", "url", "status", "resource": <GET url>}` — the started resource's status changed;
///   `resource_end` when it can no longer be read (deleted, or the caller's rights changed) or is no longer followed;
/// - `reply`: `{"ref", "http_status", "body"}` — a command's answer, exactly the REST call's;
/// - `error`: `{"ref", "detail"}` — a message that is not a command; `pong`.
///
/// It polls the executions table (every `pollInterval`), not an in-process bus, so it sees the executions every
/// server of a deployment runs; everything it sends is read through the server's router with the caller's credential,
/// so the stream never shows more than the REST API would.
enum AgentWebSocket {
    static let subprotocol = "aitip.agent"
    static let pollInterval: Duration = .milliseconds(500)

    static func upgrade(_ dependencies: ServerDependencies) -> LogWebSocket.Upgrade {
        { request, channel, logger in
            guard let components = URLComponents(string: request.path ?? ""), components.path == "/ws/agent/stream" else { return .dontUpgrade }
            guard let (caller, offered, bearer) = await LogWebSocket.caller(request, channel, logger, auth: dependencies.auth) else {
                return .dontUpgrade
            }
            let since = components.queryItems?.first { $0.name == "since_ms" }?.value.flatMap { Int64($0) }
            var headers = HTTPFields()
            if offered.contains(subprotocol) { headers[.secWebSocketProtocol] = subprotocol }
            return .upgrade(headers) { inbound, outbound, _ in
                let session = AgentStreamSession(
                    agent: dependencies.agent, dispatcher: dependencies.agentDispatcher, caller: caller, bearer: bearer,
                    since: since ?? dependencies.agent.nowMs)
                let (messages, outgoing) = AsyncStream<String>.makeStream()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // One writer: the watcher and the commands' answers both go through `outgoing`.
                    group.addTask {
                        for await message in messages { try await outbound.write(.text(message)) }
                    }
                    group.addTask { try await session.watch { outgoing.yield($0) } }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        group.addTask { outgoing.yield(await session.answer(text)) }
                    }
                    // The client left (or closed): nothing more is read or sent.
                    outgoing.finish()
                    group.cancelAll()
                }
            }
        }
    }
}

/// One connection's state: what it has sent of each execution, and the resources it follows.
actor AgentStreamSession {
    let agent: AgentService
    let dispatcher: InProcessDispatcher
    let caller: Caller
    let bearer: String
    private var cursor: Int64
    /// The last status and time sent of each execution.
    private var sent: [UUID: String] = [:]
    private var followed: [String: Followed] = [:]

    /// A resource an execution started, followed until its status is final.
    struct Followed {
        var executionId: String
        var status: String?
        var sinceMs: Int64
    }

    /// Statuses after which a resource changes no more by itself (jobs, runs, evaluations, test runs, releases).
    static let finalStatuses: Set<String> = [
        "succeeded", "failed", "cancelled", "canceled", "completed", "stopped", "error", "rolled_back", "rejected", "production", "passed",
    ]
    static let maxFollowed = 16
    static let followSeconds: Int64 = 3_600

    init(agent: AgentService, dispatcher: InProcessDispatcher, caller: Caller, bearer: String, since: Int64) {
        self.agent = agent
        self.dispatcher = dispatcher
        self.caller = caller
        self.bearer = bearer
        self.cursor = since
    }

    /// Sends changes until cancelled: executions every poll, followed resources every other one.
    func watch(_ send: @Sendable (String) -> Void) async throws {
        var tick = 0
        while !Task.isCancelled {
            for message in try await executionChanges() { send(message) }
            if tick % 2 == 0 { for message in await resourceChanges() { send(message) } }
            tick += 1
            try await Task.sleep(for: AgentWebSocket.pollInterval)
        }
    }

    /// Answers a client's message.
    func answer(_ text: String) async -> String {
        guard case .object(var command)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
            case .string(let type)? = command.removeValue(forKey: "type")
        else {
            return Self.message(["type": .string("error"), "detail": .string("send a JSON object with a \"type\": execute, plan, follow or ping")])
        }
        let ref = command.removeValue(forKey: "ref") ?? .null
        switch type {
        case "ping":
            return Self.message(["type": .string("pong"), "ref": ref])
        case "execute", "plan":
            let path = type == "execute" ? "/api/v1/agent/execute" : "/api/v1/agent/natural-language"
            let body = (try? JSONEncoder().encode(JSONValue.object(command))) ?? Data()
            return await reply(ref: ref, method: "POST", path: path, body: body)
        case "follow":
            guard case .string(let id)? = command["execution_id"], let executionId = UUID(uuidString: id) else {
                return Self.message(["type": .string("error"), "ref": ref, "detail": .string("follow needs an execution_id")])
            }
            sent[executionId] = nil
            return await reply(ref: ref, method: "GET", path: "/api/v1/agent/executions/\(executionId.lowercasedString)", body: nil)
        default:
            return Self.message([
                "type": .string("error"), "ref": ref, "detail": .string("'\(type)' is not a command: execute, plan, follow or ping"),
            ])
        }
    }

    private func reply(ref: JSONValue, method: String, path: String, body: Data?) async -> String {
        do {
            let (status, answer) = try await dispatcher.dispatch(method: method, target: path, body: body, bearer: bearer)
            let decoded = (try? JSONDecoder().decode(JSONValue.self, from: answer)) ?? .null
            if method == "GET", (200..<300).contains(status), case .object(let execution) = decoded { note(execution) }
            return Self.message(["type": .string("reply"), "ref": ref, "http_status": .number(Double(status)), "body": decoded])
        } catch {
            return Self.message([
                "type": .string("error"), "ref": ref, "detail": .string((error as? AppError)?.detail ?? "the command could not be run"),
            ])
        }
    }

    /// Executions changed since the last poll, each read as `GET /agent/executions/{id}` answers it.
    private func executionChanges() async throws -> [String] {
        var messages: [String] = []
        for execution in try await agent.changes(since: cursor, caller: caller) {
            cursor = max(cursor, execution.updatedMs)
            let signature = "\(execution.status.rawValue)@\(execution.updatedMs)"
            guard sent[execution.id] != signature else { continue }
            sent[execution.id] = signature
            let (status, body) = try await dispatcher.dispatch(
                method: "GET", target: "/api/v1/agent/executions/\(execution.id.lowercasedString)", body: nil, bearer: bearer)
            guard (200..<300).contains(status), case .object(let read)? = try? JSONDecoder().decode(JSONValue.self, from: body) else { continue }
            note(read)
            messages.append(Self.message(["type": .string("execution"), "execution": .object(read)]))
        }
        if sent.count > 10_000 { sent.removeAll() }
        return messages
    }

    /// Follows the resource a succeeded execution links to, if it has a status to follow.
    private func note(_ execution: [String: JSONValue]) {
        guard case .string("succeeded")? = execution["status"], case .object(let links)? = execution["monitoring"],
            case .string(let url)? = links["resource_url"], case .string(let id)? = execution["execution_id"],
            followed[url] == nil, followed.count < Self.maxFollowed
        else { return }
        followed[url] = Followed(executionId: id, status: nil, sinceMs: agent.nowMs)
    }

    /// The followed resources whose status changed; those ended, unreadable or followed for long enough are dropped.
    private func resourceChanges() async -> [String] {
        var messages: [String] = []
        for (url, resource) in followed.sorted(by: { $0.key < $1.key }) {
            let id = JSONValue.string(resource.executionId)
            guard let (status, body) = try? await dispatcher.dispatch(method: "GET", target: url, body: nil, bearer: bearer) else { continue }
            guard (200..<300).contains(status), case .object(let read)? = try? JSONDecoder().decode(JSONValue.self, from: body) else {
                followed[url] = nil
                messages.append(
                    Self.message(["type": .string("resource_end"), "execution_id": id, "url": .string(url), "http_status": .number(Double(status))]))
                continue
            }
            guard case .string(let state)? = read["status"] ?? read["state"] else {
                followed[url] = nil // nothing to follow: a project, a dataset, a model version
                continue
            }
            if state != resource.status {
                followed[url]?.status = state
                messages.append(
                    Self.message([
                        "type": .string("resource"), "execution_id": id, "url": .string(url), "status": .string(state), "resource": .object(read),
                    ]))
            }
            if Self.finalStatuses.contains(state) || agent.nowMs - resource.sinceMs > Self.followSeconds * 1_000 {
                followed[url] = nil
                messages.append(Self.message(["type": .string("resource_end"), "execution_id": id, "url": .string(url), "status": .string(state)]))
            }
        }
        return messages
    }

    static func message(_ fields: [String: JSONValue]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(JSONValue.object(fields))) ?? Data("{}".utf8), as: UTF8.self)
    }
}
