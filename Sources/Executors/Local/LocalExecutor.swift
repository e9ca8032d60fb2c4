#if canImport(Glibc)
import Glibc
#endif
import AITIPCore
import Foundation
import Logging

/// Runs attempts as child processes of this machine, each in its own session:
/// `<jobs>/<workload>/<attempt>/` holds `work/` (the working directory), `output.log` (stdout and stderr of every
/// rank), `leader.pid` and `exit.<rank>`; `<jobs>/<workload>/checkpoints/` survives attempts so a preempted job can
/// resume. The attempt outlives a server restart: the engine re-adopts it by its reference, reads the log file on,
/// and learns the exit codes from the `exit.<rank>` files the wrapper writes.
public struct LocalExecutor: Executor {
    public struct Configuration: Sendable {
        public var jobsDirectory: String
        /// `auto`: bubblewrap when installed; `off`: plain processes (development only: the job sees the machine).
        public var sandbox: SandboxMode
        /// Paths the sandbox shows read-only besides /usr and /etc, e.g. a Python virtual environment.
        public var readOnlyPaths: [String]
        public var maxProcesses: Int

        public init(jobsDirectory: String, sandbox: SandboxMode = .auto, readOnlyPaths: [String] = [], maxProcesses: Int = 4_096) {
            self.jobsDirectory = jobsDirectory
            self.sandbox = sandbox
            self.readOnlyPaths = readOnlyPaths
            self.maxProcesses = maxProcesses
        }
    }

    public enum SandboxMode: String, Sendable, CaseIterable {
        case auto, off
    }

    public let kind = "local"
    let configuration: Configuration
    let bubblewrap: String?
    let cgroups: Cgroups
    let logger: Logger

    public init(_ configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        bubblewrap = configuration.sandbox == .off ? nil : Self.which("bwrap")
        cgroups = Cgroups.detect()
        if configuration.sandbox == .auto && bubblewrap == nil {
            logger.warning("bubblewrap (bwrap) is not installed: local jobs run without a sandbox and can read what the server can; install the 'bubblewrap' package")
        }
        if let reason = cgroups.unavailableReason {
            logger.warning("local jobs run without CPU, memory and process limits", metadata: ["reason": "\(reason)"])
        }
    }

    /// What isolation this executor gives, in words (shown by `aitip resources gpu` and the node's labels).
    public var isolation: String {
        let sandbox = bubblewrap == nil ? "no sandbox" : "bubblewrap sandbox"
        let limits = cgroups.unavailableReason == nil ? "cgroup limits" : "no cgroup limits"
        return "\(sandbox), \(limits)"
    }

    public func launch(_ request: LaunchRequest) async throws -> String {
        let reference = "\(request.workloadId.lowercasedString)/\(request.attempt)"
        let directory = attemptDirectory(reference)
        let work = "\(directory)/work"
        let checkpoints = "\(configuration.jobsDirectory)/\(request.workloadId.lowercasedString)/checkpoints"
        let files = FileManager.default
        try? files.removeItem(atPath: directory)
        try files.createDirectory(atPath: work, withIntermediateDirectories: true)
        try files.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
        var prepare = "true"
        if let archive = request.codeArchive {
            try archive.write(to: URL(fileURLWithPath: "\(directory)/code.tar.gz"))
            // GNU tar drops leading '/' and refuses members with '..'; inside the sandbox it can write only here.
            prepare = "tar -xzf ../code.tar.gz --no-same-owner --no-same-permissions"
        }
        let gpus = request.gpuIndices.first ?? []
        let worldSize = request.distributed == .single ? 1 : max(1, gpus.count)
        var environment = request.environment
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        environment["HOME"] = work
        environment["TMPDIR"] = "/tmp"
        environment["AITIP_WORKLOAD_ID"] = request.workloadId.lowercasedString
        environment["AITIP_ATTEMPT"] = String(request.attempt)
        environment["AITIP_CHECKPOINT_DIR"] = checkpoints
        environment["CUDA_VISIBLE_DEVICES"] = gpus.map(String.init).joined(separator: ",")
        environment["AITIP_JOB_DIR"] = directory
        environment["AITIP_WORKDIR"] = work
        environment["AITIP_PREPARE"] = prepare
        environment["AITIP_ENTRYPOINT"] = request.shellCommand
        environment["AITIP_RANKS"] = String(worldSize)
        if request.distributed != .single {
            environment["WORLD_SIZE"] = String(worldSize)
            environment["MASTER_ADDR"] = "127.0.0.1"
            environment["MASTER_PORT"] = String(try Self.freePort())
        }
        let limits = Cgroups.Limits(cpu: request.cpu, memoryBytes: request.memoryMiB * 1_048_576, pids: configuration.maxProcesses)
        let groupName = reference.replacingOccurrences(of: "/", with: "-")
        do {
            environment["AITIP_CGROUP_PROCS"] = try cgroups.create(groupName, limits).joined(separator: " ")
        } catch {
            logger.warning("could not create cgroups for a job; it runs without limits", metadata: ["error": "\(error)"])
        }
        let arguments = ["/bin/sh", "-c", Self.wrapper, "aitip-job"] + sandboxPrefix(directory: directory, work: work, checkpoints: checkpoints,
                                                                                      isolate: request.isolateNetwork)
        let pid = try ProcessSpawner.spawn(arguments, environment: environment, logFile: "\(directory)/output.log")
        try String(pid).write(toFile: "\(directory)/leader.pid", atomically: true, encoding: .utf8)
        return reference
    }

