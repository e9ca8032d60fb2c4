#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// posix_spawn with what a job needs and Foundation's Process does not offer: a new session (so the job outlives
/// the server and can be re-adopted), no descriptor of the server but stdio, stdout and stderr appended to a file, stdin from /dev/null, default signal
/// dispositions (the server ignores SIGPIPE; a job must not inherit that) and an explicit environment.
enum ProcessSpawner {
    /// glibc's POSIX_SPAWN_SETSID (2.26+), hidden from Swift behind _GNU_SOURCE.
    static let setSessionFlag: Int32 = 0x80

    /// glibc 2.34+; not exported to Swift because the header declares it only under _GNU_SOURCE.
    @_silgen_name("posix_spawn_file_actions_addclosefrom_np")
    private static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

    static func spawn(_ arguments: [String], environment: [String: String], logFile: String) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(Self.setSessionFlag | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_APPEND | O_CREAT, 0o640)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The server's sockets (the listening one included) must not leak into jobs, which outlive the server.
        guard addCloseFrom(&actions, 3) == 0 else { throw ExecutorError("posix_spawn_file_actions_addclosefrom_np failed") }

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ExecutorError("could not start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Whether any process of the group (= session, the job started it) is alive.
    static func groupAlive(_ groupId: pid_t) -> Bool {
        Glibc.kill(-groupId, 0) == 0 || errno == EPERM
    }

    static func signalGroup(_ groupId: pid_t, _ signal: Int32) {
        _ = Glibc.kill(-groupId, signal)
    }

    /// Reaps the leader when it is this server's child; nil when it is still running or not our child.
    static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

public struct ExecutorError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
