import AITIPClient
import Agent
import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// `aitip mcp`: the agent API as a Model Context Protocol server over stdio (newline-delimited JSON-RPC 2.0), for MCP
/// clients (Claude Desktop, IDEs, the Python `mcp` package). The protocol is Agent's `MCPSession`, the one the server
/// speaks at `/api/v1/agent/mcp`; here it calls the API over HTTP with this CLI's credential, so the same rights,
/// confirmations and approvals apply.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the agent API's tools and the platform's resources to an MCP client over stdio (JSON-RPC), with your credential.",
        discussion: """
            Configure your MCP client to start: aitip mcp   (with AITIP_SERVER and AITIP_TOKEN set, or after aitip login)
            Tool names are the agent API's with '.' written '_' (release.create → release_create). A destructive or
            costly tool answers a confirmation token first: call it again with the same arguments and
            confirmation_token. Only JSON-RPC goes to stdout; nothing else is printed there.
            """)

    @Option(help: "Server URL (default: AITIP_SERVER, else the one you logged in to).") var server: String?

    func run() async throws {
        let client = try APIClient(server: server)
        let root = client.server
        let tokens = client.tokens
        let session = MCPSession { method, target, body in
            try await Self.send(method, root + target, body: body, tokens: tokens)
        }
        while let line = readLine(strippingNewline: true) {
            guard !line.isEmpty else { continue }
            if let answer = await session.handle(Data(line.utf8)) {
                FileHandle.standardOutput.write(answer + Data("\n".utf8))
            }
        }
    }

    /// One API request with the CLI's credential (renewed once when it has expired).
    static func send(_ method: String, _ url: String, body: Data?, tokens: (any BearerTokens)?) async throws -> (Int, Data) {
        var token = await tokens?.current()
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: url)
            request.method = .init(rawValue: method)
            request.headers.add(name: "Accept", value: "application/json")
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(body)
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
            let answer = try await response.body.collect(upTo: 64 << 20)
            if response.status.code == 401, attempt == 0, let rejected = token, let renewed = await tokens?.renew(after: rejected) {
                token = renewed
                continue
            }
            return (Int(response.status.code), Data(buffer: answer))
        }
        return (401, Data())
    }
}
