import AITIPCore
import Foundation
import Logging
import Testing

@testable import Executors

/// The Ray executor against a real Ray head (`scripts/services.sh ray_start`: 4 fake GPUs, custom resource a100:4),
/// driven directly: launch with a code package, state, logs, stop. Skipped when AITIP_TEST_RAY_ADDRESS is unset;
/// `scripts/test.sh` sets it and AITIP_REQUIRE_RAY=1, which makes its absence a failure.
enum RayTestEnvironment {
    static var address: String? { ProcessInfo.processInfo.environment["AITIP_TEST_RAY_ADDRESS"] }
    static var required: Bool { ProcessInfo.processInfo.environment["AITIP_REQUIRE_RAY"] == "1" }
}

@Suite("Ray executor", .serialized, .enabled(if: RayTestEnvironment.address != nil || RayTestEnvironment.required))
struct RayExecutorTests {
    static func executor() throws -> RayExecutor {
        let address = try #require(RayTestEnvironment.address, "AITIP_TEST_RAY_ADDRESS is not set (scripts/services.sh ray_start)")
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return try RayExecutor(address: address, token: nil, logger: logger)
    }

    static func waitForEnd(_ executor: RayExecutor, _ reference: String) async throws -> ExecutionState {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let state = await executor.state(of: reference)
            if state != .running && state != .starting { return state }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("the Ray job did not end within 120 s")
        return .running
    }

    @Test("the cluster's nodes: GPUs, and the custom a100 resource")
    func nodes() async throws {
        let nodes = try await Self.executor().nodes()
        #expect(nodes.contains { $0.alive && $0.resources["GPU"] == 4 && $0.resources["a100"] == 4 }, "\(nodes)")
    }

    @Test("a job with a code package runs on exactly the GPUs asked for; its log is read from an offset; it ends with its code")
    func launchAndLog() async throws {
        let executor = try Self.executor()
        let reference = try await executor.launch(
            LaunchRequest(
                workloadId: UUID(), attempt: 1, entrypoint: "echo CVD=$CUDA_VISIBLE_DEVICES; cat hello.txt; exit 3", environment: ["GREETING": "hi"],
                codeArchive: try TarFixture.gzip(["hello.txt": "hello from the code package\n"]), gpuIndices: [[0, 1]], gpuType: "a100", cpu: 0.1,
                memoryMiB: 64, isolateNetwork: false))
        let state = try await Self.waitForEnd(executor, reference)
        #expect(state == .exited(code: 3))
        let log = String(decoding: try await executor.readLog(reference, from: 0, limit: 1 << 20), as: UTF8.self)
        let devices = log.split(separator: "\n").first { $0.hasPrefix("CVD=") }.map { $0.dropFirst(4).split(separator: ",").count }
        #expect(devices == 2, "Ray must give the job the 2 GPUs asked for: \(log)")
        #expect(log.contains("hello from the code package"))
        let tail = String(decoding: try await executor.readLog(reference, from: 4, limit: 1 << 20), as: UTF8.self)
        #expect(log.hasSuffix(tail) && tail.count == log.count - 4)
        await executor.cleanUp(reference)
    }

    @Test("a stopped job ends, and Ray no longer runs it")
    func stop() async throws {
        let executor = try Self.executor()
        let reference = try await executor.launch(
            LaunchRequest(
                workloadId: UUID(), attempt: 1, entrypoint: "sleep 300", cpu: 0.1, memoryMiB: 64,
                isolateNetwork: false))
        let deadline = ContinuousClock.now + .seconds(60)
        while await executor.state(of: reference) != .running, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        await executor.requestStop(reference)
        guard case .exited = try await Self.waitForEnd(executor, reference) else {
            Issue.record("a stopped job must end")
            return
        }
        await executor.cleanUp(reference)
    }
}

/// A .tar.gz of the given files, made with the system tar.
enum TarFixture {
    static func gzip(_ files: [String: String]) throws -> Data {
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
        return try Data(contentsOf: tarball)
    }
}
