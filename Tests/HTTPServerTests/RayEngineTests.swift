import AITIPCore
import AITIPTestSupport
import App
import Foundation
import HTTPServer
import Testing

/// The workload engine with the Ray executor, through the API: nodes registered from Ray, aitip's admission of GPUs
/// honoured by Ray, logs, stop (ExecutorsTests drives the executor itself). Skipped when AITIP_TEST_RAY_ADDRESS is
/// unset; `scripts/test.sh` sets it and requires the suite.
enum RayTestEnvironment {
    static var address: String? { ProcessInfo.processInfo.environment["AITIP_TEST_RAY_ADDRESS"] }
    static var required: Bool { ProcessInfo.processInfo.environment["AITIP_REQUIRE_RAY"] == "1" }
}

@Suite("Workload engine on Ray", .serialized, .enabled(if: RayTestEnvironment.address != nil || RayTestEnvironment.required))
struct RayEngineTests {
    @Test("nodes come from Ray; a job with uploaded code runs on the GPUs aitip admitted; logs; stop", arguments: [DatabaseKind.sqlite])
    func submitLogsStop(_ kind: DatabaseKind) async throws {
        let address = try #require(RayTestEnvironment.address, "AITIP_TEST_RAY_ADDRESS is not set (scripts/services.sh ray_start)")
        try await withApp(kind, settings: ["executor": address, "grace_period": "5", "scheduler_tick_ms": "200"]) { app in
            let token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            let nodes = try await app.call(.get, "/api/v1/resources/gpu", token: token).items
            #expect(nodes.contains { $0["source"] as? String == "ray" && $0["node_type"] as? String == "a100" && $0["gpu_count"] as? Int == 4 })
            // Inference replicas serve on this server's sandbox sockets, which a Ray cluster's work cannot: refused, not
            // started to fail its health checks forever.
            let service = try await app.call(
                .post, "/api/v1/inference/services", token: token,
                json: ["project_id": project, "name": "on-ray", "model": "models:/m/1", "runtime": "process", "runtime_config": ["command": "true"]])
            #expect(service.status == 422 && service.text.contains("executor=local"), "\(service.text)")

            try await runEngine(app) {
                let sha = try await uploadCode(app, token, project, files: ["hello.txt": "hello from the code package\n"])
                let job = try await app.submit(
                    token, project, name: "on-ray", gpus: 2,
                    entrypoint: "echo CVD=$CUDA_VISIBLE_DEVICES; cat hello.txt; echo cfg=$AITIP_JOB_CONFIG",
                    extra: [
                        "code": ["archive": sha], "config": ["lr": 0.1],
                        "resources": ["gpu_type": "a100", "gpu_count": 2, "cpu": 0.1, "memory_mib": 64],
                    ])
                let done = try await app.waitFor(job.id, token, ["succeeded"])
                #expect(done["exit_code"] as? Int == 0)
                let log = try await app.call(.get, "/api/v1/training/jobs/\(job.id)/logs", token: token).text
                let devices = log.split(separator: "\n").first { $0.hasPrefix("CVD=") }.map { $0.dropFirst(4).split(separator: ",").count }
                #expect(devices == 2, "Ray must give the job the 2 GPUs aitip admitted: \(log)")
                #expect(log.contains("hello from the code package") && log.contains("cfg={\"lr\":0.1}"))

                let sleeper = try await app.submit(
                    token, project, name: "sleeper", gpus: 1, entrypoint: "sleep 300",
                    extra: ["resources": ["gpu_type": "a100", "gpu_count": 1, "cpu": 0.1, "memory_mib": 64]])
                _ = try await app.waitFor(sleeper.id, token, ["running"])
                #expect(try await app.call(.post, "/api/v1/training/jobs/\(sleeper.id)/stop", token: token).status == 200)
                let stopped = try await app.waitFor(sleeper.id, token, ["cancelled"])
                #expect((stopped["reason"] as? String)?.hasPrefix("stopped by admin") == true)
            }
        }
    }
}

/// Packs `files` with the system tar and uploads them as a code package; returns its sha256.
func uploadCode(_ app: TestApp, _ token: String, _ project: String, files: [String: String]) async throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-code-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
    let tarball = directory.appendingPathComponent("code.tar.gz")
    let tar = Process()
    tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
    tar.arguments = ["-czf", tarball.path, "-C", directory.path] + files.keys.sorted()
    try tar.run()
    tar.waitUntilExit()
    let reply = try await app.callBytes(
        .post, "/api/v1/training/code?project_id=\(project)", token: token, body: try Data(contentsOf: tarball),
        contentType: "application/gzip")
    try #require(reply.status == 201, "upload failed: \(reply.text)")
    return try #require(reply.string("sha256"))
}
