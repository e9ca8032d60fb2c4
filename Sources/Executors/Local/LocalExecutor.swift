import AITIPCore
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Runs attempts as child processes of this machine, each in its own session and cgroup, inside the bubblewrap
/// sandbox (`Sandbox`). On disk, `<jobs>/<workload>/` (only the server may open it) holds
/// - `<attempt>/`, the attempt's control directory, also server-only: `output.log` (stdout and stderr of every
///   rank), `exit-codes` (one "rank code" line per rank, written by the launcher), `code.tar.gz`, `ended` (why the
///   server ended the attempt itself), the sandbox's passwd and group files, and
/// - `<attempt>/work/`, the job's working directory, owned by the job's user: the only place it writes, with
/// - `checkpoints/`, also the job's, which survives attempts so a preempted job can resume.
///
/// The leader's pid and start time are the attempt's identity; they are kept in the reference the engine stores
/// (the database), never in a file. A job can write only inside `work/` and `checkpoints/`, so nothing it does there
/// changes what the server reads, signals or deletes: logs are opened without following links, signals go to the
/// processes of the attempt's cgroup, and the walk that measures its disk use never follows a link.
package struct LocalExecutor: Executor {
    package struct Configuration: Sendable {
        package var jobsDirectory: String
        package var sandbox: SandboxMode
        /// Paths the sandbox shows read-only besides /usr and a few /etc files, e.g. a Python virtual environment.
        package var readOnlyPaths: [String]
        package var maxProcesses: Int
        /// The user and group jobs run as when the server runs as root (by default nobody/nogroup).
        package var jobUID: UInt32
        package var jobGID: UInt32
        package var network: NetworkPolicy
        /// What one attempt may keep on disk (working directory, checkpoints, log); 0: no limit.
        package var diskLimitBytes: Int64
        /// Files and directories one attempt may create.
        package var maxFiles: Int
        /// The bubblewrap program; by default `bwrap` from /usr/bin or /usr/local/bin.
        package var bubblewrap: String?
        /// gVisor's runsc, for workloads that ask for `isolation: gvisor`; by default `runsc` from the same places.
        package var runsc: String?

        package init(
            jobsDirectory: String, sandbox: SandboxMode = .bubblewrap, readOnlyPaths: [String] = [], maxProcesses: Int = 4_096,
            jobUID: UInt32 = 65534, jobGID: UInt32 = 65534, network: NetworkPolicy = .none, diskLimitBytes: Int64 = 10 << 30,
            maxFiles: Int = 1_000_000, bubblewrap: String? = nil, runsc: String? = nil
        ) {
            self.runsc = runsc
            self.jobsDirectory = jobsDirectory
            self.sandbox = sandbox
            self.readOnlyPaths = readOnlyPaths
            self.maxProcesses = maxProcesses
            self.jobUID = jobUID
            self.jobGID = jobGID
            self.network = network
            self.diskLimitBytes = diskLimitBytes
            self.maxFiles = maxFiles
            self.bubblewrap = bubblewrap
        }
    }

    /// `bubblewrap`: every job in the sandbox, and no job at all where it cannot run; `off`: plain processes as
    /// the server's user, which can read and change everything the server can (an explicit choice, warned about at
    /// every start). `auto`, the earlier name of the default, still means `bubblewrap`.
    package enum SandboxMode: String, Sendable, CaseIterable {
        case bubblewrap, off

        package init?(setting: String) {
            self.init(rawValue: setting == "auto" ? "bubblewrap" : setting)
        }
    }

    /// `none`: jobs never have the network (a job that asks is refused); `allow`: a job may ask for it, and then
    /// shares the host's network, loopback included (docs/security.md says how to fence it).
    package enum NetworkPolicy: String, Sendable, CaseIterable {
        case none, allow
    }

    package let kind = "local"
    let configuration: Configuration
    /// The sandbox, or nil when it is off or cannot run (then `unavailable` says why).
    let sandbox: Sandbox?
    let unavailable: String?
    /// The gVisor sandbox, or nil (then `gvisorUnavailable` says why).
    let gvisor: GVisor?
    let gvisorUnavailable: String
    /// The compiled seccomp filter of the bubblewrap sandbox; nil where this architecture has none.
    let seccompFilter: Data?
    let cgroups: Cgroups
    let logger: Logger
    private let memory = AttemptMemory()

    /// How often a running attempt's disk use is measured.
    static let diskCheckInterval: Duration = .seconds(2)

    package init(_ configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        cgroups = Cgroups.detect()
        var made: Sandbox?
        var unavailable: String?
        seccompFilter = Seccomp.program().map(Seccomp.bytes)
        if seccompFilter == nil, configuration.sandbox == .bubblewrap {
            logger.warning("local jobs run without a seccomp filter: aitip has no system call table for this architecture")
        }
        if configuration.sandbox == .bubblewrap {
            if let bubblewrap = configuration.bubblewrap.map({ FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }) ?? Self.which("bwrap") {
                let sandbox = Sandbox(
                    bubblewrap: bubblewrap, user: geteuid() == 0 ? .init(uid: configuration.jobUID, gid: configuration.jobGID) : nil)
                if let problem = Self.probe(sandbox, seccomp: seccompFilter, in: configuration.jobsDirectory) {
                    unavailable = "the bubblewrap sandbox does not start on this machine (\(problem))"
                } else {
                    made = sandbox
                }
            } else {
                unavailable = "bubblewrap is not installed (apt-get install bubblewrap)"
            }
        }
        sandbox = made
        self.unavailable = unavailable
        let runsc = configuration.runsc.map { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil } ?? Self.which("runsc")
        switch (made?.user, runsc) {
        case (let user?, let runsc?):
            gvisor = GVisor(runsc: runsc, user: user)
            gvisorUnavailable = ""
        case (nil, _):
            gvisor = nil
            gvisorUnavailable =
                made == nil ? "the job sandbox is off or cannot run" : "runsc needs a server that runs as root (it drops jobs to job_uid itself)"
        case (_, nil):
            gvisor = nil
            gvisorUnavailable = "gVisor is not installed (apt-get install runsc)"
        }
        if let unavailable {
            logger.error(
                "local jobs are refused: \(unavailable). Jobs run other people's code and never run unsandboxed unless the operator sets sandbox=off")
        } else if configuration.sandbox == .off {
            logger.warning(
                "sandbox=off: local jobs run as plain processes of the server's user and can read and change everything the server can (its database, signing keys and objects included); use it only where every submitter is trusted with the server"
            )
        }
        if let reason = cgroups.unavailableReason {
            logger.warning("local jobs run without CPU, memory and process limits", metadata: ["reason": "\(reason)"])
        }
    }

    /// What isolation this executor gives, in words (shown by `aitip resources gpu` and the node's labels).
    package var isolation: String {
        let box =
            sandbox == nil
            ? (unavailable == nil ? "no sandbox (sandbox=off)" : "jobs refused: no sandbox")
            : "bubblewrap sandbox\(seccompFilter == nil ? "" : " with seccomp")"
        let limits = cgroups.unavailableReason == nil ? "cgroup limits" : "no cgroup limits"
        return "\(box), \(limits)\(gvisor == nil ? "" : ", gVisor")"
    }

    package var isolatesNetworkByDefault: Bool { configuration.sandbox == .bubblewrap }

    package func refusal(isolateNetwork: Bool) -> AppError? {
        if let unavailable {
            return AppError(
                .unavailable,
                "This server cannot run jobs safely: \(unavailable). Ask the operator to fix it; only an explicit sandbox=off runs jobs unsandboxed")
        }
        if configuration.sandbox == .off {
            return isolateNetwork
                ? AppError.validation([
                    FieldError(
                        field: "isolate_network",
                        message: "cannot be enforced: the operator turned the sandbox off (sandbox=off), so jobs share the server's network")
                ]) : nil
        }
        if !isolateNetwork, configuration.network == .none {
            return AppError.validation([
                FieldError(
                    field: "isolate_network",
                    message:
                        "jobs on this server have no network (job_network=none); leave isolate_network out or true, or ask the operator to set job_network=allow"
                )
            ])
        }
        return nil
    }

    package func serviceSocket(of reference: String) -> String? {
        AttemptReference(reference, root: configuration.jobsDirectory)?.paths.serviceSocket
    }

    package var servesOnSockets: Bool { true }

    /// Only the sandbox keeps a companion apart from the job (with sandbox=off both would be plain processes).
    package var runsCompanions: Bool { sandbox != nil }

    package func refusal(isolation: Isolation) -> AppError? {
        guard isolation == .gvisor, gvisor == nil else { return nil }
        return AppError.validation([FieldError(field: "isolation", message: "gvisor cannot run on this server: \(gvisorUnavailable)")])
    }

    /// `/checkpoints` in the sandbox; the real directory only when the operator turned the sandbox off.
    package func checkpointDirectory(of workloadId: UUID) -> String? {
        sandbox == nil ? AttemptPaths(root: configuration.jobsDirectory, workloadId: workloadId, attempt: 1).checkpoints : Sandbox.checkpoints
    }

    // MARK: launch

    package func launch(_ request: LaunchRequest) async throws -> String {
        if let refusal = refusal(isolateNetwork: request.isolateNetwork) ?? refusal(isolation: request.isolation) { throw refusal }
        if request.companion != nil, !runsCompanions { throw ExecutorError("a companion runs only in the job sandbox, which is off") }
        do {
            return try prepareAndSpawn(request)
        } catch {
            // The reason is shown to the job's owner: it must not name the server's paths. The log has the details.
            logger.error("could not launch a job", metadata: ["workload": "\(request.workloadId)", "error": "\(error)"])
            throw ExecutorError("the server could not prepare or start the attempt (the server's log has the details)")
        }
    }

    private func prepareAndSpawn(_ request: LaunchRequest) throws -> String {
        let paths = AttemptPaths(root: configuration.jobsDirectory, workloadId: request.workloadId, attempt: request.attempt)
        try? FileManager.default.removeItem(atPath: paths.control)
        try Self.makeDirectory(configuration.jobsDirectory, owner: nil)
        try Self.makeDirectory(paths.workload, owner: nil)
        try Self.makeDirectory(paths.control, owner: nil)
        try Self.makeDirectory(paths.work, owner: jobOwner)
        try Self.makeDirectory(paths.checkpoints, owner: jobOwner)
        if let archive = request.codeArchive {
            // gVisor mounts it for the job's user to read (the control directory stays the server's alone).
            try Self.writePrivate(archive, to: paths.code, mode: request.isolation == .gvisor ? 0o644 : 0o600)
        }
        if let sandbox {
            let user = sandbox.user ?? .init(uid: geteuid(), gid: getegid())
            let accounts = Sandbox.accountFiles(for: user.uid, gid: user.gid)
            try Self.writePrivate(Data(accounts.passwd.utf8), to: "\(paths.control)/passwd", mode: 0o644)
            try Self.writePrivate(Data(accounts.group.utf8), to: "\(paths.control)/group", mode: 0o644)
        }
        let gpus = request.gpuIndices.first ?? []
        let worldSize = request.distributed == .single ? 1 : max(1, gpus.count)
        let inside = sandbox == nil ? (work: paths.work, checkpoints: paths.checkpoints) : (work: Sandbox.workspace, checkpoints: Sandbox.checkpoints)
        var environment = request.environment
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        environment["HOME"] = inside.work
        environment["TMPDIR"] = "/tmp"
        environment["AITIP_WORKLOAD_ID"] = request.workloadId.lowercasedString
        environment["AITIP_ATTEMPT"] = String(request.attempt)
        environment["AITIP_CHECKPOINT_DIR"] = inside.checkpoints
        environment["AITIP_WORKDIR"] = inside.work
        environment["AITIP_SERVE_SOCKET"] = "\(inside.work)/\(AttemptPaths.serviceSocketName)"
        environment["CUDA_VISIBLE_DEVICES"] = gpus.map(String.init).joined(separator: ",")
        environment["AITIP_HAS_CODE"] = request.codeArchive == nil ? "0" : "1"
        environment["AITIP_ENTRYPOINT"] = request.shellCommand
        environment["AITIP_RANKS"] = String(worldSize)
        if request.distributed != .single {
            environment["WORLD_SIZE"] = String(worldSize)
            environment["MASTER_ADDR"] = "127.0.0.1"
            environment["MASTER_PORT"] = String(try Self.freePort())
        }
        let limits = Cgroups.Limits(cpu: request.cpu, memoryBytes: request.memoryMiB * 1_048_576, pids: configuration.maxProcesses)
        do {
            environment["AITIP_CGROUP_PROCS"] = try cgroups.create(paths.cgroupName, limits).joined(separator: " ")
        } catch {
            logger.warning("could not create cgroups for a job; it runs without limits", metadata: ["error": "\(error)"])
        }
        let tmpBytes = max(64 << 20, request.memoryMiB * 1_048_576)
        var files: [ProcessSpawner.OpenFile] = [
            .init(descriptor: 3, path: paths.exitCodes, flags: O_WRONLY | O_APPEND | O_CREAT),
            .init(descriptor: 4, path: request.codeArchive == nil ? "/dev/null" : paths.code, flags: O_RDONLY),
        ]
        let link = request.companion == nil ? nil : paths.link
        if link != nil {
            try Self.makeDirectory(paths.companionWork, owner: jobOwner)
            try Self.makeDirectory(paths.link, owner: jobOwner)
        }
        let inner: [String]
        if request.isolation == .gvisor, let gvisor {
            var inside = environment
            inside["AITIP_CGROUP_PROCS"] = nil
            inner = try gvisor.command(
                .init(
                    control: paths.control, work: paths.work, checkpoints: paths.checkpoints, readOnlyPaths: configuration.readOnlyPaths,
                    network: !request.isolateNetwork, tmpBytes: tmpBytes, hasCode: request.codeArchive != nil, environment: inside,
                    containerId: paths.cgroupName, link: link))
        } else if let sandbox {
            if let seccompFilter {
                try Self.writePrivate(seccompFilter, to: paths.seccomp)
                files.append(.init(descriptor: Self.seccompDescriptor, path: paths.seccomp, flags: O_RDONLY))
            }
            inner =
                sandbox.prefix(
                    .init(
                        control: paths.control, work: paths.work, checkpoints: paths.checkpoints,
                        readOnlyPaths: configuration.readOnlyPaths, gpuIndices: gpus, network: !request.isolateNetwork, tmpBytes: tmpBytes,
                        seccompDescriptor: seccompFilter == nil ? nil : Self.seccompDescriptor, link: link))
                + ["/bin/sh", "-c", Self.launcher, "aitip-launcher"]
        } else {
            inner = ["/bin/sh", "-c", Self.launcher, "aitip-launcher"]
        }
        if let companion = request.companion {
            environment.merge(try companionVariables(companion, request: request, paths: paths, environment: environment, tmpBytes: tmpBytes)) {
                _, new in new
            }
        }
        let pid = try ProcessSpawner.spawn(
            ["/bin/sh", "-c", Self.leader, "aitip-job"] + inner, environment: environment, logFile: paths.log, files: files)
        // The leader is our child: until it is reaped its /proc entry stays, so its start time can always be read.
        guard let identity = ProcessIdentity.of(pid) else { throw ExecutorError("the job's leader process \(pid) vanished at start") }
        return AttemptReference(paths: paths, leader: identity).text
    }

    /// Where bubblewrap reads the seccomp filter from.
    static let seccompDescriptor: Int32 = 5

    /// Joins the attempt's cgroups before anything else starts (so no process escapes its limits), then becomes
    /// the sandbox (or, with sandbox=off, the launcher). Jobs get the usual umask (022), not the server's private one.
    /// With a companion (`Companion.swift`) it stays: starts the companion's sandbox, runs the job's, then ends the
    /// companion and appends its output to the log, every line prefixed.
    static let leader = #"""
        umask 022
        for f in $AITIP_CGROUP_PROCS; do echo $$ > "$f" || echo "aitip: could not join $f" >&2; done
        [ -n "$AITIP_COMPANION" ] || exec "$@"
        companion=$AITIP_COMPANION log=$AITIP_COMPANION_LOG stop=$AITIP_COMPANION_STOP
        unset AITIP_COMPANION AITIP_COMPANION_LOG AITIP_COMPANION_STOP
        (eval "exec $companion") >"$log" 2>&1 &
        side=$!
        "$@"
        code=$?
        eval "$stop"
        kill -KILL $side 2>/dev/null
        wait $side 2>/dev/null
        tail -c 1048576 "$log" | sed 's/^/\#(LaunchRequest.companionPrefix)/'
        exit $code
        """#

    /// Runs inside the sandbox as the job's user: unpacks the code from descriptor 4 once, starts every rank, and
    /// writes each rank's exit code to descriptor 3 (which the ranks do not inherit). It traps TERM and INT so that
    /// a stop reaches the ranks while it stays to write their codes; `wait` is repeated because a trapped signal
    /// interrupts it. A stop that comes before the ranks start starts none of them (exit code 143).
    static let launcher = #"""
        trap 'stopped=1' TERM INT
        cd "$AITIP_WORKDIR" || exit 1
        if [ "$AITIP_HAS_CODE" = 1 ] && ! tar -xzf - --no-same-owner --no-same-permissions <&4; then
          echo "aitip: preparing the code failed" >&2
          r=0; while [ $r -lt "$AITIP_RANKS" ]; do echo "$r 1" >&3; r=$((r+1)); done
          exit 1
        fi
        exec 4<&-
        r=0; pids=""
        while [ $r -lt "$AITIP_RANKS" ] && [ -z "$stopped" ]; do
          RANK=$r LOCAL_RANK=$r /bin/sh -c "$AITIP_ENTRYPOINT" 3>&- &
          pids="$pids $!"; r=$((r+1))
        done
        if [ -z "$pids" ]; then
          r=0; while [ $r -lt "$AITIP_RANKS" ]; do echo "$r 143" >&3; r=$((r+1)); done
          exit 143
        fi
        r=0
        for p in $pids; do
          while :; do wait $p; code=$?; kill -0 $p 2>/dev/null || break; done
          echo "$r $code" >&3; r=$((r+1))
        done
        """#

    // MARK: state

    package func state(of reference: String) async -> ExecutionState {
        guard let attempt = AttemptReference(reference, root: configuration.jobsDirectory) else {
            return .lost(reason: "the reference '\(reference.prefix(100))' was not made by this executor")
        }
        guard let leader = attempt.leader else {
            kill(attempt, SIGKILL)
            return .lost(
                reason:
                    "it was started by an earlier aitip that kept its process id where the job could change it; its processes were stopped. Submit it again"
            )
        }
        let reaped = ProcessIdentity.of(leader.pid)?.startTicks == leader.startTicks ? ProcessSpawner.reap(leader.pid) : nil
        let leaderStatus = memory.leaderStatus(attempt.paths.control, reaped: reaped)
        if leader.isAlive || !members(attempt).isEmpty {
            enforceDiskLimit(attempt)
            if memory.isStopPending(attempt.paths.control), deliverStop(attempt) { memory.setStopPending(attempt.paths.control, false) }
            return .running
        }
        if let reason = Self.readPrivate("\(attempt.paths.control)/ended", limit: 4_096).map({ String(decoding: $0, as: UTF8.self) }), !reason.isEmpty
        {
            return .killed(code: leaderStatus ?? 128 + SIGKILL, reason: reason)
        }
        if let codes = Self.readPrivate(attempt.paths.exitCodes, limit: 65_536).map(Self.exitCodes), !codes.isEmpty {
            return ended(attempt, code: codes.first { $0 != 0 } ?? 0)
        }
        if let leaderStatus { return ended(attempt, code: leaderStatus) }
        return .lost(reason: "its processes ended while the server was not watching and left no exit code")
    }

    /// How an attempt that exited by itself ended: a failure after the kernel killed one of its processes for memory is
    /// reported as that, with the limit, rather than as a bare exit code (a job that survives such a kill and exits 0
    /// succeeded).
    private func ended(_ attempt: AttemptReference, code: Int32) -> ExecutionState {
        guard code != 0, cgroups.outOfMemoryKills(attempt.paths.cgroupName) > 0 else { return .exited(code: code) }
        return .killed(
            code: code,
            reason: "killed: out of memory (the kernel ended a process of the job at its memory limit, memory_mib); ask for more memory")
    }

    /// "rank code" lines, in rank order; lines that are not two numbers are ignored.
    static func exitCodes(_ data: Data) -> [Int32] {
        String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line -> (Int, Int32)? in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let rank = Int(fields[0]), let code = Int32(fields[1]) else { return nil }
            return (rank, code)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Measures the attempt's disk use now and then; over the limit, records why and kills it.
    private func enforceDiskLimit(_ attempt: AttemptReference) {
        guard configuration.diskLimitBytes > 0, memory.diskCheckDue(attempt.paths.control, every: Self.diskCheckInterval) else { return }
        let usage = DiskUsage.of([attempt.paths.control, attempt.paths.checkpoints], maxEntries: configuration.maxFiles)
        let reason: String
        if usage.entries > configuration.maxFiles {
            reason = "killed: it created more than \(configuration.maxFiles) files and directories (job_max_files)"
        } else if usage.bytes > configuration.diskLimitBytes {
            reason =
                "killed: its working directory, checkpoints and log took \(usage.bytes) bytes of disk, over the limit of \(configuration.diskLimitBytes) (job_disk_limit)"
        } else {
            return
        }
        logger.warning("a job broke its disk limit and is killed", metadata: ["attempt": "\(attempt.paths.cgroupName)", "reason": "\(reason)"])
        try? Self.writePrivate(Data(reason.utf8), to: "\(attempt.paths.control)/ended")
        kill(attempt, SIGKILL)
    }

    /// The attempt's processes: its cgroup's members, or its session's where it has no cgroup (none on this machine,
    /// or creating it failed at launch).
    private func members(_ attempt: AttemptReference) -> [pid_t] {
        if cgroups.unavailableReason == nil {
            let members = cgroups.members(attempt.paths.cgroupName)
            if !members.isEmpty { return members }
        }
        guard let leader = attempt.leader else { return [] }
        return ProcessStat.sessionMembers(leader.pid)
    }

    /// Sums /proc over the attempt's processes: CPU time of the live processes and the children they have reaped,
    /// and resident memory.
    package func usage(of reference: String) async -> ResourceUsage? {
        guard let attempt = AttemptReference(reference, root: configuration.jobsDirectory) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = sysconf(Int32(_SC_PAGESIZE))
        var usage = ResourceUsage(cpuSeconds: 0, memoryBytes: 0, processes: 0)
        for pid in members(attempt) {
            guard let stat = ProcessStat.read(pid) else { continue }
            usage.cpuSeconds += stat.cpuTicks / ticks
            usage.memoryBytes += stat.residentPages * page
            usage.processes += 1
        }
        return usage.processes == 0 ? nil : usage
    }

    // MARK: signals

    package func requestStop(_ reference: String) async {
        guard let attempt = AttemptReference(reference, root: configuration.jobsDirectory) else { return }
        memory.setStopPending(attempt.paths.control, !deliverStop(attempt))
    }

    /// SIGTERM to the job's own processes (through runsc for gVisor); false when it has none yet: a stop asked for
    /// while its sandbox starts would otherwise be lost, and the job killed only after the grace period.
    private func deliverStop(_ attempt: AttemptReference) -> Bool {
        if let gvisor, FileManager.default.fileExists(atPath: "\(attempt.paths.control)/runsc") {
            return gvisor.requestStop(control: attempt.paths.control, containerId: attempt.paths.cgroupName)
        }
        return kill(attempt, SIGTERM)
    }

    /// The engine's last resort once the grace period after `requestStop` is over; the attempt's end says so.
    package func kill(_ reference: String) async {
        guard let attempt = AttemptReference(reference, root: configuration.jobsDirectory) else { return }
        let ended = "\(attempt.paths.control)/ended"
        if Self.readPrivate(ended, limit: 1) == nil, attempt.leader?.isAlive == true || !members(attempt).isEmpty {
            try? Self.writePrivate(Data("killed with SIGKILL: still running when the grace period after SIGTERM ended".utf8), to: ended)
        }
        kill(attempt, SIGKILL)
    }

    /// SIGTERM goes to the job's own processes only (those inside the sandbox's PID namespace): bubblewrap, outside
    /// it, would otherwise end at once and take the job with it before it could checkpoint. SIGKILL goes to all.
    /// Answers whether any process was signalled.
    @discardableResult
    private func kill(_ attempt: AttemptReference, _ signal: Int32) -> Bool {
        if signal == SIGKILL, cgroups.killAll(attempt.paths.cgroupName) { return true }
        let ownNamespace = ProcessStat.pidNamespace("self")
        var signalled = false
        for _ in 0..<(signal == SIGKILL ? 3 : 1) {
            var targets = members(attempt)
            if signal == SIGTERM, sandbox != nil {
                // bubblewrap's init (pid 1 of the sandbox) ignores SIGTERM: a stop that reached only it, while the
                // job's own processes were not started yet, would be lost rather than kept pending.
                targets = targets.filter { ProcessStat.pidNamespace(String($0)) != ownNamespace && !ProcessStat.isNamespaceInit($0) }
            }
            targets = targets.filter { $0 > 1 }
            if targets.isEmpty { break }
            for pid in targets { _ = Glibc.kill(pid, signal) }
            signalled = true
        }
        if signal == SIGKILL, let leader = attempt.leader, leader.isAlive {
            _ = Glibc.kill(-leader.pid, SIGKILL)
            signalled = true
        }
        return signalled
    }

    // MARK: logs and clean-up

    /// Reads the attempt's log from `offset`. The file lies where only the server can write, and is opened without
    /// following a link and only when it is a regular file this server owns.
    package func readLog(_ reference: String, from offset: Int64, limit: Int) async throws -> Data {
        guard let attempt = AttemptReference(reference, root: configuration.jobsDirectory) else { return Data() }
        let descriptor = open(attempt.paths.log, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return Data() }
            throw ExecutorError("the attempt's log cannot be opened safely: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else {
            throw ExecutorError("the attempt's log is not a regular file of this server; it is not read")
        }
        var data = Data(count: limit)
        let count = data.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, limit, off_t(offset)) }
        guard count >= 0 else { throw ExecutorError("reading the log failed: \(String(cString: strerror(errno)))") }
        data.count = count
        return data
    }

    package func cleanUp(_ reference: String) async {
        guard let attempt = AttemptReference(reference, root: configuration.jobsDirectory) else { return }
        cgroups.remove(attempt.paths.cgroupName)
        memory.forget(attempt.paths.control)
        Self.removeTree(attempt.paths.control)
    }

    /// Removes everything a workload left, checkpoints included (the workload was deleted).
    package func purge(workloadId: UUID) async {
        Self.removeTree("\(configuration.jobsDirectory)/\(workloadId.lowercasedString)")
    }

    // MARK: files

    /// The owner of the job's directories: its user when the server is root, else the server itself.
    private var jobOwner: Sandbox.User? {
        sandbox?.user
    }

    static func which(_ program: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(program)") {
            return "\(directory)/\(program)"
        }
        return nil
    }

    /// Starts the sandbox once, as a job would, so a machine where it cannot run (no user namespaces for a server
    /// that is not root, a bubblewrap too old for the options used) is found at start, not by the first job.
    static func probe(_ sandbox: Sandbox, seccomp: Data?, in jobsDirectory: String) -> String? {
        let root = "\(jobsDirectory)/.probe-\(getpid())"
        defer { removeTree(root) }
        do {
            try makeDirectory(jobsDirectory, owner: nil)
            try makeDirectory(root, owner: nil)
            let user = sandbox.user ?? .init(uid: geteuid(), gid: getegid())
            try makeDirectory("\(root)/work", owner: sandbox.user)
            try makeDirectory("\(root)/checkpoints", owner: sandbox.user)
            let accounts = Sandbox.accountFiles(for: user.uid, gid: user.gid)
            try writePrivate(Data(accounts.passwd.utf8), to: "\(root)/passwd", mode: 0o644)
            try writePrivate(Data(accounts.group.utf8), to: "\(root)/group", mode: 0o644)
            if let seccomp { try writePrivate(seccomp, to: "\(root)/seccomp.bpf") }
            let prefix = sandbox.prefix(
                .init(
                    control: root, work: "\(root)/work", checkpoints: "\(root)/checkpoints", readOnlyPaths: [],
                    gpuIndices: [], network: false, tmpBytes: 1 << 20, seccompDescriptor: seccomp == nil ? nil : seccompDescriptor))
            let (status, output) = try ProcessSpawner.run(
                ["/bin/sh", "-c", leader, "aitip-probe"] + prefix + ["/bin/sh", "-c", "touch /workspace/probe && test -w /tmp"],
                logFile: "\(root)/log",
                files: seccomp == nil ? [] : [.init(descriptor: seccompDescriptor, path: "\(root)/seccomp.bpf", flags: O_RDONLY)])
            return status == 0 ? nil : "exit code \(status): \(output.prefix(300))"
        } catch {
            return "\(error)"
        }
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
