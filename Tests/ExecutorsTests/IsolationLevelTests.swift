import AITIPCore
import Foundation
import Logging
import Testing

@testable import Executors

#if canImport(Glibc)
    import Glibc
#endif

/// The two sandboxes a workload may ask for (`isolation`): the same attacks fail in both — reading the server's
/// data directory, reaching a service on the host's loopback, writing the system's files, outgrowing the memory
/// limit — and each adds its own layer: the bubblewrap sandbox its seccomp filter, gVisor its own kernel. Both run
/// here as root, as CI runs them (runsc from Debian's `runsc` package; these tests fail where it is missing).
@Suite("Local executor: isolation levels", .serialized)
struct IsolationLevelTests {
    typealias Scratch = LocalExecutorSandboxTests.Scratch

    @Test("gVisor is available here, and a job in it runs on gVisor's kernel with its exit code and workspace", .timeLimit(.minutes(2)))
    func gvisorRuns() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        #expect(executor.gvisor != nil, "\(executor.gvisorUnavailable)")
        let (state, log, reference) = try await LocalExecutorSandboxTests.run(
            executor, "dmesg | head -1; id -u; echo kept > result.txt && cat result.txt; exit 3", isolation: .gvisor)
        #expect(state == .exited(code: 3), "\(log)")
        #expect(log.contains("gVisor"), "the kernel the job talks to is gVisor's: \(log)")
        #expect(log.contains("65534\n") && log.contains("kept\n"), "\(log)")
        await executor.cleanUp(reference)
    }

    @Test(
        "the server's data, the host's loopback, /usr and more memory than allowed stay out of reach", .timeLimit(.minutes(3)),
        arguments: Isolation.allCases)
    func attacksFail(_ isolation: Isolation) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let listener = try LoopbackListener()
        defer { listener.close() }
        let executor = scratch.executor()
        let probe = """
            cat "\(scratch.secretFile)" 2>/dev/null && echo "read the secret"
            python3 -c 'import os; print(os.listdir("\(scratch.root)"))' 2>/dev/null && echo "saw the data dir"
            python3 -c 'import os; print(os.listdir("/"))'
            echo x > /usr/x 2>/dev/null && echo "wrote /usr"
            python3 -c 'import socket; socket.create_connection(("127.0.0.1", \(listener.port)), timeout=2); print("reached loopback")' 2>/dev/null
            echo probed
            """
        let (state, log, _) = try await LocalExecutorSandboxTests.run(executor, probe, isolation: isolation)
        #expect(state == .exited(code: 0), "\(log)")
        #expect(log.contains("probed") && log.contains("'workspace'"), "the probe ran and saw its own root: \(log)")
        for leak in ["read the secret", "saw the data dir", "wrote /usr", "reached loopback", scratch.secret] {
            #expect(!log.contains(leak), "\(isolation): \(leak): \(log)")
        }
        let (hungry, hungryLog, _) = try await LocalExecutorSandboxTests.run(
            executor, "python3 -c 'x = bytearray(400 * 1024 * 1024); print(\"allocated\", len(x))'", memoryMiB: 96, isolation: isolation)
        switch hungry {
        case .killed(let code, let reason): #expect(code != 0 && reason.contains("out of memory"), "\(isolation): \(reason)")
        default: Issue.record("\(isolation): a job over its memory limit must end killed, out of memory: \(hungry) \(hungryLog)")
        }
        #expect(!hungryLog.contains("allocated"), "\(hungryLog)")
    }

    @Test("a stop reaches the job inside gVisor as SIGTERM, so it can checkpoint and exit", .timeLimit(.minutes(2)))
    func gvisorStop() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        let reference = try await executor.launch(
            LaunchRequest(
                workloadId: UUID(), attempt: 1, entrypoint: "trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.1; done",
                memoryMiB: 256, isolation: .gvisor))
        try await LocalExecutorSandboxTests.waitForLog(executor, reference, containing: "ready")
        await executor.requestStop(reference)
        let state = try await LocalExecutorSandboxTests.waitForEnd(executor, reference, timeout: .seconds(30))
        let log = String(decoding: try await executor.readLog(reference, from: 0, limit: 4_096), as: UTF8.self)
        #expect(state == .exited(code: 0) && log.contains("got TERM"), "\(state): \(log)")
        await executor.cleanUp(reference)
    }

    @Test(
        "a stop asked for while the sandbox is still starting is delivered once the job runs, not lost until the grace period ends",
        .timeLimit(.minutes(2)), arguments: Isolation.allCases)
    func stopDuringStartUp(_ isolation: Isolation) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        let reference = try await executor.launch(
            LaunchRequest(workloadId: UUID(), attempt: 1, entrypoint: "sleep 60", memoryMiB: 256, isolation: isolation))
        await executor.requestStop(reference)
        let state = try await LocalExecutorSandboxTests.waitForEnd(executor, reference, timeout: .seconds(20))
        #expect(state != .running && state != .exited(code: 0), "\(isolation): \(state)")
        await executor.cleanUp(reference)
    }

    @Test("a gVisor job that asks for the network (and may have it) reaches the host; one that does not, does not", .timeLimit(.minutes(2)))
    func gvisorNetwork() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let listener = try LoopbackListener()
        defer { listener.close() }
        let executor = scratch.executor { $0.network = .allow }
        let probe = """
            python3 -c 'import socket; socket.create_connection(("127.0.0.1", \(listener.port)), timeout=2); print("reached loopback")' 2>&1 | tail -1
            """
        let open = try await LocalExecutorSandboxTests.run(executor, probe, isolateNetwork: false, isolation: .gvisor)
        #expect(open.log.contains("reached loopback"), "\(open.log)")
        let closed = try await LocalExecutorSandboxTests.run(executor, probe, isolation: .gvisor)
        #expect(!closed.log.contains("reached loopback"), "\(closed.log)")
    }

    @Test("the bubblewrap sandbox's seccomp filter refuses namespaces, tracing and io_uring; ordinary programs still run")
    func seccompFilter() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let executor = scratch.executor()
        #expect(executor.seccompFilter != nil)
        let probe = """
            grep '^Seccomp:' /proc/self/status
            unshare --user true 2>&1 | tail -1
            python3 - <<'PY'
            import ctypes, errno, os
            libc = ctypes.CDLL(None, use_errno=True)
            for name, number, args in [("ptrace", 101, (0, 0, 0, 0)), ("io_uring_setup", 425, (1, 0)), ("bpf", 321, (0, 0, 0))]:
                result = libc.syscall(number, *args)
                print(name, result, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))
            pid = os.fork()
            if pid == 0:
                os._exit(7)
            print("fork", os.waitpid(pid, 0)[1] >> 8)
            PY
            """
        let (state, log, _) = try await LocalExecutorSandboxTests.run(executor, probe)
        #expect(state == .exited(code: 0), "\(log)")
        #expect(log.contains("Seccomp:\t2"), "a filter is installed: \(log)")
        #expect(log.contains("Operation not permitted"), "unshare is refused: \(log)")
        for line in ["ptrace -1 EPERM", "io_uring_setup -1 EPERM", "bpf -1 EPERM", "fork 7"] {
            #expect(log.contains(line), "\(line): \(log)")
        }
    }

    @Test("the filter is the documented program: the architecture check first, ALLOW last, nothing jumps past the end")
    func filterProgram() throws {
        let program = Seccomp.x86_64Program()
        #expect(program.first == Seccomp.Instruction(code: Seccomp.loadWord, jumpIfTrue: 0, jumpIfFalse: 0, value: Seccomp.architectureOffset))
        #expect(program.last == Seccomp.Instruction(code: Seccomp.returnValue, jumpIfTrue: 0, jumpIfFalse: 0, value: Seccomp.allow))
        for (index, instruction) in program.enumerated() where instruction.code & 0x07 == 0x05 {
            #expect(index + 1 + Int(max(instruction.jumpIfTrue, instruction.jumpIfFalse)) < program.count)
        }
        #expect(Seccomp.bytes(program).count == program.count * 8)
        #expect(Set(Seccomp.deniedX86_64.map(\.number)).count == Seccomp.deniedX86_64.count, "no call is listed twice")
    }
}
