import Foundation
import HTTPTypes
import Hummingbird
import MLflowServer
import Testing

/// Every MLflow route under every prefix it is mounted under, as `MLflowRoutePermissions` declares it, and how to
/// make a valid request for each.
enum MLflowRecipes {
    /// Routes that name no experiment, run or model: under an unscoped prefix they act in the caller's own default
    /// project, so a member of another organization is answered about theirs.
    static let callerScoped: Set<String> = [
        "POST experiments/create", "POST experiments/search", "GET experiments/search", "POST registered-models/create",
        "GET registered-models/search", "POST registered-models/search", "GET model-versions/search", "POST model-versions/search",
        "POST webhooks", "GET webhooks",
    ]

    static func operations() -> [AccessMatrix.Operation] {
        var operations: [AccessMatrix.Operation] = []
        for (route, declaration) in MLflowRoutePermissions.declared {
            for root in MLflowRoutes.roots {
                for prefix in declaration.family.prefixes {
                    operations.append(
                        AccessMatrix.Operation(
                            name: "\(route) under \(root)\(prefix)", method: route.method, template: "\(root)\(prefix)/\(route.path)",
                            isPublic: false, permission: declaration.permission.description, success: 200,
                            isMutation: route.method != .get && !declaration.readOnly,
                            actsInCallersProject: root.isEmpty && callerScoped.contains(route.description)))
                }
            }
        }
        return operations.sorted { $0.name < $1.name }
    }

    static func request(_ operation: AccessMatrix.Operation, _ who: AccessMatrix.Who, _ w: AccessWorld) async throws -> AccessMatrix.Request? {
        // The concrete prefix: the template up to the route's own path, with the project named by slugs.
        let route = try #require(
            MLflowRoutePermissions.declared.keys.first { operation.template.hasSuffix("/" + $0.path) && operation.method == $0.method })
        let base = String(operation.template.dropLast(route.path.count + 1))
            .replacingOccurrences(of: ":org", with: w.orgASlug).replacingOccurrences(of: ":project", with: "default")
        let unique = AccessWorld.unique
        func post(_ path: String, _ body: [String: Any]) -> AccessMatrix.Request { .init(path: "\(base)/\(path)", body: .json(body)) }
        func get(_ path: String, _ query: [String: String]) -> AccessMatrix.Request {
            var components = URLComponents()
            components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
            return .init(path: "\(base)/\(path)?\(components.percentEncodedQuery ?? "")")
        }
        func with(_ method: HTTPRequest.Method, _ path: String, _ body: [String: Any]) -> AccessMatrix.Request {
            precondition(method == operation.method)
            return post(path, body)
        }

