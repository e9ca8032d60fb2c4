import AITIPTestSupport
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Testing

/// Object stores for the API tests: local disk always, the S3 server when `.ci/run` started one.
enum DatasetStores {
    static var s3URL: String? { ProcessInfo.processInfo.environment["AITIP_TEST_S3_URL"] }

    static var kinds: [String] {
        s3URL == nil && ProcessInfo.processInfo.environment["AITIP_REQUIRE_S3"] != "1" ? ["file"] : ["file", "s3"]
    }

    /// Settings for a fresh bucket, or none for the default filesystem store.
    static func settings(_ store: String) throws -> [String: String] {
        guard store == "s3" else { return [:] }
        let url = try #require(s3URL, "AITIP_TEST_S3_URL is not set (scripts/services.sh s3_start)")
        let bucket = "api-" + UUID().uuidString.prefix(12).lowercased()
        let environment = ProcessInfo.processInfo.environment
        return [
            "object_store": url.replacingOccurrences(of: "s3://aitip-test", with: "s3://\(bucket)"),
            "s3_access_key": environment["AITIP_TEST_S3_ACCESS_KEY"] ?? "", "s3_secret_key": environment["AITIP_TEST_S3_SECRET_KEY"] ?? "",
        ]
    }

    static var combinations: [(DatabaseKind, String)] {
        DatabaseKind.available.flatMap { database in kinds.map { (database, $0) } }
    }
}

func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

extension TestApp {
    func project(_ token: String) async throws -> String {
        try #require(try await call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
    }

    func newDataset(_ token: String, project: String, name: String = "ds-\(UUID().uuidString.prefix(6))", format: String = "csv") async throws
        -> String
    {
        let reply = try await call(
            .post, "/api/v1/projects/\(project)/datasets", token: token, json: ["name": name, "format": format, "tags": ["demo"]])
        try #require(reply.status == 201, "\(reply.text)")
        return try #require(reply.string("id"))
    }

    /// Starts an upload and sends the bytes in `chunks` pieces; returns the last reply.
    @discardableResult
    func upload(_ token: String, dataset: String, path: String, data: Data, chunks: Int = 2) async throws -> Reply {
        let started = try await call(
            .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
            json: ["sha256": sha256(data), "size_bytes": data.count, "path": path])
        guard started.status == 201, started.string("status") == "open" else { return started }
        let id = try #require(started.string("id"))
        var offset = (started["received_bytes"] as? Int) ?? 0
        var last = started
        let size = max(1, (data.count - offset + chunks - 1) / chunks)
        while offset < data.count {
            let piece = data[offset..<min(offset + size, data.count)]
            last = try await put(token, upload: id, offset: offset, bytes: Data(piece))
            guard last.status == 200 else { return last }
            offset += piece.count
        }
        return last
    }

    func put(_ token: String, upload: String, offset: Int, bytes: Data) async throws -> Reply {
        let headers: HTTPFields = [
            .authorization: "Bearer \(token)", .contentType: "application/octet-stream",
            HTTPField.Name("Upload-Offset")!: String(offset),
        ]
        let response = try await client.execute(
            uri: "/api/v1/dataset-uploads/\(upload)", method: .put, headers: headers,
            body: ByteBuffer(bytes: Array(bytes)))
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    func download(_ token: String, _ path: String) async throws -> (Int, HTTPFields, Data) {
        let response = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(token)"], body: nil)
        return (Int(response.status.code), response.headers, Data(response.body.readableBytesView))
    }
}

@Suite("Datasets API")
struct DatasetAPITests {
    static let csv = Data("id,label,score\n1,cat,0.5\n2,dog,0.75\n3,cat,\n".utf8)

