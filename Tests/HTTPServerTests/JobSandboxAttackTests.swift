import AITIPCore
import AITIPTestSupport
import Foundation
import Testing

/// The job findings of the security review (#1, #2, #5, #8's code packages and paths) through the real API,
/// scheduler and local executor in bubblewrap, on both databases.
@Suite("Security review: jobs", .serialized)
struct JobSandboxAttackTests {
    @Test("finding 1: a job that links its log to the database gets its own output back, never the database", arguments: DatabaseKind.available)
    func logRedirect(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let data = app.dataDirectory
            let job = try await app.submit(
                token, project, name: "wal", gpus: 1,
                entrypoint: """
                    for target in ../output.log "${AITIP_JOB_DIR:-/nonexistent}/output.log" "\(data)/jobs"/*/1/output.log; do
                      ln -sf "\(data)/aitip.db-wal" "$target" 2>/dev/null && echo "replaced $target"
                    done
                    ls "\(data)" >/dev/null 2>&1 && echo "saw the data directory"
                    echo "paths: $HOME $AITIP_CHECKPOINT_DIR ${AITIP_JOB_DIR:-}"
                    """)
            let done = try await app.waitFor(job.id, token, ["succeeded", "failed"])
            let log = try await app.call(.get, "/api/v1/training/jobs/\(job.id)/logs", token: token).text
            #expect(log == "paths: /workspace /checkpoints \n", "\(log)")
            // The answer names no path of the server's disk (but the one the job's own command holds).
            #expect(done["checkpoint_path"] as? String == "/checkpoints")
            var answer = try await app.call(.get, "/api/v1/training/jobs/\(job.id)", token: token).json
            answer["entrypoint"] = nil
            let text = String(decoding: try JSONSerialization.data(withJSONObject: answer), as: UTF8.self)
            #expect(!text.contains(data) && !text.contains("/jobs/"), "\(text)")
        }
    }

    @Test("finding 2: without the sandbox jobs are refused (503); sandbox=off runs them but refuses an isolation it cannot enforce")
    func refusedWithoutSandbox() async throws {
        try await withEngine(.sqlite, settings: ["bubblewrap": "/nonexistent/bwrap"]) { app, token, project in
            let reply = try await app.call(
                .post, "/api/v1/training/jobs", token: token, json: ["project_id": project, "name": "x", "entrypoint": "true"])
            #expect(reply.status == 503 && reply.text.contains("bubblewrap"), "\(reply.text)")
            #expect(try await app.call(.get, "/api/v1/training/jobs", token: token).items.isEmpty, "nothing was queued")
        }
        try await withEngine(.sqlite, settings: ["sandbox": "off"]) { app, token, project in
            let isolated = try await app.call(
                .post, "/api/v1/training/jobs", token: token,
                json: ["project_id": project, "name": "x", "entrypoint": "true", "isolate_network": true])
            #expect(isolated.status == 422 && isolated.text.contains("isolate_network"), "\(isolated.text)")
            let plain = try await app.submit(token, project, name: "plain", gpus: 1, entrypoint: "true")
            let done = try await app.waitFor(plain.id, token, ["succeeded"])
            #expect(done["isolate_network"] as? Bool == false, "the answer says the job had the network, as it did")
        }
    }

    @Test("finding 5: jobs have no network unless they ask and the operator allows it", arguments: DatabaseKind.available)
    func networkPolicy(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let job = try await app.submit(
                token, project, name: "offline", gpus: 1,
                entrypoint: "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 1), timeout=1)' 2>&1 | tail -1")
            let done = try await app.waitFor(job.id, token, ["succeeded"])
            #expect(done["isolate_network"] as? Bool == true)
            let asked = try await app.call(
                .post, "/api/v1/training/jobs", token: token,
                json: ["project_id": project, "name": "online", "entrypoint": "true", "isolate_network": false])
            #expect(asked.status == 422 && asked.text.contains("job_network"), "\(asked.text)")
        }
        try await withEngine(kind, settings: ["job_network": "allow"]) { app, token, project in
            let job = try await app.submit(
                token, project, name: "online", gpus: 1, entrypoint: "test -e /etc/resolv.conf || true",
                extra: ["isolate_network": false])
            let done = try await app.waitFor(job.id, token, ["succeeded"])
            #expect(done["isolate_network"] as? Bool == false)
        }
    }

    @Test("finding 8: a code package's digest names it only in the organization that uploaded it", arguments: DatabaseKind.available)
    func codePackagesPerOrganization(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let package = try CodeArchiveFixture.make(["train.sh": "echo secret-code-of-org-a"])
            let uploaded = try await app.callBytes(
                .post, "/api/v1/training/code?project_id=\(project)", token: token, body: package,
                contentType: "application/gzip")
            let sha = try #require(uploaded.string("sha256"))
            let stranger = try await app.newTenant()
            let theirProject = try #require(
                try await app.call(.post, "/api/v1/projects", token: stranger.token, json: ["name": "theirs"]).string("id"))
            let stolen = try await app.call(
                .post, "/api/v1/training/jobs", token: stranger.token,
                json: [
                    "project_id": theirProject, "name": "steal", "entrypoint": "cat train.sh", "code": ["archive": sha],
                ])
            #expect(stolen.status == 400 && stolen.text.contains("upload it first"), "\(stolen.text)")
            let own = try await app.submit(token, project, name: "own", gpus: 1, entrypoint: "sh train.sh", extra: ["code": ["archive": sha]])
            _ = try await app.waitFor(own.id, token, ["succeeded"])
            #expect(try await app.call(.get, "/api/v1/training/jobs/\(own.id)/logs", token: token).text == "secret-code-of-org-a\n")
        }
    }
}

/// A .tar.gz of the given files, made with the system tar.
enum CodeArchiveFixture {
    static func make(_ files: [String: String]) throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("code-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = ["-czf", directory.appendingPathComponent("code.tar.gz").path, "-C", directory.path] + files.keys.sorted()
        try process.run()
        process.waitUntilExit()
        return try Data(contentsOf: directory.appendingPathComponent("code.tar.gz"))
    }
}