        switch route.description {
        // experiments
        case "POST experiments/create": return post("experiments/create", ["name": unique("mlflow-e")])
        case "GET experiments/get": return get("experiments/get", ["experiment_id": try await w.experiment()])
        case "GET experiments/get-by-name":
            let id = try await w.experiment()
            let name = try #require(try await w.app.call(.get, "/api/v1/experiments/\(id)", token: w.ownerToken).string("name"))
            return get("experiments/get-by-name", ["experiment_name": name])
        case "POST experiments/search": return post("experiments/search", ["max_results": 5])
        case "GET experiments/search": return get("experiments/search", ["max_results": "5"])
        case "POST experiments/update":
            return post("experiments/update", ["experiment_id": try await w.freshExperiment(), "new_name": unique("renamed")])
        case "POST experiments/delete": return post("experiments/delete", ["experiment_id": try await w.freshExperiment()])
        case "POST experiments/restore":
            let experiment = try await w.freshExperiment()
            try await w.mlflow("experiments/delete", ["experiment_id": experiment])
            return post("experiments/restore", ["experiment_id": experiment])
        case "POST experiments/set-experiment-tag":
            return post("experiments/set-experiment-tag", ["experiment_id": try await w.experiment(), "key": "k", "value": "v"])
        case "POST experiments/delete-experiment-tag":
            let experiment = try await w.freshExperiment()
            try await w.mlflow("experiments/set-experiment-tag", ["experiment_id": experiment, "key": "k", "value": "v"])
            return post("experiments/delete-experiment-tag", ["experiment_id": experiment, "key": "k"])

        // runs
        case "POST runs/create": return post("runs/create", ["experiment_id": try await w.experiment()])
        case "GET runs/get": return get("runs/get", ["run_id": try await w.run()])
        case "POST runs/update": return post("runs/update", ["run_id": try await w.freshRun(), "status": "FINISHED"])
        case "POST runs/delete": return post("runs/delete", ["run_id": try await w.freshRun()])
        case "POST runs/restore":
            let run = try await w.freshRun()
            try await w.mlflow("runs/delete", ["run_id": run])
            return post("runs/restore", ["run_id": run])
        case "POST runs/search": return post("runs/search", ["experiment_ids": [try await w.experiment()]])
        case "POST runs/log-metric":
            return post("runs/log-metric", ["run_id": try await w.freshRun(), "key": "loss", "value": 0.5, "timestamp": 1, "step": 0])
        case "POST runs/log-parameter": return post("runs/log-parameter", ["run_id": try await w.freshRun(), "key": "lr", "value": "0.1"])
        case "POST runs/set-tag": return post("runs/set-tag", ["run_id": try await w.freshRun(), "key": "k", "value": "v"])
        case "POST runs/delete-tag":
            let run = try await w.freshRun()
            try await w.mlflow("runs/set-tag", ["run_id": run, "key": "k", "value": "v"])
            return post("runs/delete-tag", ["run_id": run, "key": "k"])
        case "POST runs/log-batch":
            return post("runs/log-batch", ["run_id": try await w.freshRun(), "metrics": [["key": "loss", "value": 0.5, "timestamp": 1, "step": 0]]])
        case "POST runs/log-inputs":
            return post(
                "runs/log-inputs",
                [
                    "run_id": try await w.freshRun(),
                    "datasets": [["dataset": ["name": "d", "digest": "abc", "source_type": "local", "source": "{}"]]],
                ])
        case "POST runs/outputs": return post("runs/outputs", ["run_id": try await w.freshRun(), "models": [["model_id": "m-1", "step": 0]]])
        case "POST runs/log-model":
            return post("runs/log-model", ["run_id": try await w.freshRun(), "model_json": #"{"artifact_path": "model", "flavors": {}}"#])
        case "GET metrics/get-history": return get("metrics/get-history", ["run_id": try await w.run(), "metric_key": "loss"])
        case "GET artifacts/list": return get("artifacts/list", ["run_id": try await w.run()])

        // logged models
        case "POST logged-models": return post("logged-models", ["experiment_id": try await w.experiment(), "name": unique("lm")])
        case "GET logged-models/:model_id": return get("logged-models/\(try await w.loggedModel())", [:])
        case "PATCH logged-models/:model_id": return with(.patch, "logged-models/\(try await w.freshLoggedModel())", ["status": "LOGGED_MODEL_READY"])
        case "DELETE logged-models/:model_id": return with(.delete, "logged-models/\(try await w.freshLoggedModel())", [:])
        case "PATCH logged-models/:model_id/tags":
            return with(.patch, "logged-models/\(try await w.freshLoggedModel())/tags", ["tags": [["key": "k", "value": "v"]]])
        case "DELETE logged-models/:model_id/tags/:tag_key":
            let model = try await w.freshLoggedModel()
            try await w.mlflow("logged-models/\(model)/tags", ["tags": [["key": "k", "value": "v"]]], method: .patch)
            return with(.delete, "logged-models/\(model)/tags/k", [:])
        case "POST logged-models/search": return post("logged-models/search", ["experiment_ids": [try await w.experiment()]])

        // model registry
        case "POST registered-models/create": return post("registered-models/create", ["name": unique("rm")])
        case "GET registered-models/get": return get("registered-models/get", ["name": try await w.modelVersion().name])
        case "PATCH registered-models/update":
            return with(.patch, "registered-models/update", ["name": try await w.modelVersion().name, "description": "changed"])
        case "POST registered-models/rename":
            return post("registered-models/rename", ["name": try await w.freshModelVersion().name, "new_name": unique("renamed")])
        case "DELETE registered-models/delete": return with(.delete, "registered-models/delete", ["name": try await w.freshModelVersion().name])
        case "POST registered-models/set-tag":
            return post("registered-models/set-tag", ["name": try await w.modelVersion().name, "key": "k", "value": "v"])
        case "DELETE registered-models/delete-tag":
            let model = try await w.freshModelVersion().name
            try await w.mlflow("registered-models/set-tag", ["name": model, "key": "k", "value": "v"])
            return with(.delete, "registered-models/delete-tag", ["name": model, "key": "k"])
        case "POST registered-models/alias":
            let model = try await w.modelVersion()
            return post("registered-models/alias", ["name": model.name, "alias": "champion", "version": model.version])
        case "DELETE registered-models/alias":
            let model = try await w.freshModelVersion()
            try await w.mlflow("registered-models/alias", ["name": model.name, "alias": "champion", "version": model.version])
            return with(.delete, "registered-models/alias", ["name": model.name, "alias": "champion"])
        case "GET registered-models/alias":
            let model = try await w.modelVersion()
            try await w.mlflow("registered-models/alias", ["name": model.name, "alias": "stable", "version": model.version])
            return get("registered-models/alias", ["name": model.name, "alias": "stable"])
        case "GET registered-models/search": return get("registered-models/search", ["max_results": "5"])
        case "POST registered-models/search": return post("registered-models/search", ["max_results": 5])
        case "POST registered-models/get-latest-versions":
            return post("registered-models/get-latest-versions", ["name": try await w.modelVersion().name])
        case "GET registered-models/get-latest-versions":
            return get("registered-models/get-latest-versions", ["name": try await w.modelVersion().name])
        case "POST model-versions/create":
            let run = try await w.run()
            return post(
                "model-versions/create",
                [
                    "name": try await w.modelVersion().name, "source": "mlflow-artifacts:/\(try await w.experiment())/\(run)/artifacts/model",
                    "run_id": run,
                ])
        case "GET model-versions/get":
            let model = try await w.modelVersion()
            return get("model-versions/get", ["name": model.name, "version": model.version])
        case "GET model-versions/get-download-uri":
            let model = try await w.modelVersion()
            return get("model-versions/get-download-uri", ["name": model.name, "version": model.version])
        case "PATCH model-versions/update":
            let model = try await w.modelVersion()
            return with(.patch, "model-versions/update", ["name": model.name, "version": model.version, "description": "changed"])
        case "DELETE model-versions/delete":
            let model = try await w.freshModelVersion()
            return with(.delete, "model-versions/delete", ["name": model.name, "version": model.version])
        case "POST model-versions/transition-stage":
            let model = try await w.modelVersion()
            return post("model-versions/transition-stage", ["name": model.name, "version": model.version, "stage": "Staging"])
        case "POST model-versions/set-tag":
            let model = try await w.modelVersion()
            return post("model-versions/set-tag", ["name": model.name, "version": model.version, "key": "k", "value": "v"])
        case "DELETE model-versions/delete-tag":
            let model = try await w.freshModelVersion()
            try await w.mlflow("model-versions/set-tag", ["name": model.name, "version": model.version, "key": "k", "value": "v"])
            return with(.delete, "model-versions/delete-tag", ["name": model.name, "version": model.version, "key": "k"])
        case "GET model-versions/search": return get("model-versions/search", ["max_results": "5"])
        case "POST model-versions/search": return post("model-versions/search", ["max_results": 5])

        // webhooks: aimed at localhost, which a test request (allowed callers) is refused to reach at default settings
        case "POST webhooks": return post("webhooks", AccessWorld.webhookBody(unique("wh")))
        case "GET webhooks": return get("webhooks", ["max_results": "5"])
        case "GET webhooks/:webhook_id": return .init(path: "\(base)/webhooks/\(try await w.webhook())")
        case "PATCH webhooks/:webhook_id": return with(.patch, "webhooks/\(try await w.webhook())", ["description": unique("d")])
        case "DELETE webhooks/:webhook_id": return .init(path: "\(base)/webhooks/\(try await w.freshWebhook())")
        case "POST webhooks/:webhook_id/test": return post("webhooks/\(try await w.webhook())/test", [:])

        // traces: a stranger's own default experiment ("0") would be theirs, so the recipes name A's experiment
        case "POST traces": return post("traces", AccessWorld.traceBody("tr-\(UUID().uuidString.prefix(8))", experiment: try await w.experiment()))
        case "GET traces/:trace_id": return .init(path: "\(base)/traces/\(try await w.trace())")
        case "POST traces/search": return post("traces/search", ["experiment_ids": [try await w.experiment()]])
        case "PATCH traces/:trace_id/tags": return with(.patch, "traces/\(try await w.trace())/tags", ["key": "k", "value": "v"])
        case "DELETE traces/:trace_id/tags": return with(.delete, "traces/\(try await w.trace())/tags", ["key": "k"])
        case "POST traces/delete-traces":
            return post("traces/delete-traces", ["experiment_id": try await w.experiment(), "request_ids": [try await w.freshTrace()]])

        // the proxied artifact store
        case "PUT artifacts/**":
            return .init(
                path: "\(base)/artifacts/\(try await w.experiment())/\(try await w.run())/artifacts/\(unique("f")).txt",
                body: .bytes(Data("artifact\n".utf8), contentType: "application/octet-stream"))
        case "GET artifacts/**": return .init(path: "\(base)/artifacts/\(try await w.artifact())")
        case "GET artifacts": return get("artifacts", ["path": "\(try await w.experiment())/\(try await w.run())/artifacts"])
        case "DELETE artifacts/**": return .init(path: "\(base)/artifacts/\(try await w.freshArtifact())")
        case "POST mpu/create/**":
            return post("mpu/create/\(try await w.experiment())/\(try await w.run())/artifacts", ["path": "/tmp/\(unique("m")).bin", "num_parts": 2])
        case "POST mpu/complete/**":
            let upload = try await w.multipartUpload(sendingParts: true)
            return post(
                "mpu/complete/\(upload.directory)",
                ["path": upload.file, "upload_id": upload.id, "parts": upload.etags.map { ["part_number": $0.key, "etag": $0.value] }])
        case "POST mpu/abort/**":
            let upload = try await w.multipartUpload(sendingParts: false)
            return post("mpu/abort/\(upload.directory)", ["path": upload.file, "upload_id": upload.id])
        default:
            return nil
        }
    }
}

extension AccessWorld {
    /// One MLflow call as A's owner, under the unscoped prefix; it must succeed.
    func mlflow(_ path: String, _ body: [String: Any], method: HTTPRequest.Method = .post) async throws {
        let reply = try await app.call(method, "/api/2.0/mlflow/\(path)", token: ownerToken, json: body)
        try #require(reply.status == 200, "fixture \(path) failed: \(reply.text)")
    }

