import AITIPTestSupport
import Foundation
import HTTPTypes
import Testing

/// The native tracking API and the storage rules behind both APIs, on SQLite and PostgreSQL. (The MLflow wire
/// format is covered by the real client in pytests/mlflow.)
@Suite("Tracking API")
struct TrackingAPITests {
    struct Setup {
        var app: TestApp
        var token: String
        var project: String
        var experiment: String
    }

    static func setup(_ app: TestApp) async throws -> Setup {
        let token = try await app.adminToken()
        let projects = try await app.call(.get, "/api/v1/projects", token: token)
        let project = try #require(projects.items.first?["id"] as? String)
        let experiment = try await app.call(.post, "/api/v1/projects/\(project)/experiments", token: token, json: ["name": "exp"])
        return Setup(app: app, token: token, project: project, experiment: try #require(experiment.string("id"), "\(experiment.text)"))
    }

    func newRun(_ s: Setup, name: String = "run") async throws -> String {
        let reply = try await s.app.call(.post, "/api/v1/experiments/\(s.experiment)/runs", token: s.token, json: ["name": name])
        return try #require(reply.string("id"), "\(reply.text)")
    }

    @Test("points logged out of order come back in step order; the latest value is the highest step's", arguments: DatabaseKind.available)
    func historyOrderAndLatest(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let s = try await Self.setup(app)
            let run = try await newRun(s)
            for batch in [[5, 6, 7], [0, 1, 2], [3, 4]] {
                let log = try await app.call(
                    .post, "/api/v1/runs/\(run)/log", token: s.token,
                    json: [
                        "metrics": [
                            ["key": "loss", "steps": batch, "values": batch.map { 10.0 - Double($0) }, "timestamps": batch.map { _ in 1_000 }]
                        ]
                    ])
                #expect(log.status == 204, "\(log.text)")
            }
            let series = try await app.call(.get, "/api/v1/runs/\(run)/metrics/loss", token: s.token)
            let points = try #require(series["points"] as? [[String: Any]])
            #expect(points.compactMap { $0["step"] as? Int } == Array(0...7))
            #expect(series["total_points"] as? Int == 8)
            let detail = try await app.call(.get, "/api/v1/runs/\(run)", token: s.token)
            let latest = try #require((detail["metrics"] as? [[String: Any]])?.first)
            #expect(latest["step"] as? Int == 7 && latest["value"] as? Double == 3.0)

            let downsampled = try await app.call(.get, "/api/v1/runs/\(run)/metrics/loss?max_points=4", token: s.token)
            let kept = try #require(downsampled["points"] as? [[String: Any]]).compactMap { $0["step"] as? Int }
            #expect(kept.count == 4 && kept.first == 0 && kept.last == 7)
            #expect(try await app.call(.get, "/api/v1/runs/\(run)/metrics/loss?max_points=2", token: s.token).status == 400)

            // A step range reads that part at full detail (across the chunks it overlaps).
            let zoomed = try await app.call(.get, "/api/v1/runs/\(run)/metrics/loss?min_step=2&max_step=5", token: s.token)
            #expect(try #require(zoomed["points"] as? [[String: Any]]).compactMap { $0["step"] as? Int } == [2, 3, 4, 5])
            #expect(zoomed["total_points"] as? Int == 4)
            let tail = try await app.call(.get, "/api/v1/runs/\(run)/metrics/loss?min_step=6", token: s.token)
            #expect(try #require(tail["points"] as? [[String: Any]]).compactMap { $0["step"] as? Int } == [6, 7])
            let inverted = try await app.call(.get, "/api/v1/runs/\(run)/metrics/loss?min_step=5&max_step=2", token: s.token)
            #expect(inverted.status == 400 && inverted.text.contains("min_step"))
        }
    }

