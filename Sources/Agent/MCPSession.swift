import Foundation

/// The Model Context Protocol over the agent API (JSON-RPC 2.0; docs/agent.md "MCP"): the tools are the agent API's
/// (`GET /agent/tools`, called through `POST /agent/execute`), the resources are the platform's runs, jobs, datasets and
/// releases read through the API. Every call goes through `Call` with one caller's credential — the CLI's over HTTP
/// for `aitip mcp` (stdio), this server's router for `POST /api/v1/agent/mcp` (streamable HTTP) — so the rights,
/// confirmations and approvals are the agent API's, whichever transport a client uses.
package actor MCPSession {
    /// Sends one API request as the session's caller; answers the status and the body.
    package typealias Call = @Sendable (_ method: String, _ target: String, _ body: Data?) async throws -> (Int, Data)

    /// The protocol versions spoken; a client asking for another is answered with the newest.
    package static let versions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

    let call: Call
    /// MCP names (`.` written `_`) → the agent API's, filled by `tools/list` (or by a call before it).
    private var names: [String: String] = [:]

    package init(call: @escaping Call) {
        self.call = call
    }

    /// The answer to one JSON-RPC message; nil for a notification or a response (nothing to answer).
    package func handle(_ message: Data) async -> Data? {
        guard let message = try? JSONSerialization.jsonObject(with: message) as? [String: Any] else {
            return Self.answer(id: NSNull(), error: (-32700, "Parse error: send one JSON-RPC message (an object)"))
        }
        guard let id = message["id"], let method = message["method"] as? String else { return nil }
        let params = message["params"] as? [String: Any] ?? [:]
        do {
            switch method {
            case "initialize":
                let asked = params["protocolVersion"] as? String ?? ""
                return Self.answer(
                    id: id,
                    result: [
                        "protocolVersion": Self.versions.contains(asked) ? asked : Self.versions.last!,
                        "capabilities": ["tools": ["listChanged": false], "resources": ["listChanged": false, "subscribe": false]],
                        "serverInfo": ["name": "aitip", "version": "1"],
                        "instructions":
                            "aitip's platform operations as tools, its runs, jobs, datasets and releases as resources. Destructive and costly "
                            + "tools answer a confirmation_token first; an organization may also ask for a person's approval.",
                    ])
            case "ping":
                return Self.answer(id: id, result: [:])
            case "tools/list":
                return Self.answer(id: id, result: ["tools": try await tools()])
            case "tools/call":
                return Self.answer(id: id, result: try await callTool(params["name"] as? String ?? "", params["arguments"] as? [String: Any] ?? [:]))
            case "resources/list":
                return Self.answer(id: id, result: ["resources": await resources()])
            case "resources/templates/list":
                return Self.answer(id: id, result: ["resourceTemplates": Self.templates.map(\.dictionary)])
            case "resources/read":
                return try await read(id: id, uri: params["uri"] as? String ?? "")
            default:
                return Self.answer(id: id, error: (-32601, "Method not found: \(method)"))
            }
        } catch {
            return Self.answer(id: id, error: (-32603, "\(error)"))
        }
    }

    // MARK: tools

    private func tools() async throws -> [[String: Any]] {
        let listed = try await json("GET", "/api/v1/agent/tools")["tools"] as? [[String: Any]] ?? []
        var tools: [[String: Any]] = []
        for tool in listed where tool["executable"] as? Bool == true {
            guard let apiName = tool["name"] as? String else { continue }
            let name = apiName.replacingOccurrences(of: ".", with: "_")
            names[name] = apiName
            var schema = tool["parameters"] as? [String: Any] ?? ["type": "object"]
            if ["destructive", "costly"].contains(tool["risk"] as? String ?? "") {
                var properties = schema["properties"] as? [String: Any] ?? [:]
                properties["confirmation_token"] = [
                    "type": "string", "description": "The token the first call of this tool answered: send it with the same arguments to run it.",
                ]
                schema["properties"] = properties
            }
            tools.append(["name": name, "title": apiName, "description": tool["description"] as? String ?? "", "inputSchema": schema])
        }
        return tools
    }

    private func callTool(_ name: String, _ arguments: [String: Any]) async throws -> [String: Any] {
        if names.isEmpty { _ = try await tools() }
        guard let tool = names[name] else { return Self.text("No tool is named \(name): list them with tools/list", isError: true) }
        var arguments = arguments
        var body: [String: Any] = ["tool": tool]
        if let token = arguments.removeValue(forKey: "confirmation_token") as? String { body["confirmation_token"] = token }
        body["params"] = arguments
        let (status, answer) = try await call("POST", "/api/v1/agent/execute", try JSONSerialization.data(withJSONObject: body))
        let outcome = (try? JSONSerialization.jsonObject(with: answer)) as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            // The agent API refused the call itself (unknown arguments, a bad token, a call waiting for approval): the
            // model reads why.
            return Self.text(outcome["detail"] as? String ?? "The agent API answered \(status)", isError: true, structured: outcome)
        }
        let token = outcome["confirmation_token"] as? String ?? ""
        switch outcome["status"] as? String {
        case "awaiting_confirmation":
            return Self.text(
                "\(tool) is \(outcome["risk"] as? String ?? "destructive"): nothing ran yet. To run it, call \(name) again with the same "
                    + "arguments and confirmation_token \"\(token)\" (good until \(outcome["confirm_before"] as? String ?? "soon")).",
                isError: false, structured: outcome)
        case "awaiting_approval":
            return Self.text(
                "\(tool) needs \(outcome["approvals_required"] as? Int ?? 1) approval(s) from your organization before it runs: nothing ran "
                    + "yet. Once approved, call \(name) again with the same arguments and confirmation_token \"\(token)\".",
                isError: false, structured: outcome)
        default:
            let text = String(decoding: try JSONSerialization.data(withJSONObject: outcome, options: [.sortedKeys]), as: UTF8.self)
            return Self.text(text, isError: outcome["status"] as? String == "failed", structured: outcome)
        }
    }

    // MARK: resources

    /// A kind of resource: `aitip://<path>` is read at `/api/v1/<path>`.
    struct Template {
        var pattern: String
        var name: String
        var description: String
        var mimeType = "application/json"

        var dictionary: [String: Any] { ["uriTemplate": "aitip://\(pattern)", "name": name, "description": description, "mimeType": mimeType] }

        /// Whether a URI's path is one of this template's.
        func matches(_ path: String) -> Bool {
            let want = pattern.split(separator: "/")
            let have = path.split(separator: "/", omittingEmptySubsequences: false)
            guard want.count == have.count else { return false }
            return zip(want, have).allSatisfy { pattern, segment in
                pattern.hasPrefix("{") ? UUID(uuidString: String(segment)) != nil : pattern == segment
            }
        }
    }

    static let templates = [
        Template(pattern: "training/jobs/{job_id}", name: "training job", description: "A training job: status, resources, timings."),
        Template(
            pattern: "training/jobs/{job_id}/logs", name: "training job log", description: "A training job's output so far.",
            mimeType: "text/plain"),
        Template(pattern: "runs/{run_id}", name: "run", description: "A tracked run: parameters, latest metrics, tags."),
        Template(pattern: "datasets/{dataset_id}", name: "dataset", description: "A dataset and its latest version."),
        Template(pattern: "releases/{release_id}", name: "release", description: "A release: status, stage, traffic, timeline."),
    ]

    /// The newest jobs, datasets and releases of the caller's projects (the first 5), as resources.
    private func resources() async -> [[String: Any]] {
        var listed: [[String: Any]] = []
        func add(_ items: Any?, path: String, kind: String) {
            for item in (items as? [[String: Any]] ?? []).prefix(10) {
                guard let id = item["id"] as? String else { continue }
                listed.append([
                    "uri": "aitip://\(path)/\(id)", "name": "\(kind) \(item["name"] as? String ?? id)", "mimeType": "application/json",
                    "description": [kind, item["status"] as? String].compactMap { $0 }.joined(separator: ", "),
                ])
            }
        }
        // What the caller may not read (an API key's scopes) is left out, not an error for the whole list.
        add(try? await json("GET", "/api/v1/training/jobs?limit=10")["items"], path: "training/jobs", kind: "training job")
        for project in ((try? await json("GET", "/api/v1/projects?limit=5"))?["items"] as? [[String: Any]] ?? []) {
            guard let id = project["id"] as? String else { continue }
            add(try? await json("GET", "/api/v1/projects/\(id)/datasets?limit=10")["items"], path: "datasets", kind: "dataset")
            add(try? await json("GET", "/api/v1/releases?project_id=\(id)&limit=10")["items"], path: "releases", kind: "release")
        }
        return listed
    }

    private func read(id: Any, uri: String) async throws -> Data {
        let prefix = "aitip://"
        let path = uri.hasPrefix(prefix) ? String(uri.dropFirst(prefix.count)) : ""
        guard let template = Self.templates.first(where: { $0.matches(path) }) else {
            return Self.answer(id: id, error: (-32002, "Resource not found: \(uri) (resources/templates/list says what can be read)"))
        }
        let (status, body) = try await call("GET", "/api/v1/\(path)", nil)
        guard (200..<300).contains(status) else {
            let detail = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["detail"] as? String
            return Self.answer(id: id, error: (-32002, "Resource not found: \(uri) (\(detail ?? "the API answered \(status)"))"))
        }
        return Self.answer(
            id: id, result: ["contents": [["uri": uri, "mimeType": template.mimeType, "text": String(decoding: body, as: UTF8.self)]]])
    }

    // MARK: JSON-RPC

    private func json(_ method: String, _ target: String) async throws -> [String: Any] {
        let (status, body) = try await call(method, target, nil)
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else { throw MCPError(message: object["detail"] as? String ?? "\(target) answered \(status)") }
        return object
    }

    struct MCPError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func text(_ text: String, isError: Bool, structured: Any? = nil) -> [String: Any] {
        var result: [String: Any] = ["content": [["type": "text", "text": text]], "isError": isError]
        if let structured { result["structuredContent"] = structured }
        return result
    }

    static func answer(id: Any, result: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": id, "result": result])) ?? Data()
    }

    static func answer(id: Any, error: (Int, String)) -> Data {
        (try? JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": id, "error": ["code": error.0, "message": error.1]])) ?? Data()
    }
}