    func loggedModel() async throws -> String { try await shared("logged-model") { try await freshLoggedModel() } }

    func freshLoggedModel() async throws -> String {
        let reply = try await app.call(
            .post, "/api/2.0/mlflow/logged-models", token: ownerToken, json: ["experiment_id": try await experiment(), "name": Self.unique("lm")])
        let info = (reply["model"] as? [String: Any])?["info"] as? [String: Any]
        return try #require(info?["model_id"] as? String, "\(reply.text)")
    }

    /// A registered model of project A with version 1.
    func modelVersion() async throws -> (name: String, version: String) {
        let name = try await shared("model-version") { try await freshModelVersion().name }
        return (name, "1")
    }

    func freshModelVersion() async throws -> (name: String, version: String) {
        let name = Self.unique("rm")
        try await mlflow("registered-models/create", ["name": name])
        let run = try await run()
        try await mlflow(
            "model-versions/create", ["name": name, "source": "mlflow-artifacts:/\(try await experiment())/\(run)/artifacts/model", "run_id": run])
        return (name, "1")
    }

    static func traceBody(_ id: String, experiment: String) -> [String: Any] {
        [
            "trace": [
                "trace_info": [
                    "trace_id": id, "trace_location": ["type": "MLFLOW_EXPERIMENT", "mlflow_experiment": ["experiment_id": experiment]],
                    "request_time": "2026-12-06T10:00:00Z", "state": "OK",
                ] as [String: Any]
            ]
        ]
    }

