import AITIPCore
import AITIPTestSupport
import Foundation
import HTTPTypes
import ObjectStore
import Testing

/// MLflow 3 traces through the wire API: what a trace may be, where its spans may go, who may read them, and what is
/// left after a delete. (The real client's `@mlflow.trace`, searches and span tree are in pytests/mlflow.)
@Suite("Traces")
struct TraceTests {
    static let v2 = "/api/2.0/mlflow"
    static let v3 = "/api/3.0/mlflow"
    static let artifacts = "/api/2.0/mlflow-artifacts/artifacts"

    static func traceInfo(_ id: String, experiment: String, state: String = "OK", tags: [String: String] = [:]) -> [String: Any] {
        [
            "trace": [
                "trace_info": [
                    "trace_id": id, "trace_location": ["type": "MLFLOW_EXPERIMENT", "mlflow_experiment": ["experiment_id": experiment]],
                    "request_time": "2026-12-06T10:00:00.250Z", "execution_duration": "0.042s", "state": state,
                    "request_preview": #"{"q": 1}"#, "trace_metadata": ["mlflow.trace_schema.version": "3"], "tags": tags,
                ] as [String: Any]
            ]
        ]
    }

    static let spanFile = Data(
        #"""
        {"spans": [
          {"trace_id": "AAAAAAAAAAAAAAAAAAAAAQ==", "span_id": "AAAAAAAAAAE=", "parent_span_id": null, "name": "root",
           "start_time_unix_nano": 1000, "end_time_unix_nano": 5000, "status": {"code": "STATUS_CODE_OK", "message": ""},
           "attributes": {"mlflow.spanType": "\"CHAIN\"", "mlflow.spanInputs": "{\"q\": 1}", "count": 3}, "events": []},
          {"trace_id": "AAAAAAAAAAAAAAAAAAAAAQ==", "span_id": "AAAAAAAAAAI=", "parent_span_id": "AAAAAAAAAAE=", "name": "child",
           "start_time_unix_nano": 2000, "end_time_unix_nano": 3000, "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
           "attributes": {}, "events": [{"name": "exception", "time_unix_nano": 2500, "attributes": {"exception.message": "boom"}}]}
        ]}
        """#.utf8)

    static func newExperiment(_ app: TestApp, _ token: String) async throws -> String {
        let reply = try await app.call(.post, "\(Self.v2)/experiments/create", token: token, json: ["name": "traces-\(UUID())"])
        return try #require(reply.string("experiment_id"), "\(reply.text)")
    }

    @Test(
        "a trace is stored with the server's artifact location, resent traces replace, and bad traces are refused", arguments: DatabaseKind.available)
    func start(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let experiment = try await Self.newExperiment(app, token)
            let id = "tr-0123456789abcdef0123456789abcdef"
            // A client cannot point the spans elsewhere: the location tag is the server's.
            let started = try await app.call(
                .post, "\(Self.v3)/traces", token: token,
                json: Self.traceInfo(id, experiment: experiment, tags: ["mlflow.artifactLocation": "s3://elsewhere/x", "team": "search"]))
            #expect(started.status == 200, "\(started.text)")
            let info = try #require((started["trace"] as? [String: Any])?["trace_info"] as? [String: Any])
            let tags = try #require(info["tags"] as? [String: String])
            #expect(tags["mlflow.artifactLocation"] == "mlflow-artifacts:/\(experiment)/traces/\(id)/artifacts")
            #expect(tags["team"] == "search" && info["request_time"] as? String == "2026-12-06T10:00:00.250Z")
            #expect(info["execution_duration"] as? String == "0.042s")

            // The client retries on timeouts: the same trace again replaces it.
            let again = try await app.call(.post, "\(Self.v3)/traces", token: token, json: Self.traceInfo(id, experiment: experiment, state: "ERROR"))
            #expect(again.status == 200, "\(again.text)")
            let read = try await app.call(.get, "\(Self.v3)/traces/\(id)", token: token)
            let readInfo = try #require((read["trace"] as? [String: Any])?["trace_info"] as? [String: Any], "\(read.text)")
            #expect(readInfo["state"] as? String == "ERROR" && (readInfo["tags"] as? [String: String])?["team"] == nil)

            // ...but not into another experiment.
            let other = try await Self.newExperiment(app, token)
            let moved = try await app.call(.post, "\(Self.v3)/traces", token: token, json: Self.traceInfo(id, experiment: other))
            #expect(moved.status == 400 && moved.string("error_code") == "RESOURCE_ALREADY_EXISTS", "\(moved.text)")

            for (bad, expected) in [
                (Self.traceInfo("../../etc", experiment: experiment), "trace_id"),
                (Self.traceInfo("tr-1", experiment: experiment, state: "SLEEPING"), "state"),
                (Self.traceInfo("tr-2", experiment: experiment, tags: ["../x": "y"]), "tags"),
                (["trace": ["trace_info": ["trace_id": "tr-3", "request_time": "2026-12-06T10:00:00Z"]]], "trace_location"),
                (["trace": [:]], "trace_info"),
            ] {
                let reply = try await app.call(.post, "\(Self.v3)/traces", token: token, json: bad)
                #expect(reply.status == 400 && reply.text.contains(expected), "\(expected): \(reply.text)")
            }
            let all = try await app.call(.post, "\(Self.v3)/traces/search", token: token, json: ["experiment_ids": [experiment]])
            #expect((all["traces"] as? [Any])?.count == 1, "nothing half-created: \(all.text)")
            let badFilter = try await app.call(
                .post, "\(Self.v3)/traces/search", token: token, json: ["experiment_ids": [experiment], "filter": "metrics.acc > 1"])
            #expect(badFilter.status == 400 && badFilter.text.contains("traces have no metrics"), "\(badFilter.text)")

            // Single spans over OTLP are not taken; the client reads this answer and logs whole traces.
            let otlp = try await app.call(.post, "/v1/traces", token: token, raw: "")
            #expect(otlp.status == 501 && otlp.text.contains("REST OTLP span logging is not supported"))
        }
    }

    @Test("spans go only under a trace of the experiment, come back as a tree, and go with the trace", arguments: DatabaseKind.available)
    func spans(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let experiment = try await Self.newExperiment(app, token)
            let id = "tr-00000000000000000000000000000001"
            #expect(try await app.call(.post, "\(Self.v3)/traces", token: token, json: Self.traceInfo(id, experiment: experiment)).status == 200)

            let before = try await app.call(.get, "/api/v1/traces/\(id)", token: token)
            #expect(before.status == 200 && before["spans_available"] as? Bool == false, "\(before.text)")

            let path = "\(Self.artifacts)/\(experiment)/traces/\(id)/artifacts/traces.json"
            let upload = try await app.callBytes(.put, path, token: token, body: Self.spanFile, contentType: "application/json")
            #expect(upload.status == 200, "\(upload.text)")
            // A trace that does not exist, or exists in another experiment, has no place for files. (Sent as JSON, as the
            // client sends traces.json: auditing the failure once re-read the consumed upload stream and stopped the server.)
            let other = try await Self.newExperiment(app, token)
            for wrong in [
                "\(Self.artifacts)/\(experiment)/traces/tr-missing/artifacts/traces.json", "\(Self.artifacts)/\(other)/traces/\(id)/artifacts/x",
            ] {
                let refused = try await app.callBytes(.put, wrong, token: token, body: Data("{}".utf8), contentType: "application/json")
                #expect(refused.status == 404, "\(wrong): \(refused.text)")
            }

            let detail = try await app.call(.get, "/api/v1/traces/\(id)", token: token)
            #expect(detail["spans_available"] as? Bool == true, "\(detail.text)")
            let spans = try #require(detail["spans"] as? [[String: Any]])
            #expect(spans.map { $0["name"] as? String } == ["root", "child"])
            #expect(spans[0]["span_id"] as? String == "0000000000000001" && spans[0]["parent_span_id"] == nil)
            #expect(spans[1]["parent_span_id"] as? String == "0000000000000001" && spans[1]["status_message"] as? String == "boom")
            let attributes = try #require(spans[0]["attributes"] as? [String: String])
            #expect(attributes["mlflow.spanType"] == #""CHAIN""# && attributes["count"] == "3")
            #expect(((spans[1]["events"] as? [[String: Any]])?.first?["attributes"] as? [String: String])?["exception.message"] == "boom")

            // Another tenant sees none of it, through either API.
            let stranger = try await app.newTenant()
            #expect(try await app.call(.get, "/api/v1/traces/\(id)", token: stranger.token).status == 404)
            #expect(try await app.call(.get, "\(Self.v3)/traces/\(id)", token: stranger.token).status == 404)
            #expect(try await app.call(.get, path, token: stranger.token).status == 404)
            let strangerDelete = try await app.call(
                .post, "\(Self.v2)/traces/delete-traces", token: stranger.token, json: ["experiment_id": experiment, "request_ids": [id]])
            #expect(strangerDelete.status == 404, "\(strangerDelete.text)")

            // Deleting the trace deletes its span file.
            let deleted = try await app.call(
                .post, "\(Self.v2)/traces/delete-traces", token: token, json: ["experiment_id": experiment, "request_ids": [id, "tr-unknown"]])
            #expect(deleted["traces_deleted"] as? Int == 1, "\(deleted.text)")
            let leftovers = try await app.parts.objectStore.list(prefix: try ObjectKey("mlflow/\(experiment)/traces"))
            #expect(leftovers.isEmpty, "\(leftovers)")
            #expect(try await app.call(.get, "/api/v1/traces/\(id)", token: token).status == 404)
        }
    }

    @Test("older traces are deleted oldest first, at most max_traces, and a viewer may only read", arguments: DatabaseKind.available)
    func deleteOld(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let token = try await app.adminToken()
            let experiment = try await Self.newExperiment(app, token)
            for (index, time) in ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"].enumerated() {
                var body = Self.traceInfo("tr-old-\(index)", experiment: experiment)
                var trace = body["trace"] as! [String: Any]
                var info = trace["trace_info"] as! [String: Any]
                info["request_time"] = time
                trace["trace_info"] = info
                body["trace"] = trace
                #expect(try await app.call(.post, "\(Self.v3)/traces", token: token, json: body).status == 200)
            }
            let viewer = try await app.newMember(of: try await app.homeOrg(token), role: "viewer", by: token)
            let listed = try await app.call(.get, "/api/v1/experiments/\(experiment)/traces", token: viewer.token)
            #expect(listed.items.map { $0["trace_id"] as? String } == ["tr-old-2", "tr-old-1", "tr-old-0"], "\(listed.text)")
            let tag = try await app.call(.patch, "\(Self.v2)/traces/tr-old-0/tags", token: viewer.token, json: ["key": "k", "value": "v"])
            #expect(tag.status == 403, "\(tag.text)")
            let locationTag = try await app.call(
                .patch, "\(Self.v2)/traces/tr-old-0/tags", token: token, json: ["key": "mlflow.artifactLocation", "value": "s3://x"])
            #expect(locationTag.status == 400, "\(locationTag.text)")

            let both = try await app.call(
                .post, "\(Self.v2)/traces/delete-traces", token: token,
                json: ["experiment_id": experiment, "request_ids": ["tr-old-0"], "max_timestamp_millis": 1])
            #expect(both.status == 400, "\(both.text)")
            let cutoff = 1_777_000_000_000 // 2026-04-24: after all three
            let deleted = try await app.call(
                .post, "\(Self.v2)/traces/delete-traces", token: token,
                json: ["experiment_id": experiment, "max_timestamp_millis": cutoff, "max_traces": 2])
            #expect(deleted["traces_deleted"] as? Int == 2, "\(deleted.text)")
            let left = try await app.call(.get, "/api/v1/experiments/\(experiment)/traces", token: token)
            #expect(left.items.map { $0["trace_id"] as? String } == ["tr-old-2"])
        }
    }
}