    @Test(
        "upload, version, schema, download a file and the whole version as a tar, dedupe, delete",
        arguments: DatasetStores.combinations)
    func lifecycle(_ database: DatabaseKind, _ store: String) async throws {
        try await withApp(database, settings: try DatasetStores.settings(store)) { app in
            let token = try await app.adminToken()
            let dataset = try await app.newDataset(token, project: try await app.project(token))
            let notes = Data("free text\n".utf8)
            #expect(try await app.upload(token, dataset: dataset, path: "train/data.csv", data: Self.csv).string("status") == "complete")
            #expect(try await app.upload(token, dataset: dataset, path: "README.txt", data: notes, chunks: 1).string("status") == "complete")
            // The same content again: complete at once, nothing to send.
            let again = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                json: ["sha256": sha256(Self.csv), "size_bytes": Self.csv.count])
            #expect(again.status == 201 && again.string("status") == "complete")
            let v1 = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/versions", token: token,
                json: [
                    "version": "v1", "changes": "first cut",
                    "files": [
                        ["path": "train/data.csv", "sha256": sha256(Self.csv), "size_bytes": Self.csv.count],
                        ["path": "README.txt", "sha256": sha256(notes), "size_bytes": notes.count],
                    ],
                ])
            try #require(v1.status == 201, "\(v1.text)")
            #expect(v1["file_count"] as? Int == 2 && v1["num_rows"] as? Int == 3)
            let schema = try #require(v1["schema"] as? [String: Any])
            let columns = try #require(schema["columns"] as? [[String: Any]])
            #expect(columns.map { $0["type"] as? String } == ["integer", "string", "number"])
            #expect(columns[2]["nulls"] as? Int == 1)
            let shown = try await app.call(.get, "/api/v1/datasets/\(dataset)", token: token)
            #expect(shown.string("version") == "v1" && shown["num_rows"] as? Int == 3 && shown.string("checksum") == v1.string("checksum"))

            let files = try await app.call(.get, "/api/v1/datasets/\(dataset)/versions/v1/files?prefix=train/", token: token)
            #expect(files.items.map { $0["path"] as? String } == ["train/data.csv"])
            let (status, headers, body) = try await app.download(token, "/api/v1/datasets/\(dataset)/versions/v1/download?path=train/data.csv")
            #expect(status == 200 && body == Self.csv)
            #expect(headers[HTTPField.Name("X-Checksum-Sha256")!] == sha256(Self.csv))
            #expect(headers[.contentDisposition] == "attachment; filename=\"data.csv\"")

            let (tarStatus, _, tar) = try await app.download(token, "/api/v1/datasets/\(dataset)/versions/v1/download")
            #expect(tarStatus == 200)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pull-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try tar.write(to: directory.appendingPathComponent("v1.tar"))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
            process.arguments = ["-xf", "v1.tar"]
            process.currentDirectoryURL = directory
            try process.run()
            process.waitUntilExit()
            #expect(try Data(contentsOf: directory.appendingPathComponent("train/data.csv")) == Self.csv)
            #expect(try Data(contentsOf: directory.appendingPathComponent("README.txt")) == notes)

