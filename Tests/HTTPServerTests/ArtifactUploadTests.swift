import AITIPTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Testing

/// Artifact files through the MLflow artifact routes: one-request uploads streamed to the object store, and MLflow's
/// multipart upload, whose part URLs carry the upload's secret instead of the caller's credentials. (The real client
/// sends a file of more than 1 GB in pytests/mlflow.)
@Suite("Artifact uploads")
struct ArtifactUploadTests {
    static let artifacts = "/api/2.0/mlflow-artifacts"
    static let tokenHeader = HTTPField.Name("X-Aitip-Upload-Token")!

    struct Target {
        var app: TestApp
        var token: String
        /// `<experiment>/<run>/artifacts`
        var directory: String
    }

    static func target(_ app: TestApp, token: String? = nil) async throws -> Target {
        let token = if let token { token } else { try await app.adminToken() }
        let experiment = try await app.call(.post, "/api/2.0/mlflow/experiments/create", token: token, json: ["name": "e-\(UUID())"])
        let experimentId = try #require(experiment.string("experiment_id"), "\(experiment.text)")
        let run = try await app.call(.post, "/api/2.0/mlflow/runs/create", token: token, json: ["experiment_id": experimentId])
        let runId = try #require((run["run"] as? [String: Any]).flatMap { ($0["info"] as? [String: Any])?["run_id"] as? String }, "\(run.text)")
        return Target(app: app, token: token, directory: "\(experimentId)/\(runId)/artifacts")
    }

    struct Grant {
        var uploadId: String
        /// Part number → (path of its URL, headers to send).
        var parts: [Int: (path: String, headers: HTTPFields)]
    }

