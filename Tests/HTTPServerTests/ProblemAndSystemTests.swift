import AITIPAPI
import AITIPTestSupport
import Foundation
import HTTPTypes
import Testing
import Yams

@Suite("Errors are problem+json, bodies are bounded, routes are protected")
struct ProblemTests {
    func expectProblem(_ reply: Reply, status: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == status, "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        #expect(reply["status"] as? Int == status, sourceLocation: sourceLocation)
        #expect((reply.string("type") ?? "").hasPrefix("https://aitip.dev/problems/"), sourceLocation: sourceLocation)
        #expect(reply.string("title") != nil && reply.string("detail") != nil, sourceLocation: sourceLocation)
        #expect(reply.string("request_id") == reply.headers[HTTPField.Name("X-Request-Id")!], sourceLocation: sourceLocation)
        for leak in ["Swift.", ".swift", "DecodingError", "PSQLError", "SQLiteError", "CodingKeys"] {
            #expect(!reply.text.contains(leak), "leaks '\(leak)': \(reply.text)", sourceLocation: sourceLocation)
        }
    }

    @Test("malformed JSON, missing and mistyped fields, bad UUIDs, bad paging", arguments: DatabaseKind.available)
    func badInput(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            expectProblem(try await app.call(.post, "/api/v1/projects", token: token, raw: "{\"name\": "), status: 400)
            expectProblem(try await app.call(.post, "/api/v1/projects", token: token, raw: "[1,2]"), status: 422)
            let missing = try await app.call(.post, "/api/v1/projects", token: token, json: [String: Any]())
            expectProblem(missing, status: 422)
            #expect((missing["errors"] as? [[String: Any]])?.first?["field"] as? String == "name")
            let mistyped = try await app.call(.post, "/api/v1/projects", token: token, json: ["name": 42])
            expectProblem(mistyped, status: 422)
            #expect((mistyped["errors"] as? [[String: Any]])?.first?["message"] as? String == "must be a string")
            let blank = try await app.call(.post, "/api/v1/projects", token: token, json: ["name": "   ", "slug": "Bad Slug"])
            expectProblem(blank, status: 422)
            #expect(Set((blank["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }) == ["name", "slug"])
            expectProblem(try await app.call(.get, "/api/v1/projects/not-a-uuid", token: token), status: 400)
            expectProblem(try await app.call(.get, "/api/v1/projects/\(UUID())", token: token), status: 404)
            expectProblem(try await app.call(.get, "/api/v1/projects?limit=0", token: token), status: 422)
            expectProblem(try await app.call(.get, "/api/v1/projects?limit=ten", token: token), status: 400)
            expectProblem(try await app.call(.get, "/api/v1/projects?cursor=zzz", token: token), status: 422)
            expectProblem(try await app.call(.get, "/api/v1/audit?since=yesterday", token: token), status: 400)
            expectProblem(try await app.call(.get, "/api/v1/no/such/route", token: token), status: 404)
            expectProblem(try await app.call(.get, "/nothing-here"), status: 404)
            expectProblem(try await app.call(.post, "/api/v1/orgs", token: token, json: ["name": "Default", "slug": "default"]), status: 409)
        }
    }

    @Test(
        "the API answers as its document says: 405 with Allow, required bodies, declared page sizes, org deletion confirmed by slug",
        arguments: DatabaseKind.available)
    func keepsTheDocument(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let org = try await app.homeOrg(token)
            let trace = try await app.call(try #require(HTTPRequest.Method("TRACE")), "/api/v1/audit", token: token)
            expectProblem(trace, status: 405)
            #expect(trace.headers[.allow] == "GET")
            let put = try await app.call(.put, "/api/v1/orgs", token: token, json: ["name": "x"])
            expectProblem(put, status: 405)
            #expect(put.headers[.allow] == "GET, POST")
            // A literal segment wins over a capture, as in the router: `…/annotations/export` takes POST only.
            let export = try await app.call(.get, "/api/v1/datasets/\(UUID())/annotations/export", token: token)
            expectProblem(export, status: 405)
            #expect(export.headers[.allow] == "POST")
            expectProblem(try await app.call(.put, "/api/v1/no/such/route", token: token), status: 404)

            // A PUT without its required body changes nothing (it used to be read as `{}`: "change nothing", 200).
            let before = try await app.call(.get, "/api/v1/orgs/\(org)", token: token)
            expectProblem(try await app.call(.put, "/api/v1/orgs/\(org)", token: token), status: 400)
            #expect(try await app.call(.get, "/api/v1/orgs/\(org)", token: token).string("updated_at") == before.string("updated_at"))
            // An optional body may still be left out.
            #expect(try await app.call(.post, "/api/v1/auth/logout", token: try await app.adminToken()).status == 204)

            // Page sizes past the declared maximum are refused, not quietly cut.
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            expectProblem(try await app.call(.get, "/api/v1/training/jobs?limit=501", token: token), status: 422)
            expectProblem(try await app.call(.get, "/api/v1/projects/\(project)/experiments?limit=501", token: token), status: 422)
            expectProblem(try await app.call(.get, "/api/v1/projects/\(project)/models?limit=501", token: token), status: 422)

            // Deleting an organization takes its slug as well as its id.
            let doomed = try await app.call(.post, "/api/v1/orgs", token: token, json: ["name": "Doomed"])
            let (id, slug) = (try #require(doomed.string("id")), try #require(doomed.string("slug")))
            expectProblem(try await app.call(.delete, "/api/v1/orgs/\(id)", token: token), status: 400)
            let wrong = try await app.call(.delete, "/api/v1/orgs/\(id)?confirm=default", token: token)
            expectProblem(wrong, status: 422)
            #expect((wrong["errors"] as? [[String: Any]])?.first?["field"] as? String == "confirm")
            #expect(try await app.call(.get, "/api/v1/orgs/\(id)", token: token).status == 200)
            #expect(try await app.call(.delete, "/api/v1/orgs/\(id)?confirm=\(slug)", token: token).status == 204)
            #expect(try await app.call(.get, "/api/v1/orgs/\(id)", token: token).status == 404)
        }
    }

    @Test("bodies over the limit are refused with 413 and nothing is created")
    func oversizedBody() async throws {
        try await withApp(.sqlite, settings: ["max_body_bytes": "2048"]) { app in
            let token = try await app.adminToken()
            let before = try await app.call(.get, "/api/v1/projects", token: token).items.count
            let huge = try await app.call(
                .post, "/api/v1/projects", token: token,
                json: ["name": "Big", "description": String(repeating: "x", count: 4096)])
            expectProblem(huge, status: 413)
            #expect(try await app.call(.get, "/api/v1/projects", token: token).items.count == before)
        }
    }

    @Test("every operation in the spec needs a credential unless it is marked public")
    func everyRouteIsProtected() async throws {
        let spec = try #require(try Yams.load(yaml: try APISpec.yaml()) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: Any])
        var operations: [(path: String, method: HTTPRequest.Method, isPublic: Bool)] = []
        for (path, item) in paths {
            for (method, operation) in (item as? [String: Any] ?? [:]) {
                guard let httpMethod = HTTPRequest.Method(method.uppercased()), let operation = operation as? [String: Any] else { continue }
                operations.append((path, httpMethod, (operation["security"] as? [Any])?.isEmpty == true))
            }
        }
        let all = operations
        try await withApp(.sqlite) { app in
            var checked = 0
            for (path, httpMethod, isPublic) in all {
                do {
                    let method = httpMethod.rawValue
                    let concrete = path.replacingOccurrences(of: #"\{[a-z_]+\}"#, with: UUID().uuidString.lowercased(), options: .regularExpression)
                    let reply = try await app.call(httpMethod, concrete, json: [String: Any]())
                    if isPublic {
                        // Public operations that carry their own credential refuse a wrong one: a password, a refresh
                        // token, a webhook delivery's signature.
                        let ownCredential = path.hasSuffix("login") || path.hasSuffix("refresh") || path.hasSuffix("trigger")
                        #expect(reply.status != 401 || ownCredential, "\(method) \(path)")
                    } else {
                        #expect(reply.status == 401, "\(method) \(path) answered \(reply.status) without credentials")
                        let forged = try await app.call(httpMethod, concrete, token: "aitip_forged", json: [String: Any]())
                        #expect(forged.status == 401, "\(method) \(path) accepted a forged key")
                    }
                    checked += 1
                }
            }
            #expect(checked >= 25)
        }
    }

    @Test("request ids: a sane client id is echoed, anything else replaced")
    func requestIds() async throws {
        try await withApp(.sqlite) { app in
            let header = HTTPField.Name("X-Request-Id")!
            let echoed = try await app.call(.get, "/healthz", headers: [header: "trace-123.abc"])
            #expect(echoed.headers[header] == "trace-123.abc")
            let replaced = try await app.call(.get, "/healthz", headers: [header: "bad id\u{7f}<script>"])
            #expect(replaced.headers[header] != nil && replaced.headers[header] != "bad id\u{7f}<script>")
            #expect(try await app.call(.get, "/healthz").headers[header]?.count == 36)
        }
    }
}

@Suite("Probes, metrics and the API description")
struct SystemEndpointTests {
    @Test("healthz, readyz and metrics answer without credentials", arguments: DatabaseKind.available)
    func probes(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            #expect(try await app.call(.get, "/healthz")["status"] as? String == "ok")
            let ready = try await app.call(.get, "/readyz")
            #expect(ready.status == 200 && ready["database"] as? String == "ok")
            _ = try await app.call(.get, "/api/v1/projects")
            let metrics = try await app.call(.get, "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains(#"aitip_http_requests_total{route="/api/v1/projects",method="GET",status="401"}"#))
            #expect(metrics.text.contains("aitip_http_request_duration_seconds_bucket"))
            #expect(metrics.text.contains("aitip_db_pool_connections_max{dialect=\"\(kind.rawValue)\"}"))
        }
    }

    @Test("readyz reports 503 when the database is gone")
    func notReady() async throws {
        try await withApp(.sqlite) { app in
            await app.parts.database.shutdown()
            let reply = try await app.call(.get, "/readyz")
            #expect(reply.status == 503 && reply["status"] as? String == "not_ready")
        }
    }

    @Test("the OpenAPI document and its docs page are served")
    func apiDescription() async throws {
        try await withApp(.sqlite) { app in
            let spec = try await app.call(.get, "/api/v1/openapi.yaml")
            #expect(spec.status == 200 && spec.text.hasPrefix("openapi: \"3.1.0\""))
            let docs = try await app.call(.get, "/api/docs")
            #expect(docs.status == 200 && docs.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(docs.text.contains("/api/v1/auth/api-keys") && docs.text.contains("schema-Problem"))
            #expect(!docs.text.contains("http://") || !docs.text.contains("<script src"))
        }
    }
}

@Suite("Web console files")
struct WebConsoleTests {
    @Test("serves the built console with cache headers, and nothing outside its folder")
    func servesConsole() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("web-\(UUID())")
        let dist = root.appendingPathComponent("dist")
        try FileManager.default.createDirectory(at: dist, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data("<!doctype html><div id=root></div>".utf8).write(to: dist.appendingPathComponent("index.html"))
        try Data("console.log(1)".utf8).write(to: dist.appendingPathComponent("app.js"))
        try Data("top secret".utf8).write(to: root.appendingPathComponent("secret.txt"))
        try await withApp(.sqlite, settings: ["web_dir": dist.path]) { app in
            let index = try await app.call(.get, "/")
            #expect(index.status == 200 && index.text.contains("id=root"))
            #expect(index.headers[.cacheControl] == "no-cache")
            #expect(index.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'self'") == true)
            // The links an MLflow client prints under a project's tracking URI open the console too.
            for link in ["/mlflow/acme/vision/", "/mlflow/acme/vision"] {
                let scoped = try await app.call(.get, link)
                #expect(scoped.status == 200 && scoped.text.contains("id=root"), "\(link) → \(scoped.status)")
            }
            let script = try await app.call(.get, "/app.js")
            #expect(script.status == 200 && script.text == "console.log(1)")
            #expect(script.headers[.cacheControl]?.contains("max-age=300") == true)
            for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"] {
                let escape = try await app.call(.get, path)
                #expect(!escape.text.contains("top secret") && escape.status >= 400, "\(path) → \(escape.status)")
            }
        }
    }

    @Test("without a build, / explains how to make one")
    func missingBuild() async throws {
        try await withApp(.sqlite, settings: ["web_dir": "/nonexistent/web/dist"]) { app in
            let index = try await app.call(.get, "/")
            #expect(index.status == 200 && index.text.contains("web/build.sh"))
        }
    }
}
