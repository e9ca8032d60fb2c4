import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation
import OpenAPIRuntime

/// `aitip mcp`: the agent API as a Model Context Protocol server over stdio (newline-delimited JSON-RPC 2.0), for MCP
/// clients (Claude Desktop, IDEs, the Python `mcp` package). Its tools are the server's (`GET /agent/tools`), called
/// through `POST /agent/execute` with this CLI's credential, so the same rights and confirmations apply.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the agent API's tools to an MCP client over stdio (JSON-RPC), with your credential.",
        discussion: """
            Configure your MCP client to start: aitip mcp   (with AITIP_SERVER and AITIP_TOKEN set, or after aitip login)
            Tool names are the agent API's with '.' written '_' (release.create → release_create). A destructive or
            costly tool answers a confirmation token first: call it again with the same arguments and
            confirmation_token. Only JSON-RPC goes to stdout; nothing else is printed there.
            """)

    @Option(help: "Server URL (default: AITIP_SERVER, else the one you logged in to).") var server: String?

    /// The protocol versions this server speaks; a client asking for another is answered with the newest.
    static let versions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

    func run() async throws {
        let client = try APIClient(server: server)
        let session = MCPSession(api: client.api)
        while let line = readLine(strippingNewline: true) {
            guard !line.isEmpty else { continue }
            if let answer = await session.handle(line) {
                FileHandle.standardOutput.write(answer + Data("\n".utf8))
            }
        }
    }
}

/// One MCP session: JSON-RPC requests in, answers out; the tool names it handed out, mapped back.
actor MCPSession {
    let api: Client
    private var names: [String: String] = [:]

    init(api: Client) {
        self.api = api
    }

    /// The answer to one message (nil for a notification).
    func handle(_ line: String) async -> Data? {
        guard let message = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            return Self.answer(id: NSNull(), error: (-32700, "Parse error: send one JSON-RPC message per line"))
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
                        "protocolVersion": MCPCommand.versions.contains(asked) ? asked : MCPCommand.versions.last!,
                        "capabilities": ["tools": ["listChanged": false]],
                        "serverInfo": ["name": "aitip", "version": "1"],
                        "instructions": "aitip's platform operations. Destructive and costly tools answer a confirmation_token first.",
                    ])
            case "ping":
                return Self.answer(id: id, result: [:])
            case "tools/list":
                return Self.answer(id: id, result: ["tools": try await tools()])
            case "tools/call":
                return Self.answer(id: id, result: try await call(params["name"] as? String ?? "", params["arguments"] as? [String: Any] ?? [:]))
            default:
                return Self.answer(id: id, error: (-32601, "Method not found: \(method)"))
            }
        } catch {
            return Self.answer(id: id, error: (-32603, "\(error)"))
        }
    }

    private func tools() async throws -> [[String: Any]] {
        let listed = try await api.listAgentTools(query: .init()).ok.body.json.tools.filter(\.executable)
        var tools: [[String: Any]] = []
        for tool in listed {
            let name = tool.name.replacingOccurrences(of: ".", with: "_")
            names[name] = tool.name
            var schema = try JSONSerialization.jsonObject(with: JSONEncoder().encode(tool.parameters)) as? [String: Any] ?? [:]
            if tool.risk == .destructive || tool.risk == .costly {
                var properties = schema["properties"] as? [String: Any] ?? [:]
                properties["confirmation_token"] = [
                    "type": "string", "description": "The token the first call of this tool answered: send it with the same arguments to run it.",
                ]
                schema["properties"] = properties
            }
            tools.append(["name": name, "title": tool.name, "description": tool.description, "inputSchema": schema])
        }
        return tools
    }

    private func call(_ name: String, _ arguments: [String: Any]) async throws -> [String: Any] {
        if names.isEmpty { _ = try await tools() }
        guard let tool = names[name] else { return Self.text("No tool is named \(name): list them with tools/list", isError: true) }
        var arguments = arguments
        let token = arguments.removeValue(forKey: "confirmation_token") as? String
        let params = try JSONDecoder().decode(OpenAPIObjectContainer.self, from: JSONSerialization.data(withJSONObject: arguments))
        let execution: Components.Schemas.AgentExecution
        do {
            execution = try await api.executeAgentTool(
                body: .json(.init(tool: tool, params: .init(additionalProperties: params), confirmationToken: token))
            ).ok.body.json
        } catch let error as ClientError {
            // The agent API refused the call itself (unknown arguments, a bad token): the model reads why.
            return Self.text(CLIError(error, server: "aitip").message, isError: true)
        }
        let outcome = try JSONSerialization.jsonObject(with: JSONEncoder().encode(execution))
        let text = String(decoding: try JSONSerialization.data(withJSONObject: outcome, options: [.sortedKeys]), as: UTF8.self)
        if execution.status == .awaitingConfirmation {
            return Self.text(
                "\(tool) is \(execution.risk.rawValue): nothing ran yet. To run it, call \(name) again with the same arguments and "
                    + "confirmation_token \"\(execution.confirmationToken ?? "")\" (good until \(execution.confirmBefore.map { "\($0)" } ?? "soon")).",
                isError: false, structured: outcome)
        }
        return Self.text(text, isError: execution.status == .failed, structured: outcome)
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