    static func create(_ t: Target, file: String, parts: Int, token: String? = nil) async throws -> (Reply, Grant?) {
        let reply = try await t.app.call(
            .post, "\(artifacts)/mpu/create/\(t.directory)", token: token ?? t.token, json: ["path": "/home/me/\(file)", "num_parts": parts])
        guard reply.status == 200 else { return (reply, nil) }
        var urls: [Int: (String, HTTPFields)] = [:]
        for credential in try #require(reply["credentials"] as? [[String: Any]]) {
            let text = try #require(credential["url"] as? String)
            let url = try #require(URL(string: text))
            var headers = HTTPFields()
            for (name, value) in try #require(credential["headers"] as? [String: String]) { headers[HTTPField.Name(name)!] = value }
            urls[try #require(credential["part_number"] as? Int)] = (url.path, headers)
        }
        return (reply, Grant(uploadId: try #require(reply.string("upload_id")), parts: urls))
    }

    static func sendPart(_ t: Target, _ grant: Grant, _ number: Int, _ bytes: [UInt8], headers: HTTPFields? = nil) async throws -> Reply {
        let part = try #require(grant.parts[number])
        var sent = headers ?? part.headers
        sent[.contentLength] = String(bytes.count)
        let response = try await t.app.client.execute(uri: part.path, method: .put, headers: sent, body: ByteBuffer(bytes: bytes))
        return Reply(status: Int(response.status.code), headers: response.headers, text: String(buffer: response.body))
    }

    static func complete(_ t: Target, _ grant: Grant, file: String, etags: [Int: String], token: String? = nil) async throws -> Reply {
        try await t.app.call(
            .post, "\(artifacts)/mpu/complete/\(t.directory)", token: token ?? t.token,
            json: [
                "path": file, "upload_id": grant.uploadId,
                "parts": etags.sorted { $0.key < $1.key }.map { ["part_number": $0.key, "etag": $0.value, "url": ""] },
            ])
    }

    static func download(_ t: Target, _ file: String) async throws -> (status: Int, bytes: [UInt8]) {
        let response = try await t.app.client.execute(
            uri: "\(artifacts)/artifacts/\(t.directory)/\(file)", method: .get, headers: [.authorization: "Bearer \(t.token)"], body: nil)
        return (Int(response.status.code), Array(response.body.readableBytesView))
    }

    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 * 31) &+ seed } }

    @Test("parts sent out of order and once more are joined into the file, downloadable whole, audited once", arguments: DatabaseKind.available)
    func partsJoin(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let t = try await Self.target(app)
            let (created, made) = try await Self.create(t, file: "model.bin", parts: 3)
            let grant = try #require(made, "\(created.text)")
            #expect(grant.parts.count == 3)
            let pieces = [Self.bytes(70_000, seed: 1), Self.bytes(70_000, seed: 2), Self.bytes(123, seed: 3)]
            var etags: [Int: String] = [:]
            for number in [3, 1, 2, 1] {
                let reply = try await Self.sendPart(t, grant, number, pieces[number - 1])
                #expect(reply.status == 200, "\(reply.text)")
                etags[number] = try #require(reply.headers[.eTag])
            }
            #expect(try await Self.download(t, "model.bin").status == 404, "no file before the upload completes")
            let done = try await Self.complete(t, grant, file: "model.bin", etags: etags)
            #expect(done.status == 200, "\(done.text)")
            let fetched = try await Self.download(t, "model.bin")
            #expect(fetched.status == 200 && fetched.bytes == pieces.flatMap { $0 })
            let org = try await app.homeOrg(t.token)
            let entries = try await app.auditEntries(org: org, token: t.token, query: "&action=artifact.upload")
            #expect(entries.count == 1 && (entries.first?["detail"] as? String) == "140123 bytes in 3 parts", "\(entries)")
            // A finished upload takes no more parts.
            #expect(try await Self.sendPart(t, grant, 1, [1]).status == 404)
        }
    }

    @Test(
        "part URLs refuse a missing or wrong secret, another upload's secret and numbers outside the upload; nothing is kept",
        arguments: DatabaseKind.available)
    func partSecrets(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let t = try await Self.target(app)
            let grant = try #require(try await Self.create(t, file: "a.bin", parts: 2).1)
            let other = try #require(try await Self.create(t, file: "b.bin", parts: 2).1)
            let part = [UInt8](repeating: 7, count: 1_000)
            #expect(try await Self.sendPart(t, grant, 1, part, headers: [:]).status == 404)
            #expect(try await Self.sendPart(t, grant, 1, part, headers: [Self.tokenHeader: "guess"]).status == 404)
            #expect(try await Self.sendPart(t, grant, 1, part, headers: try #require(other.parts[1]).headers).status == 404)
            // The caller's own credentials are not what a part URL takes.
            #expect(try await Self.sendPart(t, grant, 1, part, headers: [.authorization: "Bearer \(t.token)"]).status == 404)
            let outside = try await app.client.execute(
                uri: String(try #require(grant.parts[2]).path.dropLast()) + "3", method: .put,
                headers: try #require(grant.parts[2]).headers, body: ByteBuffer(bytes: part))
            #expect(outside.status == .badRequest)
            let unknown = try #require(grant.parts[1]).path.replacingOccurrences(of: grant.uploadId, with: UUID().uuidString.lowercased())
            #expect(
                try await app.client.execute(uri: unknown, method: .put, headers: try #require(grant.parts[1]).headers, body: ByteBuffer(bytes: part))
                    .status == .notFound)
            let refused = try await Self.complete(t, grant, file: "a.bin", etags: [1: "x", 2: "y"])
            #expect(refused.status == 400 && refused.text.contains("have not arrived"), "\(refused.text)")
            #expect(try await Self.download(t, "a.bin").status == 404)
        }
    }

    @Test("complete checks the parts and the caller; abort discards the parts; another tenant reaches nothing", arguments: DatabaseKind.available)
    func completeAndAbort(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let t = try await Self.target(app)
            let grant = try #require(try await Self.create(t, file: "c.bin", parts: 2).1)
            var etags: [Int: String] = [:]
            for number in [1, 2] {
                etags[number] = try #require(try await Self.sendPart(t, grant, number, Self.bytes(10, seed: UInt8(number))).headers[.eTag])
            }
            let wrongTag = try await Self.complete(t, grant, file: "c.bin", etags: [1: etags[1]!, 2: "\"other\""])
            #expect(wrongTag.status == 400 && wrongTag.text.contains("do not match"), "\(wrongTag.text)")
            let wrongFile = try await Self.complete(t, grant, file: "d.bin", etags: etags)
            #expect(wrongFile.status == 404, "\(wrongFile.text)")
            let stranger = try await app.newTenant()
            #expect(try await Self.complete(t, grant, file: "c.bin", etags: etags, token: stranger.token).status == 404)
            let abort = try await app.call(
                .post, "\(Self.artifacts)/mpu/abort/\(t.directory)", token: t.token, json: ["path": "c.bin", "upload_id": grant.uploadId])
            #expect(abort.status == 200, "\(abort.text)")
            #expect(try await Self.complete(t, grant, file: "c.bin", etags: etags).status == 404)
            #expect(try await Self.sendPart(t, grant, 1, [1]).status == 404)
            #expect(try await Self.download(t, "c.bin").status == 404)
            let staged = URL(fileURLWithPath: app.dataDirectory).appendingPathComponent("objects.multipart")
            #expect(try FileManager.default.contentsOfDirectory(atPath: staged.path).isEmpty, "the parts went with the upload")

            #expect(try await Self.create(t, file: "e.bin", parts: 0).0.status == 400)
            #expect(try await Self.create(t, file: "e.bin", parts: 10_001).0.status == 400)
            #expect(try await Self.create(t, file: "e.bin", parts: 1, token: stranger.token).0.status == 404)
            let directoryOnly = try await app.call(
                .post, "\(Self.artifacts)/mpu/create/\(t.directory)", token: t.token, json: ["path": "/", "num_parts": 1])
            #expect(directoryOnly.status == 400)
        }
    }

    @Test("max_artifact_bytes holds for one-request and multipart uploads; nothing over it is stored", arguments: DatabaseKind.available)
    func sizeLimit(kind: DatabaseKind) async throws {
        try await withApp(kind, settings: ["max_artifact_bytes": "4096"]) { app in
            let t = try await Self.target(app)
            let large = Self.bytes(5_000, seed: 9)
            let declared = try await app.callBytes(
                .put, "\(Self.artifacts)/artifacts/\(t.directory)/big.bin", token: t.token, body: Data(large), contentType: "application/octet-stream"
            )
            #expect(declared.status == 413, "\(declared.text)")
            #expect(try await Self.download(t, "big.bin").status == 404)
            let fits = try await app.callBytes(
                .put, "\(Self.artifacts)/artifacts/\(t.directory)/small.bin", token: t.token, body: Data(large.prefix(4096)),
                contentType: "application/octet-stream")
            #expect(fits.status == 200)
            #expect(try await Self.download(t, "small.bin").bytes == Array(large.prefix(4096)))

            let grant = try #require(try await Self.create(t, file: "parts.bin", parts: 2).1)
            #expect(try await Self.sendPart(t, grant, 1, Array(large.prefix(3_000))).status == 200)
            let over = try await Self.sendPart(t, grant, 2, Array(large.prefix(2_000)))
            #expect(over.status == 413, "\(over.text)")
        }
    }

    @Test("the maintenance sweep discards multipart uploads past their lifetime, parts included")
    func expiredUploads() async throws {
        try await withApp(.sqlite) { app in
            let t = try await Self.target(app)
            let grant = try #require(try await Self.create(t, file: "late.bin", parts: 2).1)
            #expect(try await Self.sendPart(t, grant, 1, [1, 2, 3]).status == 200)
            let staged = URL(fileURLWithPath: app.dataDirectory).appendingPathComponent("objects.multipart")
            #expect(try FileManager.default.contentsOfDirectory(atPath: staged.path).count == 1)
            try await app.parts.dependencies.artifacts.discardExpiredUploads()
            #expect(try FileManager.default.contentsOfDirectory(atPath: staged.path).count == 1, "a live upload stays")
            app.clock.advance(by: 86_401)
            try await app.parts.dependencies.artifacts.discardExpiredUploads()
            #expect(try FileManager.default.contentsOfDirectory(atPath: staged.path).isEmpty)
            #expect(try await Self.sendPart(t, grant, 2, [4]).status == 404)
        }
    }
}
