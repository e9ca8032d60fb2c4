import AITIPCore
import Foundation
import Yams

/// One platform operation as a tool an agent calls: derived from an operation of openapi.yaml, so a new operation
/// becomes a tool without code. Its parameters are one JSON Schema object: the path and query parameters, and the
/// JSON body's properties beside them (under `body` when a name would clash).
package struct AgentTool: Sendable, Equatable {
    /// How much a call can cost or undo: `read` changes nothing; `write` changes something; `destructive` removes or
    /// reverses something (deletes, stops, rollbacks); `costly` starts work that spends compute (jobs, runs, replicas).
    package enum Risk: String, Sendable, CaseIterable, Codable {
        case read, write, destructive, costly

        /// Destructive and costly calls wait for a confirmation.
        package var needsConfirmation: Bool { self == .destructive || self == .costly }
    }

    /// `x-aitip-tool` where the spec names it (the design's `training.submit`, `release.create`, …), else
    /// `<area>.<operation in snake case>`.
    package var name: String
    /// The operation's first tag (`releases`, `training`, …).
    package var area: String
    package var operationId: String
    package var method: String
    /// The path template, `{name}` for a path parameter.
    package var path: String
    package var description: String
    /// JSON Schema of the arguments.
    package var parameters: JSONValue
    package var pathParameters: [String]
    package var queryParameters: [String]
    /// The body's properties taken to the top level (the rest of the arguments that are not path or query ones).
    package var bodyProperties: [String]
    /// Whether the body is sent whole under `body` (its properties clash with a path or query parameter's name, or
    /// it is not an object).
    package var nestedBody: Bool
    package var hasBody: Bool
    package var risk: Risk
    /// The permission the caller needs (`x-aitip-permission`), `authenticated`, `session` or `public`.
    package var permission: String
    /// Why an agent cannot run it through `agent/execute` (a file upload, a sign-in); nil when it can.
    package var notExecutable: String?
}