    /// Joins the cgroups, prepares the code once, starts every rank, then records each rank's exit code. It traps
    /// TERM and INT so that a stop reaches the ranks (the whole session is signalled) while it stays to write the
    /// codes; `wait` is repeated because a trapped signal interrupts it.
    static let wrapper = #"""
    trap 'true' TERM INT
    for f in $AITIP_CGROUP_PROCS; do echo $$ > "$f" || echo "aitip: could not join $f" >&2; done
    cd "$AITIP_WORKDIR" || exit 1
    if ! "$@" /bin/sh -c "$AITIP_PREPARE"; then
      echo "aitip: preparing the code failed" >&2
      r=0; while [ $r -lt "$AITIP_RANKS" ]; do echo 1 > "$AITIP_JOB_DIR/exit.$r"; r=$((r+1)); done
      exit 1
    fi
    r=0; pids=""
    while [ $r -lt "$AITIP_RANKS" ]; do
      RANK=$r LOCAL_RANK=$r "$@" /bin/sh -c "$AITIP_ENTRYPOINT" &
      pids="$pids $!"; r=$((r+1))
    done
    r=0
    for p in $pids; do
      while :; do wait $p; code=$?; kill -0 $p 2>/dev/null || break; done
      echo $code > "$AITIP_JOB_DIR/exit.$r"; r=$((r+1))
    done
    """#

    private func sandboxPrefix(directory: String, work: String, checkpoints: String, isolate: Bool) -> [String] {
        guard let bubblewrap else { return [] }
        var arguments = [bubblewrap, "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                         "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin", "--ro-bind", "/etc", "/etc",
                         "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                         "--bind", directory, directory, "--bind", checkpoints, checkpoints]
        for path in configuration.readOnlyPaths where FileManager.default.fileExists(atPath: path) {
            arguments += ["--ro-bind", path, path]
        }
        arguments += ["--chdir", work, "--unshare-all"]
        if !isolate { arguments.append("--share-net") }
        return arguments
    }

    public func state(of reference: String) async -> ExecutionState {
        let directory = attemptDirectory(reference)
        guard let text = try? String(contentsOfFile: "\(directory)/leader.pid", encoding: .utf8), let leader = pid_t(text) else {
            return .lost(reason: "the attempt's directory \(directory) is gone")
        }
        let leaderStatus = ProcessSpawner.reap(leader)
        if ProcessSpawner.groupAlive(leader) { return .running }
        let ranks = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasPrefix("exit.") }.sorted() ?? []
        let codes = ranks.compactMap { name -> Int32? in
            (try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        if !codes.isEmpty { return .exited(code: codes.first { $0 != 0 } ?? 0) }
        if let leaderStatus { return .exited(code: leaderStatus) }
        return .lost(reason: "its processes ended while the server was not watching and left no exit code")
    }

    /// Sums /proc over the attempt's session (every process it started, sandboxed or not): CPU time of the live
    /// processes and the children they have reaped, and resident memory.
    public func usage(of reference: String) async -> ResourceUsage? {
        guard let text = try? String(contentsOfFile: "\(attemptDirectory(reference))/leader.pid", encoding: .utf8),
              let leader = Int(text), let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = sysconf(Int32(_SC_PAGESIZE))
        var usage = ResourceUsage(cpuSeconds: 0, memoryBytes: 0, processes: 0)
        for entry in entries where entry.first?.isNumber == true {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After "(comm)": state ppid pgrp session … utime(14) stime(15) cutime(16) cstime(17) … rss(24), 1-based.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 21, Int(fields[3]) == leader else { continue }
            let cpu = [11, 12, 13, 14].compactMap { Double(fields[$0]) }.reduce(0, +)
            usage.cpuSeconds += cpu / ticks
            usage.memoryBytes += (Int(fields[21]) ?? 0) * page
            usage.processes += 1
        }
        return usage.processes == 0 ? nil : usage
    }

    public func requestStop(_ reference: String) async { signal(reference, SIGTERM) }

    public func kill(_ reference: String) async { signal(reference, SIGKILL) }

    private func signal(_ reference: String, _ signal: Int32) {
        guard let text = try? String(contentsOfFile: "\(attemptDirectory(reference))/leader.pid", encoding: .utf8),
              let leader = pid_t(text), leader > 1 else { return }
        ProcessSpawner.signalGroup(leader, signal)
    }

    public func readLog(_ reference: String, from offset: Int64, limit: Int) async throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: "\(attemptDirectory(reference))/output.log") else { return Data() }
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        return try handle.read(upToCount: limit) ?? Data()
    }

    public func cleanUp(_ reference: String) async {
        cgroups.remove(reference.replacingOccurrences(of: "/", with: "-"))
        try? FileManager.default.removeItem(atPath: attemptDirectory(reference))
    }

    /// Removes everything a workload left, checkpoints included (the workload was deleted).
    public func purge(workloadId: UUID) async {
        try? FileManager.default.removeItem(atPath: "\(configuration.jobsDirectory)/\(workloadId.lowercasedString)")
    }

    private func attemptDirectory(_ reference: String) -> String { "\(configuration.jobsDirectory)/\(reference)" }

    static func which(_ program: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(program)") {
            return "\(directory)/\(program)"
        }
        return nil
    }

    /// A port nobody listens on now, for the DDP rendezvous.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ExecutorError("no socket for a rendezvous port") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw ExecutorError("no free port for a rendezvous") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
