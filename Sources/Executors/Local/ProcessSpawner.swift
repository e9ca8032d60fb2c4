import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// posix_spawn with what a job needs and Foundation's Process does not offer: a new session (so the job outlives
/// the server and can be re-adopted), no descriptor of the server but the ones named (stdin from /dev/null, stdout
/// and stderr appended to a file, any others the caller opens), default signal dispositions (the server ignores
/// SIGPIPE; a job must not inherit that) and an explicit environment.
enum ProcessSpawner {
    /// A file the child gets as descriptor `descriptor`, opened without following a link at its last component.
    struct OpenFile {
        var descriptor: Int32
        var path: String
        var flags: Int32
    }
    /// glibc's POSIX_SPAWN_SETSID (2.26+), hidden from Swift behind _GNU_SOURCE.
    static let setSessionFlag: Int32 = 0x80

    /// glibc 2.34+; not exported to Swift because the header declares it only under _GNU_SOURCE.
    @_silgen_name("posix_spawn_file_actions_addclosefrom_np")
    private static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

    static func spawn(_ arguments: [String], environment: [String: String], logFile: String, files: [OpenFile] = []) throws -> pid_t {
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
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // The server's sockets (the listening one included) must not leak into jobs, which outlive the server.
        guard addCloseFrom(&actions, 3) == 0 else { throw ExecutorError("posix_spawn_file_actions_addclosefrom_np failed") }
        for file in files {
            posix_spawn_file_actions_addopen(&actions, file.descriptor, file.path, file.flags | O_NOFOLLOW, 0o600)
        }

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

    /// Reaps the leader when it is this server's child; nil when it is still running or not our child.
    static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        return exitCode(status)
    }

    /// Runs a short program to its end (a check, not a job): its exit code and what it printed.
    static func run(_ arguments: [String], logFile: String, files: [OpenFile] = []) throws -> (status: Int32, output: String) {
        let pid = try spawn(arguments, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"], logFile: logFile, files: files)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let output = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        return (exitCode(status), output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// As shells report it: the code, or 128 + the signal that ended the process.
    private static func exitCode(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// A process named by its pid and its start time (clock ticks after boot, /proc/PID/stat field 22): a pid alone may
/// name another process once the first has exited, the pair never does. The server keeps it (in the attempt's
/// reference, stored in the database), never in a file a job could write.
struct ProcessIdentity: Sendable, Equatable {
    var pid: pid_t
    var startTicks: UInt64

    /// The identity of `pid` now; nil when no such process exists.
    static func of(_ pid: pid_t) -> ProcessIdentity? {
        guard let stat = ProcessStat.read(pid) else { return nil }
        return ProcessIdentity(pid: pid, startTicks: stat.startTicks)
    }

    /// Whether this very process still runs (a zombie has ended).
    var isAlive: Bool {
        guard let stat = ProcessStat.read(pid) else { return false }
        return stat.startTicks == startTicks && stat.state != "Z" && stat.state != "X"
    }

    /// "PID-START", as kept in a reference.
    var text: String { "\(pid)-\(startTicks)" }

    init(pid: pid_t, startTicks: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
    }

    init?(text: Substring) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 1, let start = UInt64(parts[1]) else { return nil }
        self.init(pid: pid, startTicks: start)
    }
}

/// The fields of /proc/PID/stat aitip reads. The command name, in parentheses, may hold spaces and parentheses
/// itself; every later field is read after the last ')'.
struct ProcessStat {
    /// Whether `pid` is process 1 of its own PID namespace (the innermost `NSpid` of /proc/<pid>/status).
    static func isNamespaceInit(_ pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") })
        else { return false }
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last == "1"
    }

    static func pidNamespace(_ process: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process)/ns/pid")
    }

    var state: Character
    var session: Int
    var cpuTicks: Double
    var startTicks: UInt64
    var residentPages: Int

    static func read(_ pid: pid_t) -> ProcessStat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        // After "(comm)": state(0) ppid(1) pgrp(2) session(3) … utime(11) stime(12) cutime(13) cstime(14) … starttime(19) vsize(20) rss(21).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 21, let state = fields[0].first, let session = Int(fields[3]), let start = UInt64(fields[19]) else { return nil }
        return ProcessStat(
            state: state, session: session, cpuTicks: [11, 12, 13, 14].compactMap { Double(fields[$0]) }.reduce(0, +),
            startTicks: start, residentPages: Int(fields[21]) ?? 0)
    }

    /// Every process whose session is `session` (the attempt's leader started it; a job can leave it with setsid,
    /// which is why the cgroup, when there is one, is the list that counts).
    static func sessionMembers(_ session: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry in
            guard entry.first?.isNumber == true, let pid = pid_t(entry), let stat = read(pid), stat.session == Int(session), stat.state != "Z" else {
                return nil
            }
            return pid
        }
    }
}

package struct ExecutorError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