            // v2 keeps the csv (stored once), drops the README, adds a file.
            let extra = Data("{\"k\":1}\n".utf8)
            try await app.upload(token, dataset: dataset, path: "extra.jsonl", data: extra)
            let v2 = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/versions", token: token,
                json: [
                    "version": "v2", "base_version": "v1", "remove": ["README.txt"],
                    "files": [["path": "extra.jsonl", "sha256": sha256(extra), "size_bytes": extra.count]],
                ])
            try #require(v2.status == 201, "\(v2.text)")
            #expect(v2["file_count"] as? Int == 2 && v2.string("parent_id") == v1.string("id"))
            let blobs = try await app.parts.objectStore.list(prefix: nil).filter { $0.path.hasPrefix("datasets/blobs/") }
            #expect(blobs.count == 3)
            #expect(
                try await app.call(.get, "/api/v1/datasets/\(dataset)/versions", token: token).items.map { $0["version"] as? String } == ["v2", "v1"])

            #expect(try await app.call(.delete, "/api/v1/datasets/\(dataset)", token: token).status == 204)
            #expect(try await app.parts.objectStore.list(prefix: nil).filter { $0.path.hasPrefix("datasets/blobs/") }.isEmpty)
            #expect(try await app.call(.get, "/api/v1/datasets/\(dataset)", token: token).status == 404)
        }
    }

    @Test("bad input gets a clear error and leaves nothing half-stored", arguments: DatabaseKind.available)
    func badInput(_ database: DatabaseKind) async throws {
        try await withApp(database) { app in
            let token = try await app.adminToken()
            let project = try await app.project(token)
            let unknown = try await app.call(.post, "/api/v1/projects/\(project)/datasets", token: token, json: ["name": "x", "format": "xlsx"])
            #expect(unknown.status == 422 && unknown.text.contains("csv, jsonl"))
            let dataset = try await app.newDataset(token, project: project, name: "cats")
            #expect(
                try await app.call(.post, "/api/v1/projects/\(project)/datasets", token: token, json: ["name": "cats", "format": "csv"]).status == 409
            )

            // Path traversal in file names, at upload and at version time.
            for path in ["../../etc/passwd", "/abs", "a/./b", "a\\b"] {
                let reply = try await app.call(
                    .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                    json: ["sha256": sha256(Self.csv), "size_bytes": Self.csv.count, "path": path])
                #expect(reply.status == 422, "\(path): \(reply.text)")
            }
            try await app.upload(token, dataset: dataset, path: "data.csv", data: Self.csv)
            let traversal = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/versions", token: token,
                json: [
                    "version": "v1", "files": [["path": "../data.csv", "sha256": sha256(Self.csv), "size_bytes": Self.csv.count]],
                ])
            #expect(traversal.status == 422 && traversal.text.contains("not a valid file path"))

            // Checksum mismatch: refused at the last byte, nothing stored.
            let claimed = sha256(Data("something else".utf8))
            let started = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                json: ["sha256": claimed, "size_bytes": Self.csv.count, "path": "bad.csv"])
            let upload = try #require(started.string("id"))
            let mismatch = try await app.put(token, upload: upload, offset: 0, bytes: Self.csv)
            #expect(mismatch.status == 422 && mismatch.text.contains("Checksum mismatch"))
            #expect(try await app.call(.get, "/api/v1/dataset-uploads/\(upload)", token: token).string("status") == "failed")
            #expect(try await app.parts.objectStore.list(prefix: nil).filter { $0.path.hasPrefix("datasets/blobs/") }.count == 1)

            // Interrupted, then resumed: the wrong offset says where to continue; starting again finds the same upload.
            let big = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
            let first = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                json: ["sha256": sha256(big), "size_bytes": big.count, "path": "blob.bin"])
            let bigId = try #require(first.string("id"))
            #expect(try await app.put(token, upload: bigId, offset: 0, bytes: big.prefix(4_000)).json["received_bytes"] as? Int == 4_000)
            let wrong = try await app.put(token, upload: bigId, offset: 0, bytes: big.prefix(10))
            #expect(wrong.status == 409 && wrong.text.contains("continue from 4000"))
            let past = try await app.put(token, upload: bigId, offset: 4_000, bytes: big + big)
            #expect(past.status == 413)
            let resumed = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                json: ["sha256": sha256(big), "size_bytes": big.count, "path": "blob.bin"])
            #expect(resumed.string("id") == bigId && resumed["received_bytes"] as? Int == 4_000)
            #expect(try await app.put(token, upload: bigId, offset: 4_000, bytes: big.suffix(from: 4_000)).string("status") == "complete")

            // Not uploaded, duplicate version name, and a version is immutable.
            let missing = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/versions", token: token,
                json: [
                    "version": "v1", "files": [["path": "x.csv", "sha256": String(repeating: "a", count: 64), "size_bytes": 3]],
                ])
            #expect(missing.status == 400 && missing.text.contains("were not uploaded"))
            let files: [[String: Any]] = [["path": "data.csv", "sha256": sha256(Self.csv), "size_bytes": Self.csv.count]]
            #expect(
                try await app.call(.post, "/api/v1/datasets/\(dataset)/versions", token: token, json: ["version": "v1", "files": files]).status == 201
            )
            let duplicate = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/versions", token: token,
                json: ["version": "v1", "files": files + [["path": "blob.bin", "sha256": sha256(big), "size_bytes": big.count]]])
            #expect(duplicate.status == 409 && duplicate.text.contains("already exists"))
            let v1 = try await app.call(.get, "/api/v1/datasets/\(dataset)/versions/v1", token: token)
            #expect(v1["file_count"] as? Int == 1)
            #expect(try await app.call(.get, "/api/v1/datasets/\(dataset)/versions", token: token).items.count == 1)
            #expect(try await app.call(.get, "/api/v1/datasets/\(dataset)/versions/v1/download?path=../../etc/passwd", token: token).status == 404)
        }
    }

    @Test("over the storage quota: 413 with the reason, nothing reserved or stored", arguments: DatabaseKind.available)
    func quota(_ database: DatabaseKind) async throws {
        try await withApp(database) { app in
            let token = try await app.adminToken()
            let project = try await app.project(token)
            let org = try await app.homeOrg(token)
            let set = try await app.call(
                .put, "/api/v1/resources/quota", token: token, json: ["org_id": org, "project_id": project, "max_storage_gb": 1])
            try #require(set.status == 200, "\(set.text)")
            let dataset = try await app.newDataset(token, project: project)
            let tooBig = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                json: ["sha256": String(repeating: "b", count: 64), "size_bytes": 1_500_000_000])
            #expect(tooBig.status == 413 && tooBig.text.contains("storage quota is 1 GB"))
            let half = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                json: ["sha256": String(repeating: "c", count: 64), "size_bytes": 600_000_000])
            #expect(half.status == 201)
            // The open upload reserves its size: a second one that would not fit beside it is refused.
            let second = try await app.call(
                .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                json: ["sha256": String(repeating: "d", count: 64), "size_bytes": 600_000_000])
            #expect(second.status == 413)
            #expect(try await app.call(.delete, "/api/v1/dataset-uploads/\(try #require(half.string("id")))", token: token).status == 204)
            #expect(
                try await app.call(
                    .post, "/api/v1/datasets/\(dataset)/uploads", token: token,
                    json: ["sha256": String(repeating: "d", count: 64), "size_bytes": 600_000_000]
                ).status == 201)
        }
    }

    @Test("lineage: derived versions, a training job and what depends on a version", arguments: DatabaseKind.available)
    func lineage(_ database: DatabaseKind) async throws {
        try await withApp(database, settings: ["simulate_gpus": "a100:2"]) { app in
            let token = try await app.adminToken()
            let project = try await app.project(token)
            let raw = try await app.newDataset(token, project: project, name: "raw")
            let clean = try await app.newDataset(token, project: project, name: "clean")
            try await app.upload(token, dataset: raw, path: "d.csv", data: Self.csv)
            let file: [[String: Any]] = [["path": "d.csv", "sha256": sha256(Self.csv), "size_bytes": Self.csv.count]]
            let rawV1 = try #require(
                try await app.call(
                    .post, "/api/v1/datasets/\(raw)/versions", token: token,
                    json: ["version": "v1", "files": file]
                ).string("id"))
            // Content the organization holds needs no second upload, even in another dataset.
            let cleanV1 = try await app.call(
                .post, "/api/v1/datasets/\(clean)/versions", token: token,
                json: [
                    "version": "v1", "files": file,
                    "derived_from": [["dataset_version_id": rawV1, "transformation": ["script": "clean.py", "drop_nulls": true]]],
                ])
            try #require(cleanV1.status == 201, "\(cleanV1.text)")
            let cleanV1Id = try #require(cleanV1.string("id"))
            // Submitting with dataset_id links the dataset's latest version to the job.
            let jobId = try await app.submit(token, project, name: "train-on-clean", gpus: 1, entrypoint: "true", extra: ["dataset_id": clean]).id
            let noVersions = try await app.newDataset(token, project: project, name: "empty")
            let refused = try await app.call(
                .post, "/api/v1/training/jobs", token: token,
                json: [
                    "project_id": project, "name": "x", "entrypoint": "true", "dataset_id": noVersions,
                ])
            #expect(refused.status == 400 && refused.text.contains("no versions yet"))
            let edge = try await app.call(
                .post, "/api/v1/lineage/edges", token: token,
                json: [
                    "source": ["kind": "dataset_version", "id": rawV1], "target": ["kind": "training_job", "id": jobId], "relation": "validated_on",
                ])
            #expect(edge.status == 201, "\(edge.text)")
            let again = try await app.call(
                .post, "/api/v1/lineage/edges", token: token,
                json: [
                    "source": ["kind": "dataset_version", "id": rawV1], "target": ["kind": "training_job", "id": jobId], "relation": "validated_on",
                ])
            #expect(again.string("id") == edge.string("id"))
            let notAnEvaluation = try await app.call(
                .post, "/api/v1/lineage/edges", token: token,
                json: [
                    "source": ["kind": "dataset_version", "id": cleanV1Id], "target": ["kind": "evaluation", "id": jobId], "relation": "evaluated",
                ])
            #expect(notAnEvaluation.status == 404, "\(notAnEvaluation.text)")
            let notASimulation = try await app.call(
                .post, "/api/v1/lineage/edges", token: token,
                json: [
                    "source": ["kind": "model_version", "id": cleanV1Id], "target": ["kind": "simulation", "id": jobId], "relation": "simulated",
                ])
            #expect(notASimulation.status == 404, "simulation runs are lineage nodes now: \(notASimulation.text)")
            let kindWithoutNodes = try await app.call(
                .post, "/api/v1/lineage/edges", token: token,
                json: [
                    "source": ["kind": "dataset_version", "id": cleanV1Id], "target": ["kind": "inference_service", "id": jobId],
                    "relation": "served",
                ])
            #expect(kindWithoutNodes.status == 400, "\(kindWithoutNodes.text)")

            let downstream = try await app.call(.get, "/api/v1/datasets/\(raw)/lineage?version=v1&direction=downstream&depth=3", token: token)
            let labels = Set((downstream["nodes"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String })
            #expect(labels == ["raw:v1", "clean:v1", "train-on-clean"])
            let relations = Set((downstream["edges"] as? [[String: Any]] ?? []).compactMap { $0["relation"] as? String })
            #expect(relations == ["derived_from", "trained_on", "validated_on"])
            let oneHop = try await app.call(.get, "/api/v1/datasets/\(clean)/lineage?version=v1&direction=downstream&depth=1", token: token)
            #expect((oneHop["nodes"] as? [[String: Any]])?.count == 2)
            let upstream = try await app.call(.get, "/api/v1/datasets/\(clean)/lineage?direction=upstream", token: token)
            let edges = try #require(upstream["edges"] as? [[String: Any]])
            #expect(edges.count == 1 && edges[0]["relation"] as? String == "derived_from")
            #expect((edges[0]["transformation"] as? [String: Any])?["script"] as? String == "clean.py")
            #expect(
                (try await app.call(.get, "/api/v1/datasets/\(clean)", token: token)["lineage"] as? [String: Any])?["upstream"] as? [String] == [
                    rawV1
                ])

            // Another tenant sees none of it.
            let other = try await app.newTenant()
            #expect(try await app.call(.get, "/api/v1/datasets/\(raw)/lineage", token: other.token).status == 404)
            #expect(
                try await app.call(
                    .post, "/api/v1/lineage/edges", token: other.token,
                    json: [
                        "source": ["kind": "dataset_version", "id": rawV1], "target": ["kind": "training_job", "id": jobId], "relation": "x",
                    ]
                ).status == 404)
        }
    }

    @Test("annotation tasks move pending → in_progress → completed and export as a new version", arguments: DatabaseKind.available)
    func annotations(_ database: DatabaseKind) async throws {
        try await withApp(database) { app in
            let token = try await app.adminToken()
            let project = try await app.project(token)
            let org = try await app.homeOrg(token)
            let annotator = try await app.newMember(of: org, role: "member", by: token)
            let dataset = try await app.newDataset(token, project: project)
            try await app.upload(token, dataset: dataset, path: "d.csv", data: Self.csv)
            #expect(
                try await app.call(
                    .post, "/api/v1/datasets/\(dataset)/versions", token: token,
                    json: [
                        "version": "v1", "files": [["path": "d.csv", "sha256": sha256(Self.csv), "size_bytes": Self.csv.count]],
                    ]
                ).status == 201)
            var ids: [String] = []
            for row in 1...3 {
                let task = try await app.call(
                    .post, "/api/v1/datasets/\(dataset)/annotations", token: token,
                    json: [
                        "task_type": "classification", "version": "v1", "item": "d.csv", "assignee_id": annotator.id, "annotations": ["row": row],
                    ])
                try #require(task.status == 201, "\(task.text)")
                #expect(task.string("status") == "pending" && task.string("version") == "v1")
                ids.append(try #require(task.string("id")))
            }
            #expect(
                try await app.call(
                    .post, "/api/v1/datasets/\(dataset)/annotations", token: token,
                    json: ["task_type": "classification", "version": "v1", "item": "missing.csv"]
                ).status == 400)
            let working = try await app.call(
                .put, "/api/v1/datasets/\(dataset)/annotations/\(ids[0])", token: annotator.token, json: ["status": "in_progress"])
            #expect(working.string("status") == "in_progress")
            for id in ids.prefix(2) {
                let done = try await app.call(
                    .put, "/api/v1/datasets/\(dataset)/annotations/\(id)", token: annotator.token,
                    json: ["status": "completed", "annotations": ["label": "cat", "box": [1, 2, 3, 4]]])
                #expect(done.string("status") == "completed" && done.string("completed_at") != nil, "\(done.text)")
            }
            let completed = try await app.call(.get, "/api/v1/datasets/\(dataset)/annotations?status=completed", token: token)
            #expect(completed.items.count == 2)
            let export = try await app.call(.post, "/api/v1/datasets/\(dataset)/annotations/export", token: token, json: ["version": "v1-labelled"])
            try #require(export.status == 201, "\(export.text)")
            #expect(export["file_count"] as? Int == 2)
            let (_, _, body) = try await app.download(token, "/api/v1/datasets/\(dataset)/versions/v1-labelled/download?path=annotations.jsonl")
            let lines = String(decoding: body, as: UTF8.self).split(separator: "\n")
            #expect(lines.count == 2 && lines[0].contains("\"label\":\"cat\"") && lines[0].contains("\"item\":\"d.csv\""))
            let lineage = try await app.call(.get, "/api/v1/datasets/\(dataset)/lineage?version=v1&direction=downstream", token: token)
            #expect((lineage["edges"] as? [[String: Any]])?.first?["relation"] as? String == "annotated")
            #expect(
                try await app.call(.post, "/api/v1/datasets/\(dataset)/annotations/export", token: token, json: ["version": "v1-labelled"]).status
                    == 409)
        }
    }
}
