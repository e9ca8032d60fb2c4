import Foundation
import Yams

/// Renders the OpenAPI document as one self-contained HTML page (no CDN, no script): every operation with its
/// parameters, body and responses, then every schema.
enum APIDocsPage {
    static func render(specYAML: String) throws -> String {
        guard let spec = try Yams.load(yaml: specYAML) as? [String: Any] else { return "<p>The API description could not be read.</p>" }
        let info = spec["info"] as? [String: Any] ?? [:]
        let paths = spec["paths"] as? [String: Any] ?? [:]
        let components = spec["components"] as? [String: Any] ?? [:]
        let schemas = components["schemas"] as? [String: Any] ?? [:]
        let sharedParameters = components["parameters"] as? [String: Any] ?? [:]

        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>\(escape(info["title"] as? String ?? "API")) — reference</title><style>
            body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1d1d1f;background:#fff}
            @media (prefers-color-scheme:dark){body{color:#e8e8ea;background:#151518}code,.op{background:#202027!important}}
            h1{margin-bottom:.2rem} .op{border:1px solid #8884;border-radius:8px;padding:.6rem 1rem;margin:.8rem 0;background:#fafafa}
            .m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:ui-monospace,monospace}
            .get{color:#0a7d32}.post{color:#0756b5}.put{color:#9a5b00}.delete{color:#b3261e}
            code{font-family:ui-monospace,monospace;background:#f0f0f3;padding:0 .25rem;border-radius:4px}
            table{border-collapse:collapse;margin:.3rem 0} td,th{text-align:left;padding:.15rem .8rem .15rem 0;vertical-align:top}
            nav a{margin-right:.8rem}</style></head><body>
            <h1>\(escape(info["title"] as? String ?? "API")) <small>\(escape(info["version"] as? String ?? ""))</small></h1>
            <p>\(escape(info["description"] as? String ?? "")) The machine-readable description is at
            <a href="/api/v1/openapi.yaml"><code>/api/v1/openapi.yaml</code></a>.</p>
            <nav><a href="#operations">Operations</a><a href="#schemas">Schemas</a></nav><h2 id="operations">Operations</h2>
            """
        for path in paths.keys.sorted() {
            guard let item = paths[path] as? [String: Any] else { continue }
            let pathParameters = item["parameters"] as? [Any] ?? []
            for method in ["get", "post", "put", "patch", "delete"] {
                guard let operation = item[method] as? [String: Any] else { continue }
                let isPublic = (operation["security"] as? [Any])?.isEmpty == true
                html +=
                    "<div class=\"op\" id=\"\(escape(operation["operationId"] as? String ?? ""))\"><span class=\"m \(method)\">\(method.uppercased())</span> <code>\(escape(path))</code>"
                html += isPublic ? " <small>(public)</small>" : " <small>(bearer token or API key)</small>"
                if let summary = operation["summary"] as? String { html += "<p>\(escape(summary))</p>" }
                let parameters = (pathParameters + (operation["parameters"] as? [Any] ?? [])).compactMap {
                    resolveParameter($0, shared: sharedParameters)
                }
                if !parameters.isEmpty {
                    html += "<table><tr><th>Parameter</th><th>In</th><th>Type</th><th></th></tr>"
                    for parameter in parameters {
                        html +=
                            "<tr><td><code>\(escape(parameter["name"] as? String ?? ""))</code></td><td>\(escape(parameter["in"] as? String ?? ""))</td><td>\(typeName(parameter["schema"]))</td><td>\((parameter["required"] as? Bool) == true ? "required" : "")</td></tr>"
                    }
                    html += "</table>"
                }
                if let body = operation["requestBody"] as? [String: Any], let content = body["content"] as? [String: Any] {
                    for (type, media) in content {
                        html += "<p>Body (<code>\(escape(type))</code>): \(typeName((media as? [String: Any])?["schema"]))</p>"
                    }
                }
                if let responses = operation["responses"] as? [String: Any] {
                    html +=
                        "<p>Responses: "
                        + responses.keys.sorted().map { code in
                            let response = responses[code] as? [String: Any] ?? [:]
                            let schema = ((response["content"] as? [String: Any])?.values.first as? [String: Any])?["schema"]
                            let label = code == "default" ? "errors (problem+json)" : code
                            return "<code>\(escape(label))</code>" + (schema != nil && code != "default" ? " \(typeName(schema))" : "")
                        }.joined(separator: ", ") + "</p>"
                }
                html += "</div>"
            }
        }
        html += "<h2 id=\"schemas\">Schemas</h2>"
        for name in schemas.keys.sorted() {
            guard let schema = schemas[name] as? [String: Any] else { continue }
            html += "<div class=\"op\" id=\"schema-\(escape(name))\"><strong>\(escape(name))</strong>"
            html += schemaTable(schema)
            if let parts = schema["allOf"] as? [Any] {
                html += "<p>All of: " + parts.map { typeName($0) }.joined(separator: " + ") + "</p>"
                for part in parts { if let part = part as? [String: Any] { html += schemaTable(part) } }
            }
            if let values = schema["enum"] as? [Any] {
                html += "<p>One of: " + values.map { "<code>\(escape("\($0)"))</code>" }.joined(separator: ", ") + "</p>"
            }
            html += "</div>"
        }
        return html + "</body></html>"
    }

    private static func schemaTable(_ schema: [String: Any]) -> String {
        guard let properties = schema["properties"] as? [String: Any], !properties.isEmpty else { return "" }
        let required = Set(schema["required"] as? [String] ?? [])
        var html = "<table><tr><th>Field</th><th>Type</th><th></th></tr>"
        for field in properties.keys.sorted() {
            let property = properties[field] as? [String: Any] ?? [:]
            html +=
                "<tr><td><code>\(escape(field))</code></td><td>\(typeName(property))</td><td>\(required.contains(field) ? "required" : "") \(escape(property["description"] as? String ?? ""))</td></tr>"
        }
        return html + "</table>"
    }

    private static func resolveParameter(_ value: Any, shared: [String: Any]) -> [String: Any]? {
        guard let parameter = value as? [String: Any] else { return nil }
        if let ref = parameter["$ref"] as? String { return shared[String(ref.split(separator: "/").last ?? "")] as? [String: Any] }
        return parameter
    }

    private static func typeName(_ value: Any?) -> String {
        guard let schema = value as? [String: Any] else { return "" }
        if let ref = schema["$ref"] as? String {
            let name = String(ref.split(separator: "/").last ?? "")
            return "<a href=\"#schema-\(escape(name))\">\(escape(name))</a>"
        }
        if let type = schema["type"] as? String {
            if type == "array" { return "array of " + typeName(schema["items"]) }
            if let format = schema["format"] as? String { return "\(escape(type)) (\(escape(format)))" }
            return escape(type)
        }
        return "object"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
