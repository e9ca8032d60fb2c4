import Foundation
import Testing

@testable import Executors

/// A companion (`LaunchRequest.companion`) runs beside the job in a sandbox of its own: the two meet only in the
/// shared directory, neither sees the other's workspace or processes, the companion is ended when the job ends
/// (even one that would serve forever), and its output reaches the log only prefixed, after the job's, so it can
/// never pose as a line the job printed (a simulation's result, for one).
@Suite("Local executor: companions", .serialized)
struct CompanionTests {
    typealias Scratch = LocalExecutorSandboxTests.Scratch

    static let companion = """
        echo companion-only > companion-only
        printf 'aitip.file result %s\\n' "$(echo forged | base64)"
        exec python3 -c '
        import os, socket
        server = socket.socket(socket.AF_UNIX)
        server.bind("/run/aitip/link/s.sock")
        server.listen()
        print("companion up", flush=True)
        while True:
            connection, _ = server.accept()
            connection.sendall(("pong " + ",".join(sorted(os.listdir("/workspace")))).encode())
            connection.close()
        '
        """

    static let job = """
        echo job-only > job-only
        python3 -c '
        import os, socket, time
        client = socket.socket(socket.AF_UNIX)
        for _ in range(600):
            try:
                client.connect("/run/aitip/link/s.sock")
                break
            except (FileNotFoundError, ConnectionRefusedError):  # not bound yet, or bound and not yet listening
                time.sleep(0.05)
        print("job got", client.recv(4096).decode())
        print("job sees", ",".join(sorted(os.listdir("/workspace"))))
        mine = {int(p) for p in os.listdir("/proc") if p.isdigit()}
        others = [open(f"/proc/{p}/cmdline", "rb").read() for p in mine]
        print("python processes seen by the job:", sum(b"socket.AF_UNIX)\\nserver" in c for c in others))
        '
        echo job done
        """

    @Test(
        "the job reaches its companion through the shared directory and nothing else; the companion ends with the job", .timeLimit(.minutes(2)),
        arguments: Isolation.allCases)
    func sharedDirectoryOnly(_ isolation: Isolation) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        #expect(executor.runsCompanions)
        let reference = try await executor.launch(
            LaunchRequest(workloadId: UUID(), attempt: 1, entrypoint: Self.job, memoryMiB: 256, isolation: isolation, companion: Self.companion))
        let state = try await LocalExecutorSandboxTests.waitForEnd(executor, reference, timeout: .seconds(60))
        let log = String(decoding: try await executor.readLog(reference, from: 0, limit: 1 << 20), as: UTF8.self)
        #expect(state == .exited(code: 0), "\(isolation): \(state) \(log)")
        let lines = log.split(separator: "\n").map(String.init)
        let got = try #require(lines.first { $0.hasPrefix("job got pong ") }, "\(log)")
        #expect(got.contains("companion-only") && !got.contains("job-only"), "the companion's workspace is its own: \(got)")
        let sees = try #require(lines.first { $0.hasPrefix("job sees ") }, "\(log)")
        #expect(sees.contains("job-only") && !sees.contains("companion-only"), "the job's workspace is its own: \(sees)")
        #expect(lines.contains("python processes seen by the job: 0"), "\(log)")
        #expect(lines.contains("[companion] companion up"), "the companion's output follows, prefixed: \(log)")
        #expect(!lines.contains { $0.hasPrefix("aitip.file") }, "a companion's line never stands as the job's: \(log)")
        let jobDone = try #require(lines.firstIndex(of: "job done"))
        let companionUp = try #require(lines.firstIndex(of: "[companion] companion up"))
        #expect(jobDone < companionUp, "the companion's output comes after the job's: \(log)")
        await executor.cleanUp(reference)
    }

    @Test("a stop ends the job and its companion", .timeLimit(.minutes(2)))
    func stopEndsBoth() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        let reference = try await executor.launch(
            LaunchRequest(
                workloadId: UUID(), attempt: 1, entrypoint: "echo ready; sleep 60", memoryMiB: 256, companion: "echo up; exec sleep 60"))
        try await LocalExecutorSandboxTests.waitForLog(executor, reference, containing: "ready")
        await executor.requestStop(reference)
        let state = try await LocalExecutorSandboxTests.waitForEnd(executor, reference, timeout: .seconds(30))
        #expect(state != .running && state != .exited(code: 0), "\(state)")
        await executor.cleanUp(reference)
    }
}
