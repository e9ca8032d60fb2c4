import AITIPCore
import Foundation
import Logging
import Testing

@testable import Executors

#if canImport(Glibc)
    import Glibc
#endif

/// The attacks a security review made on the local executor, run as jobs, in the bubblewrap sandbox (installed by
/// scripts/test.sh; these tests fail where it is missing) as root, as CI runs them. Each reproduces one finding
/// and checks that it now fails.
@Suite("Local executor: the sandbox holds", .serialized)
struct LocalExecutorSandboxTests {
    /// A scratch jobs directory inside a private "data directory" that also holds a secret, as the server's does.
    struct Scratch {
        let root: String
        let secretFile: String
        let secret = "signing-secret-\(UUID().uuidString)"

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-exec-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: "\(root)/jobs", withIntermediateDirectories: true)
            chmod(root, 0o700)
            secretFile = "\(root)/aitip.db-wal"
            try secret.write(toFile: secretFile, atomically: true, encoding: .utf8)
            chmod(secretFile, 0o600)
        }

        func executor(_ change: (inout LocalExecutor.Configuration) -> Void = { _ in }) -> LocalExecutor {
            var configuration = LocalExecutor.Configuration(jobsDirectory: "\(root)/jobs")
            change(&configuration)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            return LocalExecutor(configuration, logger: logger)
        }

        func remove() { LocalExecutor.removeTree(root) }
    }

    static func run(
        _ executor: LocalExecutor, _ command: String, environment: [String: String] = [:], isolateNetwork: Bool = true,
        memoryMiB: Int = 256, timeout: Duration = .seconds(60), isolation: Isolation = .container
    ) async throws -> (state: ExecutionState, log: String, reference: String) {
        let reference = try await executor.launch(
            LaunchRequest(
                workloadId: UUID(), attempt: 1, entrypoint: command, environment: environment,
                memoryMiB: memoryMiB, isolateNetwork: isolateNetwork, isolation: isolation))
        let state = try await waitForEnd(executor, reference, timeout: timeout)
        let log = String(decoding: try await executor.readLog(reference, from: 0, limit: 1 << 20), as: UTF8.self)
        return (state, log, reference)
    }

    /// Waits until the attempt's log holds `text` (the job has started and said so).
    static func waitForLog(_ executor: LocalExecutor, _ reference: String, containing text: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !String(decoding: try await executor.readLog(reference, from: 0, limit: 4_096), as: UTF8.self).contains(text) {
            try #require(ContinuousClock.now < deadline, "the job never started")
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func waitForEnd(_ executor: LocalExecutor, _ reference: String, timeout: Duration) async throws -> ExecutionState {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let state = await executor.state(of: reference)
            if state != .running && state != .starting { return state }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the job did not end within \(timeout)")
        return .running
    }

    @Test("the sandbox starts here (bubblewrap installed, server as root)")
    func sandboxAvailable() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        #expect(executor.unavailable == nil, "\(executor.unavailable ?? "")")
        #expect(executor.sandbox?.user == Sandbox.User(uid: 65534, gid: 65534), "the server runs as root in CI; jobs must drop to nobody")
    }

    @Test("finding 1a: a job cannot swap its log for a link to the database and read it through the logs API")
    func logCannotBeRedirected() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        // The review's attack, at every path the job could think of: the old $AITIP_JOB_DIR, the parent of its
        // working directory, and the real control directory (whose path it would have to guess).
        let (state, log, reference) = try await Self.run(
            executor,
            """
            echo "job dir: ${AITIP_JOB_DIR:-unset}"
            for target in ../output.log /workspace/../output.log "$AITIP_JOB_DIR/output.log" "\(scratch.root)/jobs"/*/1/output.log; do
              ln -sf "\(scratch.secretFile)" "$target" 2>/dev/null && echo "replaced $target"
            done
            cat "\(scratch.secretFile)" 2>/dev/null && echo "read the secret"
            echo done
            """)
        #expect(state == .exited(code: 0))
        #expect(log.contains("job dir: unset") && log.contains("done"), "\(log)")
        #expect(!log.contains("replaced") && !log.contains("read the secret") && !log.contains(scratch.secret), "\(log)")
        // Defence in depth: even a log that became a link is not followed.
        let attempt = try #require(AttemptReference(reference, root: "\(scratch.root)/jobs"))
        unlink(attempt.paths.log)
        symlink(scratch.secretFile, attempt.paths.log)
        await #expect(throws: (any Error).self) { _ = try await executor.readLog(reference, from: 0, limit: 1 << 20) }
        let again = (try? await executor.readLog(reference, from: 0, limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(!again.contains(scratch.secret))
    }

    @Test("finding 1b: a job cannot make a stop signal another process, nor be marked lost while it runs on")
    func stopSignalsOnlyTheJob() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor { $0.sandbox = .bubblewrap }
        // A process of the host that a job would like killed.
        let victim = try ProcessSpawner.spawn(["/bin/sleep", "300"], environment: [:], logFile: "\(scratch.root)/victim.log")
        defer {
            _ = Glibc.kill(victim, SIGKILL)
            _ = ProcessSpawner.reap(victim)
        }
        let reference = try await executor.launch(
            LaunchRequest(
                workloadId: UUID(), attempt: 1,
                entrypoint: """
                    for target in ../leader.pid /workspace/leader.pid "${AITIP_JOB_DIR:-/nonexistent}/leader.pid" /checkpoints/leader.pid; do
                      printf '%s\\n' "$VICTIM" > "$target" 2>/dev/null && echo "wrote $target"
                    done
                    trap '' TERM
                    echo ready
                    while true; do sleep 0.1; done
                    """, environment: ["VICTIM": String(victim)], memoryMiB: 128))
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline,
            !String(decoding: try await executor.readLog(reference, from: 0, limit: 1 << 16), as: UTF8.self).contains("ready")
        {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await executor.state(of: reference) == .running)
        await executor.requestStop(reference)
        // A window in which nothing may happen: the stop must reach neither the victim nor end the job.
        try await Task.sleep(for: .milliseconds(300))
        #expect(ProcessIdentity.of(victim)?.isAlive == true, "a stop must never reach a process outside the job")
        #expect(await executor.state(of: reference) == .running, "the job ignores TERM and still runs: it must not be reported as ended")
        await executor.kill(reference)
        let ended = try await Self.waitForEnd(executor, reference, timeout: .seconds(10))
        guard case .killed(_, let reason) = ended else {
            Issue.record("a job killed after ignoring TERM must be reported killed, with why: \(ended)")
            return
        }
        #expect(reason.contains("grace period after SIGTERM"), "\(reason)")
        #expect(ProcessIdentity.of(victim)?.isAlive == true)
        let usage = await executor.usage(of: reference)
        #expect(usage == nil, "no process of the job may survive the kill")
    }

    @Test("finding 5: the job runs as nobody, sees a few /etc files and not the server's disk, and has no network unless it asks")
    func jobSeesLittle() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // A root-only file in a path the job may read (sandbox_ro_paths), like a 0600 configuration with a password.
        // Nested, so bubblewrap must create its parents (they must stay traversable, as for /opt/venv).
        let shared = "\(scratch.root)-shared/deep/venv"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: "\(scratch.root)-shared") }
        // World-readable, as a virtualenv is (the process's umask may be the server's 077 when other suites ran).
        for directory in ["\(scratch.root)-shared", "\(scratch.root)-shared/deep", shared] { chmod(directory, 0o755) }
        try "db-password".write(toFile: "\(shared)/config", atomically: true, encoding: .utf8)
        chmod("\(shared)/config", 0o600)
        try "print('hi')".write(toFile: "\(shared)/public.py", atomically: true, encoding: .utf8)
        chmod("\(shared)/public.py", 0o644)
        // A service on the host's loopback, as PostgreSQL or a Ray dashboard would be.
        let listener = try LoopbackListener()
        defer { listener.close() }
        let executor = scratch.executor {
            $0.readOnlyPaths = [shared]; $0.network = .allow
        }
        let probe = """
            echo "uid=$(id -u)"
            test -e /etc/shadow && echo "shadow visible"
            test -e /etc/ssl && echo "ssl visible"
            cat \(shared)/config 2>/dev/null && echo "read root-only file"
            python3 \(shared)/public.py 2>&1 | head -1
            ls "\(scratch.root)" 2>/dev/null && echo "saw the data dir"
            echo x > /usr/x 2>/dev/null && echo "wrote /usr"
            echo x > /tmp/x && echo "tmp writable"
            python3 -c 'import socket; socket.create_connection(("127.0.0.1", \(listener.port)), timeout=2); print("reached loopback")' 2>/dev/null
            true
            """
        let isolated = try await Self.run(executor, probe)
        #expect(isolated.state == .exited(code: 0))
        #expect(
            isolated.log.contains("uid=65534") && isolated.log.contains("ssl visible") && isolated.log.contains("tmp writable"), "\(isolated.log)")
        #expect(isolated.log.contains("hi\n"), "a readable file in sandbox_ro_paths is readable: \(isolated.log)")
        for leak in ["shadow visible", "read root-only file", "saw the data dir", "wrote /usr", "reached loopback"] {
            #expect(!isolated.log.contains(leak), "\(leak): \(isolated.log)")
        }
        let networked = try await Self.run(executor, probe, isolateNetwork: false)
        #expect(networked.log.contains("reached loopback"), "a job that asked for the network (job_network=allow) has it: \(networked.log)")
    }

    @Test("finding 5: a job that fills the disk is killed with the reason, and is not retried")
    func diskLimit() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor { $0.diskLimitBytes = 8 << 20 }
        let (state, _, _) = try await Self.run(
            executor, "i=0; while [ $i -lt 400 ]; do head -c 1048576 /dev/zero > /workspace/f$i; i=$((i+1)); sleep 0.02; done")
        guard case .killed(_, let reason) = state else {
            Issue.record("expected the job to be killed for its disk use, got \(state)")
            return
        }
        #expect(reason.contains("job_disk_limit"))
    }

    @Test("the job's cgroup limits hold: memory (ends killed, out of memory, not retried) and processes (a fork bomb stops at the limit)")
    func cgroupLimits() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor { $0.maxProcesses = 32 }
        try #require(
            executor.cgroups.unavailableReason == nil, "cgroups must be writable where the tests run: \(executor.cgroups.unavailableReason ?? "")")

        // 400 MB in one line that `tail` must hold whole, under a 64 MiB limit.
        let (hungry, _, _) = try await Self.run(executor, "head -c 400000000 /dev/zero | tail -n 1 > /dev/null", memoryMiB: 64)
        guard case .killed(let code, let reason) = hungry else {
            Issue.record("a job over its memory limit must end killed, out of memory: \(hungry)")
            return
        }
        #expect(code != 0 && reason.contains("out of memory"), "\(reason)")
        // Using memory under the limit is not an out-of-memory end.
        let (modest, _, _) = try await Self.run(executor, "head -c 20000000 /dev/zero | tail -n 1 > /dev/null; exit 3", memoryMiB: 64)
        #expect(modest == .exited(code: 3))

        // 200 background processes asked for, 32 allowed: the shell cannot fork past the limit and gives up.
        let (forks, log, _) = try await Self.run(executor, "i=0; while [ $i -lt 200 ]; do sleep 2 & i=$((i+1)); done; wait; echo all forked")
        #expect(log.contains("Cannot fork") && !log.contains("all forked"), "the process limit was not reached: \(log.prefix(300))")
        guard case .exited(let code) = forks, code != 0 else {
            Issue.record("the fork bomb should end failed on its own: \(forks)")
            return
        }
    }

    @Test(
        "finding 2: without bubblewrap jobs are refused, unless the operator turned the sandbox off; an isolation that cannot be enforced is refused")
    func refusedWithoutSandbox() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let missing = scratch.executor { $0.bubblewrap = "/nonexistent/bwrap" }
        #expect(missing.refusal(isolateNetwork: true)?.kind == .unavailable)
        #expect(missing.refusal(isolateNetwork: false)?.kind == .unavailable)
        await #expect(throws: AppError.self) {
            _ = try await missing.launch(LaunchRequest(workloadId: UUID(), attempt: 1, entrypoint: "touch /tmp/ran"))
        }
        let off = scratch.executor { $0.sandbox = .off }
        #expect(off.isolatesNetworkByDefault == false)
        #expect(off.refusal(isolateNetwork: true)?.kind == .validation, "sandbox=off cannot cut the network: asking for it is refused, not ignored")
        #expect(off.refusal(isolateNetwork: false) == nil)
        let sandboxed = scratch.executor()
        #expect(sandboxed.isolatesNetworkByDefault)
        #expect(sandboxed.refusal(isolateNetwork: false)?.kind == .validation, "job_network=none: a job asking for the network is refused")
    }

    @Test("ranks of a DDP job share the sandbox (one network namespace) and each reports its exit code")
    func ranksShareTheSandbox() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        let reference = try await executor.launch(
            LaunchRequest(
                workloadId: UUID(), attempt: 1,
                entrypoint: """
                    if [ "$RANK" = 0 ]; then python3 -c 'import socket,os; s=socket.socket(); s.bind(("127.0.0.1", int(os.environ["MASTER_PORT"]))); s.listen(); c,_=s.accept(); print("rank 0 got", c.recv(16).decode())'
                    else sleep 0.5; python3 -c 'import socket,os; socket.create_connection(("127.0.0.1", int(os.environ["MASTER_PORT"]))).send(b"hello")'; exit 3; fi
                    """, gpuIndices: [[0, 1]], distributed: .ddp))
        let state = try await Self.waitForEnd(executor, reference, timeout: .seconds(30))
        let log = String(decoding: try await executor.readLog(reference, from: 0, limit: 1 << 20), as: UTF8.self)
        #expect(log.contains("rank 0 got hello"), "\(log)")
        #expect(state == .exited(code: 3), "the first failing rank's code")
    }
}

/// A TCP listener on 127.0.0.1 that accepts nothing on purpose (a connection still completes in the backlog).
final class LoopbackListener: Sendable {
    let socket: Int32
    let port: Int

    init() throws {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 16) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard ok else { throw ExecutorError("no loopback listener") }
        socket = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(socket) }
}