    @Test("an exact duplicate point is stored once, sent again alone, in a batch, or twice in one request", arguments: DatabaseKind.available)
    func duplicatePoints(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let s = try await Self.setup(app)
            let run = try await newRun(s)
            func log(_ steps: [Int], _ values: [Double], _ timestamps: [Int]) async throws {
                let reply = try await app.call(
                    .post, "/api/v1/runs/\(run)/log", token: s.token,
                    json: ["metrics": [["key": "loss", "steps": steps, "values": values, "timestamps": timestamps]]])
                #expect(reply.status == 204, "\(reply.text)")
            }
            try await log([0, 1, 2], [0.9, 0.5, 0.25], [1_000, 1_001, 1_002])
            try await log([0, 1, 2], [0.9, 0.5, 0.25], [1_000, 1_001, 1_002]) // the whole series again (MLflow's log_model)
            try await log([1, 1], [0.5, 0.4], [1_001, 1_001]) // one repeat, and another value at the same step and time
            try await log([3, 3], [0.125, 0.125], [1_003, 1_003]) // twice in one request
            let mlflow = try await app.call(
                .post, "/api/2.0/mlflow/runs/log-metric", token: s.token,
                json: ["run_id": run, "key": "loss", "value": 0.25, "timestamp": 1_002, "step": 2])
            #expect(mlflow.status == 200, "\(mlflow.text)")
            let series = try await app.call(.get, "/api/v1/runs/\(run)/metrics/loss", token: s.token)
            let points = try #require(series["points"] as? [[String: Any]]).map { ($0["step"] as? Int ?? -1, $0["value"] as? Double ?? -1) }
            #expect(points.map(\.0) == [0, 1, 1, 2, 3] && Set(points.filter { $0.0 == 1 }.map(\.1)) == [0.5, 0.4], "\(points)")
            #expect(series["total_points"] as? Int == 5)
            // A new point at the latest step with a later timestamp is a new point.
            try await log([3], [0.125], [1_004])
            #expect(try await app.call(.get, "/api/v1/runs/\(run)/metrics/loss", token: s.token)["total_points"] as? Int == 6)
        }
    }

    @Test("search compiles to SQL with the same meaning on both databases", arguments: DatabaseKind.available)
    func searchSemantics(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let s = try await Self.setup(app)
            for (name, model, acc) in [("a", "ResNet", 0.9), ("b", "resnet", 0.7), ("c", "vit", 0.95), ("d", "vit", 0.5)] {
                let run = try await newRun(s, name: name)
                let log = try await app.call(
                    .post, "/api/v1/runs/\(run)/log", token: s.token,
                    json: [
                        "metrics": [["key": "acc", "steps": [0], "values": [acc]]], "params": ["model": model],
                    ])
                #expect(log.status == 204)
            }
            func names(_ filter: String, order: String = "metrics.acc DESC") async throws -> [String] {
                let query =
                    "filter=\(filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&order_by=\(order.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
                let reply = try await app.call(.get, "/api/v1/experiments/\(s.experiment)/runs?\(query)", token: s.token)
                #expect(reply.status == 200, "\(reply.text)")
                return reply.items.compactMap { $0["name"] as? String }
            }
            #expect(try await names("params.model LIKE 'res%'") == ["b"]) // LIKE is case-sensitive on both
            #expect(try await names("params.model ILIKE 'res%'") == ["a", "b"])
            #expect(try await names("metrics.acc >= 0.7 AND params.model != 'vit'") == ["a", "b"])
            #expect(try await names("params.model IN ('vit', 'none')", order: "metrics.acc ASC") == ["d", "c"])
            #expect(try await names("attributes.run_name = 'c'") == ["c"])
            #expect(try await names("metrics.missing > 0") == [])
            let bad = try await app.call(.get, "/api/v1/experiments/\(s.experiment)/runs?filter=metrics.acc%20%3D%20'x'", token: s.token)
            #expect(bad.status == 400)
            let paged = try await app.call(.get, "/api/v1/experiments/\(s.experiment)/runs?limit=3", token: s.token)
            let cursor = try #require(paged.string("next_cursor"))
            let rest = try await app.call(.get, "/api/v1/experiments/\(s.experiment)/runs?limit=3&cursor=\(cursor)", token: s.token)
            #expect(paged.items.count == 3 && rest.items.count == 1)
        }
    }

    @Test("a refused write changes nothing: changed params, deleted runs, bad bodies", arguments: DatabaseKind.available)
    func refusedWritesLeaveNoTrace(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let s = try await Self.setup(app)
            let run = try await newRun(s)
            #expect(try await app.call(.post, "/api/v1/runs/\(run)/log", token: s.token, json: ["params": ["lr": "0.1"]]).status == 204)
            // One batch: a new metric and a changed param. The param change fails, so the metric must not appear.
            let refused = try await app.call(
                .post, "/api/v1/runs/\(run)/log", token: s.token,
                json: [
                    "metrics": [["key": "loss", "steps": [0], "values": [1.0]]], "params": ["lr": "0.2"],
                ])
            #expect(refused.status == 400 && refused.text.contains("Changing param values is not allowed"))
            let mismatched = try await app.call(
                .post, "/api/v1/runs/\(run)/log", token: s.token,
                json: [
                    "metrics": [["key": "loss", "steps": [0, 1], "values": [1.0]]]
                ])
            #expect(mismatched.status == 422)
            let escaping = try await app.call(
                .post, "/api/v1/runs/\(run)/log", token: s.token,
                json: [
                    "metrics": [["key": "../x", "steps": [0], "values": [1.0]]]
                ])
            #expect(escaping.status == 400)
            let detail = try await app.call(.get, "/api/v1/runs/\(run)", token: s.token)
            #expect((detail["metrics"] as? [Any])?.isEmpty == true)
            #expect((detail["params"] as? [String: String]) == ["lr": "0.1"])

            #expect(try await app.call(.patch, "/api/v1/runs/\(run)", token: s.token, json: ["lifecycle_stage": "deleted"]).status == 200)
            #expect(try await app.call(.post, "/api/v1/runs/\(run)/log", token: s.token, json: ["params": ["x": "1"]]).status == 400)
            #expect(try await app.call(.patch, "/api/v1/runs/\(run)", token: s.token, json: ["lifecycle_stage": "active"]).status == 200)
            #expect(try await app.call(.delete, "/api/v1/runs/\(run)", token: s.token).status == 204)
            #expect(try await app.call(.get, "/api/v1/runs/\(run)", token: s.token).status == 404)
        }
    }

    @Test("experiments: duplicate names conflict, soft delete hides them, hard delete removes runs", arguments: DatabaseKind.available)
    func experimentLifecycle(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let s = try await Self.setup(app)
            let duplicate = try await app.call(.post, "/api/v1/projects/\(s.project)/experiments", token: s.token, json: ["name": "exp"])
            #expect(duplicate.status == 409)
            let run = try await newRun(s)
            #expect(
                try await app.call(.put, "/api/v1/experiments/\(s.experiment)", token: s.token, json: ["lifecycle_stage": "deleted"]).status == 200)
            let active = try await app.call(.get, "/api/v1/projects/\(s.project)/experiments", token: s.token)
            #expect(!active.items.contains { $0["id"] as? String == s.experiment })
            let deleted = try await app.call(.get, "/api/v1/projects/\(s.project)/experiments?view=deleted", token: s.token)
            #expect(deleted.items.contains { $0["id"] as? String == s.experiment })
            #expect(try await app.call(.get, "/api/v1/runs/\(run)", token: s.token)["lifecycle_stage"] as? String == "deleted")
            #expect(try await app.call(.delete, "/api/v1/experiments/\(s.experiment)", token: s.token).status == 204)
            #expect(try await app.call(.get, "/api/v1/runs/\(run)", token: s.token).status == 404)
            let audit = try await app.auditEntries(org: try await app.homeOrg(s.token), token: s.token)
            #expect(
                Set(audit.compactMap { $0["action"] as? String }).isSuperset(of: [
                    "experiment.create", "run.create", "experiment.delete", "experiment.purge",
                ]))
        }
    }

    @Test("MLflow routes answer in MLflow's error format and take basic credentials", arguments: DatabaseKind.available)
    func mlflowErrorsAndBasicAuth(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let basic = "Basic " + Data("admin:\(TestApp.adminPassword)".utf8).base64EncodedString()
            let missing = try await app.call(.get, "/api/2.0/mlflow/runs/get?run_id=\(UUID().uuidString)", headers: [.authorization: basic])
            #expect(missing.status == 404 && missing.string("error_code") == "RESOURCE_DOES_NOT_EXIST")
            let wrong = "Basic " + Data("admin:nope".utf8).base64EncodedString()
            let refused = try await app.call(.post, "/api/2.0/mlflow/experiments/search", json: [:], headers: [.authorization: wrong])
            #expect(refused.status == 401 && refused.string("error_code") == "UNAUTHENTICATED")
            let created = try await app.call(
                .post, "/api/2.0/mlflow/experiments/create", json: ["name": "via-basic"], headers: [.authorization: basic])
            #expect(created.status == 200 && created.string("experiment_id") != nil)
            let invalid = try await app.call(.post, "/api/2.0/mlflow/experiments/create", json: [:], headers: [.authorization: basic])
            #expect(invalid.status == 400 && invalid.string("error_code") == "INVALID_PARAMETER_VALUE")
            // Basic credentials are for MLflow clients only; the native API keeps to bearer tokens.
            #expect(try await app.call(.get, "/api/v1/projects", headers: [.authorization: basic]).status == 401)
        }
    }
}
