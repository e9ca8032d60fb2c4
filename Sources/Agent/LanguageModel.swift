import AITIPCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// The optional LLM mode of `agent/natural-language`: an OpenAI-compatible chat-completions endpoint the server's
/// operator configured (`agent_llm_url`, e.g. OpenAI, vLLM, or a model served on this platform's own gateway at
/// `…/serve/<id>/v1`) reads the words into one tool call. What it answers is only a reading: the tool must exist, its
/// arguments are checked against the tool's parameters, names are looked up as the caller, and it runs only as
/// `agent/execute` runs it — a model can propose, never act.
package struct LanguageModel: Sendable {
    /// The API's base URL, up to `/chat/completions`.
    package var url: String
    package var model: String
    /// Sent as `Authorization: Bearer …`; never logged.
    package var apiKey: String?
    /// How many tools are offered: the ones whose words the request shares most.
    static let offered = 24

    /// A model that is down fails at once (the shared client would retry connecting until the minute is out);
    /// one that answers may take its time.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    package init(url: String, model: String, apiKey: String?) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.model = model
        self.apiKey = apiKey
    }

    /// What the model made of the words: a tool and its arguments, or its own words (a question) when no tool fits.
    enum Answer: Equatable {
        case call(tool: String, arguments: [String: JSONValue])
        case words(String)
    }

    static let instructions = """
        You turn a request about the aitip machine-learning platform into exactly one call of one of the given tools. \
        Use only arguments the request states; never invent ids: where the request names something (a dataset, a \
        service, a release, a project …) and you do not know its id, give the name as written in the id's place. \
        Leave out what the request does not say. If no tool fits, answer with one short question instead of a call.
        """

    func read(_ message: String, tools: [AgentTool]) async throws -> Answer {
        let offered = Self.candidates(for: message, among: tools)
        // Any tool's name is read back, offered or not: a model may know a tool it was not shown this time.
        let names = Dictionary(tools.map { ($0.name.replacingOccurrences(of: ".", with: "_"), $0.name) }) { first, _ in first }
        let definitions: [JSONValue] = offered.map { tool in
            let name = tool.name.replacingOccurrences(of: ".", with: "_")
            return .object([
                "type": .string("function"),
                "function": .object([
                    "name": .string(name), "description": .string(String(tool.description.prefix(1_000))), "parameters": tool.parameters,
                ]),
            ])
        }
        let request: JSONValue = .object([
            "model": .string(model), "temperature": .number(0), "tool_choice": .string("auto"), "tools": .array(definitions),
            "messages": .array([
                .object(["role": .string("system"), "content": .string(Self.instructions)]),
                .object(["role": .string("user"), "content": .string(message)]),
            ]),
        ])
        let answer = try await post(try JSONEncoder().encode(request))
        guard case .object(let body)? = try? JSONDecoder().decode(JSONValue.self, from: answer), case .array(let choices)? = body["choices"],
            case .object(let choice)? = choices.first, case .object(let said)? = choice["message"]
        else { throw AppError(.badGateway, "The language model's answer is not a chat completion") }
        if case .array(let calls)? = said["tool_calls"], case .object(let call)? = calls.first, case .object(let function)? = call["function"],
            case .string(let name)? = function["name"]
        {
            var arguments: [String: JSONValue] = [:]
            if case .string(let text)? = function["arguments"], !text.isEmpty {
                guard case .object(let decoded)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                    throw AppError(.badGateway, "The language model called \(name) with arguments that are not a JSON object")
                }
                arguments = decoded
            }
            return .call(tool: names[name] ?? name, arguments: arguments)
        }
        if case .string(let text)? = said["content"] { return .words(text) }
        return .words("")
    }

    private func post(_ body: Data) async throws -> Data {
        var request = HTTPClientRequest(url: url + "/chat/completions")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey, !apiKey.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        request.body = .bytes(ByteBuffer(data: body))
        let host = URL(string: url)?.host ?? url
        do {
            let response = try await Self.client.execute(request, timeout: .seconds(90))
            let received = try await response.body.collect(upTo: 4 << 20)
            guard (200..<300).contains(response.status.code) else {
                throw AppError(.badGateway, "The language model at \(host) answered \(response.status.code)")
            }
            return Data(buffer: received)
        } catch let error as AppError {
            throw error
        } catch {
            throw AppError(.badGateway, "The language model at \(host) did not answer: \(error)")
        }
    }

    /// The tools a request most likely means: those sharing the most of its words (name, area, description), so a
    /// model is offered a few dozen tools rather than every operation.
    package static func candidates(for message: String, among tools: [AgentTool]) -> [AgentTool] {
        let words = Set(Self.words(message))
        let scored = tools.filter { $0.notExecutable == nil }.map { tool -> (AgentTool, Int) in
            let name = Set(Self.words(tool.name + " " + tool.area))
            let description = Set(Self.words(String(tool.description.prefix(300))))
            return (tool, words.intersection(name).count * 3 + words.intersection(description).count)
        }
        return scored.filter { $0.1 > 0 }.sorted { $0.1 == $1.1 ? $0.0.name < $1.0.name : $0.1 > $1.1 }.prefix(offered).map(\.0)
    }

    /// Lower-case words of three letters or more, a plural's `s` dropped: "Scale the services" → scale, the, service.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter }.filter { $0.count >= 3 }.map { word in
            word.hasSuffix("s") && !word.hasSuffix("ss") ? String(word.dropLast()) : String(word)
        }
    }
}