    /// A trace in A's shared experiment.
    func trace() async throws -> String { try await shared("trace") { try await freshTrace() } }

    func freshTrace() async throws -> String {
        let id = "tr-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let reply = try await app.call(
            .post, "/api/3.0/mlflow/traces", token: ownerToken, json: Self.traceBody(id, experiment: try await experiment()))
        try #require(reply.status == 200, "fixture trace failed: \(reply.text)")
        return id
    }

    static func webhookBody(_ name: String) -> [String: Any] {
        ["name": name, "url": "http://localhost:9/\(name)", "events": [["entity": "MODEL_VERSION", "action": "CREATED"]]]
    }

    /// A webhook of project A (its owner's default project).
    func webhook() async throws -> String { try await shared("webhook") { try await freshWebhook() } }

    func freshWebhook() async throws -> String {
        let reply = try await app.call(.post, "/api/2.0/mlflow/webhooks", token: ownerToken, json: Self.webhookBody(Self.unique("wh")))
        return try #require((reply["webhook"] as? [String: Any])?["webhook_id"] as? String, "\(reply.text)")
    }

    /// A fresh multipart upload by A's owner into the shared run's artifacts, with its one part sent when asked.
    func multipartUpload(sendingParts: Bool) async throws -> (directory: String, file: String, id: String, etags: [Int: String]) {
        let directory = "\(try await experiment())/\(try await run())/artifacts"
        let file = Self.unique("mp") + ".bin"
        let created = try await app.call(
            .post, "/api/2.0/mlflow-artifacts/mpu/create/\(directory)", token: ownerToken, json: ["path": file, "num_parts": 1])
        let credential = try #require((created["credentials"] as? [[String: Any]])?.first, "\(created.text)")
        var etags: [Int: String] = [:]
        if sendingParts {
            var headers = HTTPFields()
            for (name, value) in try #require(credential["headers"] as? [String: String]) { headers[HTTPField.Name(name)!] = value }
            headers[.contentLength] = "4"
            let text = try #require(credential["url"] as? String)
            let url = try #require(URL(string: text))
            let sent = try await app.client.execute(uri: url.path, method: .put, headers: headers, body: ByteBuffer(string: "part"))
            etags[1] = try #require(sent.headers[.eTag], "part upload answered \(sent.status)")
        }
        return (directory, file, try #require(created.string("upload_id")), etags)
    }

    /// A file stored in the shared run's artifacts, under its artifact-store path.
    func artifact() async throws -> String { try await shared("artifact") { try await freshArtifact() } }

    func freshArtifact() async throws -> String {
        let path = "\(try await experiment())/\(try await run())/artifacts/\(Self.unique("a")).txt"
        let reply = try await app.callBytes(
            .put, "/api/2.0/mlflow-artifacts/artifacts/\(path)", token: ownerToken, body: Data("artifact\n".utf8),
            contentType: "application/octet-stream")
        try #require(reply.status == 200, "\(reply.text)")
        return path
    }
}