/// The tools of the API, read once from openapi.yaml.
package struct ToolRegistry: Sendable {
    package let tools: [AgentTool]
    private let byName: [String: AgentTool]

    static let methods = ["get", "put", "post", "delete", "patch"]

    package init(specYAML: String) throws {
        guard let document = try Yams.load(yaml: specYAML) as? [String: Any], let paths = document["paths"] as? [String: Any] else {
            throw AppError(.internalError, "openapi.yaml has no paths")
        }
        let components = document["components"] as? [String: Any] ?? [:]
        var tools: [AgentTool] = []
        for (path, value) in paths {
            guard let item = value as? [String: Any] else { continue }
            let shared = item["parameters"] as? [Any] ?? []
            for (method, operationValue) in item where Self.methods.contains(method) {
                guard let operation = operationValue as? [String: Any], let operationId = operation["operationId"] as? String else { continue }
                tools.append(
                    Self.tool(
                        operationId: operationId, method: method.uppercased(), path: path, operation: operation, shared: shared,
                        components: components))
            }
        }
        self.tools = tools.sorted { ($0.area, $0.name) < ($1.area, $1.name) }
        byName = Dictionary(tools.map { ($0.name, $0) }) { first, _ in first }
        guard byName.count == tools.count else { throw AppError(.internalError, "openapi.yaml: two operations make the same tool name") }
    }

    package func tool(named name: String) -> AgentTool? { byName[name] }

    /// Where to follow what a call started: for an answer with an `id`, the read of that resource (`resource_url`)
    /// and the reads under it without further parameters (`logs_url`, `metrics_url`, …).
    package func links(after tool: AgentTool, result: String?) -> [String: String] {
        guard let result, case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(result.utf8)),
            case .string(let id)? = fields["id"]
        else { return [:] }
        let base =
            tool.method == "POST" ? tool.path : tool.path.replacingOccurrences(of: #"/\{[^/}]+\}(/[^/{}]+)?$"#, with: "", options: .regularExpression)
        var links: [String: String] = [:]
        for read in tools where read.method == "GET" && read.path.hasPrefix(base + "/{") {
            let rest = read.path.dropFirst(base.count + 1)
            guard let close = rest.firstIndex(of: "}") else { continue }
            let tail = rest[rest.index(after: close)...]
            let concrete = base + "/" + id + tail
            if tail.isEmpty {
                links["resource_url"] = concrete
            } else if !tail.dropFirst().contains("/") && !tail.contains("{") {
                links["\(tail.dropFirst())_url"] = concrete
            }
        }
        return links
    }

    static func tool(
        operationId: String, method: String, path: String, operation: [String: Any], shared: [Any], components: [String: Any]
    ) -> AgentTool {
        let area = ((operation["tags"] as? [String])?.first ?? "api").replacingOccurrences(of: "-", with: "_")
        let name = operation["x-aitip-tool"] as? String ?? "\(area).\(snakeCase(operationId))"
        let isPublic = (operation["security"] as? [Any])?.isEmpty == true
        let permission = isPublic ? "public" : operation["x-aitip-permission"] as? String ?? "authenticated"
        var properties: [String: JSONValue] = [:]
        var required: [String] = []
        var pathParameters: [String] = []
        var queryParameters: [String] = []
        for raw in shared + (operation["parameters"] as? [Any] ?? []) {
            guard let parameter = resolve(raw, components) as? [String: Any], let name = parameter["name"] as? String else { continue }
            let location = parameter["in"] as? String
            guard location == "path" || location == "query" else { continue }
            var schema = schemaValue(parameter["schema"] ?? [:], components, depth: 0)
            if let text = parameter["description"] as? String, case .object(var fields) = schema {
                fields["description"] = .string(text)
                schema = .object(fields)
            }
            properties[name] = schema
            if location == "path" {
                pathParameters.append(name)
                required.append(name)
            } else {
                queryParameters.append(name)
                if parameter["required"] as? Bool == true { required.append(name) }
            }
        }
        var bodyProperties: [String] = []
        var nestedBody = false
        var hasBody = false
        var notExecutable: String?
        if let body = operation["requestBody"] as? [String: Any], let content = body["content"] as? [String: Any] {
            hasBody = true
            if let json = content["application/json"] as? [String: Any] {
                let schema = schemaValue(json["schema"] ?? [:], components, depth: 0)
                let bodyRequired = body["required"] as? Bool == true
                if case .object(let fields) = schema, case .object(let inner)? = fields["properties"],
                    inner.keys.allSatisfy({ properties[$0] == nil })
                {
                    for (key, value) in inner { properties[key] = value }
                    bodyProperties = inner.keys.sorted()
                    if case .array(let names)? = fields["required"] {
                        required += names.compactMap { if case .string(let s) = $0 { s } else { nil } }
                    }
                } else {
                    nestedBody = true
                    properties["body"] = schema
                    if bodyRequired { required.append("body") }
                }
            } else {
                notExecutable = "it sends a file (\(content.keys.sorted().joined(separator: ", "))): use the CLI or the API"
            }
        }
        if isPublic || permission == "session" {
            notExecutable = notExecutable ?? "it signs a person in or out: an agent acts with the caller's own credential"
        }
        if path.hasPrefix("/api/v1/agent/") { notExecutable = "it is the agent API itself" }
        var schema: [String: JSONValue] = ["type": .string("object"), "properties": .object(properties), "additionalProperties": .bool(false)]
        if !required.isEmpty { schema["required"] = .array(Array(Set(required)).sorted().map(JSONValue.string)) }
        let risk = (operation["x-aitip-risk"] as? String).flatMap(AgentTool.Risk.init(rawValue:)) ?? defaultRisk(method)
        let summary = operation["summary"] as? String ?? operationId
        let details = (operation["description"] as? String).map { " \($0)" } ?? ""
        return AgentTool(
            name: name, area: area, operationId: operationId, method: method, path: path,
            description: "\(summary)\(details) Risk: \(risk.rawValue); needs \(permission).", parameters: .object(schema),
            pathParameters: pathParameters, queryParameters: queryParameters, bodyProperties: bodyProperties, nestedBody: nestedBody,
            hasBody: hasBody, risk: risk, permission: permission, notExecutable: notExecutable)
    }

    static func defaultRisk(_ method: String) -> AgentTool.Risk {
        switch method {
        case "GET": .read
        case "DELETE": .destructive
        default: .write
        }
    }

    /// `createRelease` → `create_release`; an acronym stays one word (`getDatasetFileURL` → `get_dataset_file_url`).
    static func snakeCase(_ text: String) -> String {
        let characters = Array(text)
        var result = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if previous.isLowercase || (previous.isUppercase && next?.isLowercase == true) { result.append("_") }
            }
            result.append(Character(character.lowercased()))
        }
        return result
    }

    /// A `$ref` to a component, followed; anything else as it is.
    static func resolve(_ value: Any, _ components: [String: Any]) -> Any {
        guard let object = value as? [String: Any], let reference = object["$ref"] as? String, reference.hasPrefix("#/components/") else {
            return value
        }
        let parts = reference.dropFirst("#/components/".count).split(separator: "/").map(String.init)
        guard parts.count == 2, let section = components[parts[0]] as? [String: Any], let target = section[parts[1]] else { return value }
        return target
    }

    /// A schema as JSON, with component references written out (six levels deep; deeper ones stay open objects).
    static func schemaValue(_ value: Any, _ components: [String: Any], depth: Int) -> JSONValue {
        let value = resolve(value, components)
        switch value {
        case let object as [String: Any]:
            if depth > 6 { return .object(["type": .string("object")]) }
            var fields: [String: JSONValue] = [:]
            for (key, inner) in object where !key.hasPrefix("x-") && key != "$ref" {
                fields[key] = schemaValue(inner, components, depth: depth + 1)
            }
            return .object(fields)
        case let array as [Any]:
            return .array(array.map { schemaValue($0, components, depth: depth + 1) })
        case let text as String:
            return .string(text)
        case let flag as Bool:
            return .bool(flag)
        case let number as Int:
            return .number(Double(number))
        case let number as Double:
            return .number(number)
        default:
            return .null
        }
    }
}
