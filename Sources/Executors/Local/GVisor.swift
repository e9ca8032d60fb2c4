import Foundation

/// The gVisor sandbox around one attempt (`isolation: gvisor`): `runsc run` on an OCI bundle written into the
/// attempt's control directory. The job sees the same files as in the bubblewrap sandbox (`Sandbox`): `/usr` and
/// the listed /etc files read-only, generated passwd and group files, `/workspace` and `/checkpoints` writable,
/// private `/tmp` and `/dev/shm`, the operator's read-only paths; the root itself is read-only. Its system calls go
/// to gVisor's user-space kernel (the ptrace platform, the one that works on these machines), never to the host's;
/// it runs as the job's user with no capabilities and no_new_privs, in its own PID, IPC, UTS and mount namespaces and
/// with no network unless it asked for the host's and the operator allows it.
///
/// runsc is told to leave cgroups alone: the attempt's leader joined the attempt's cgroups before it became runsc,
/// so the sandbox's processes (and the memory the job uses inside them) count against the attempt's limits.
/// gVisor has no way to hand the launcher extra descriptors, so the code package is mounted read-only at
/// `codePath`, and the exit code is runsc's own, written for it by `wrapper` (only single-process attempts run here).
struct GVisor: Sendable {
    let runsc: String
    /// The job's user: gVisor runs only for a root server, which always drops to this user.
    let user: Sandbox.User

    static let codePath = "/run/aitip/code.tar.gz"

    struct Attempt {
        var control: String
        var work: String
        /// nil: no `/checkpoints` (a companion keeps none).
        var checkpoints: String?
        var readOnlyPaths: [String]
        var network: Bool
        var tmpBytes: Int
        var hasCode: Bool
        var environment: [String: String]
        var containerId: String
        /// The bundle's directory in the control directory (a companion has its own).
        var bundleName = "bundle"
        /// The directory an attempt shares with its companion, shown at `LaunchRequest.companionLink`; nil: none.
        var link: String? = nil
    }

    /// Runs runsc (the arguments) with its output through a pipe: runsc hands its standard output and error to the
    /// job's user, which must never own the attempt's log (the server reads only a log it owns). Its exit code, the
    /// job's, goes to descriptor 3 as rank 0's.
    static let wrapper = #"""
        ( "$@" 3>&- 4<&-; echo "0 $?" >&3 ) 2>&1 | cat
        """#

    /// What runs inside: unpacks the code, then becomes the entrypoint.
    static let launcher = #"""
        cd "$AITIP_WORKDIR" || exit 1
        if [ "$AITIP_HAS_CODE" = 1 ] && ! tar -xzf /run/aitip/code.tar.gz --no-same-owner --no-same-permissions; then
          echo "aitip: preparing the code failed" >&2
          exit 1
        fi
        exec /bin/sh -c "$AITIP_ENTRYPOINT"
        """#

    /// Asks every process of the attempt's container to stop (`runsc kill --all … TERM`): the job's processes live
    /// in gVisor's kernel, out of reach of a host signal, and the sandbox's own processes must not get it instead.
    /// False when runsc could not deliver it (the container is not created yet).
    func requestStop(control: String, containerId: String) -> Bool {
        let result = try? ProcessSpawner.run(
            killCommand(control: control, containerId: containerId, signal: "TERM"), logFile: "\(control)/runsc-kill.log")
        return result?.status == 0
    }

    func killCommand(control: String, containerId: String, signal: String) -> [String] {
        [runsc, "--root", "\(control)/runsc", "kill", "--all", containerId, signal]
    }

    /// Writes the bundle (its configuration and an empty read-only root with the links Debian needs) and returns the
    /// command that runs it; the leader execs it.
    func command(_ attempt: Attempt) throws -> [String] {
        let bundle = "\(attempt.control)/\(attempt.bundleName)"
        let root = "\(bundle)/rootfs"
        let files = FileManager.default
        for directory in ["usr", "etc", "workspace", "checkpoints", "tmp", "proc", "dev", "run/aitip", "run/aitip/link"] {
            try files.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        for (link, target) in [("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/sbin")] {
            try files.createSymbolicLink(atPath: "\(root)/\(link)", withDestinationPath: target)
        }
        let configuration = try JSONSerialization.data(withJSONObject: specification(attempt, root: "rootfs"), options: [.sortedKeys])
        try LocalExecutor.writePrivate(configuration, to: "\(bundle)/config.json")
        return [
            "/bin/sh", "-c", Self.wrapper, "aitip-gvisor",
            runsc, "--root", "\(attempt.control)/runsc", "--platform=ptrace", "--network=\(attempt.network ? "host" : "none")",
            "--ignore-cgroups",
        ]
            // A Unix socket made inside gVisor lives in its kernel alone: the job and its companion meet through the
            // host's, in the one directory they share (the other mounts hold no sockets).
            + (attempt.link == nil ? [] : ["--host-uds=all"])
            + ["run", "--bundle", bundle, attempt.containerId]
    }

    /// The OCI runtime specification of the attempt.
    func specification(_ attempt: Attempt, root: String) -> [String: Any] {
        func bind(_ source: String, _ destination: String, writable: Bool = false) -> [String: Any] {
            ["destination": destination, "type": "bind", "source": source, "options": ["rbind", writable ? "rw" : "ro"]]
        }
        func tmpfs(_ destination: String) -> [String: Any] {
            [
                "destination": destination, "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777", "size=\(attempt.tmpBytes)"],
            ]
        }
        var mounts: [[String: Any]] = [
            ["destination": "/proc", "type": "proc", "source": "proc"],
            bind("/usr", "/usr"),
        ]
        for name in Sandbox.etcFiles + (attempt.network ? Sandbox.networkEtcFiles : []) where FileManager.default.fileExists(atPath: "/etc/\(name)") {
            mounts.append(bind("/etc/\(name)", "/etc/\(name)"))
        }
        mounts += [
            bind("\(attempt.control)/passwd", "/etc/passwd"), bind("\(attempt.control)/group", "/etc/group"),
            bind(attempt.work, Sandbox.workspace, writable: true), tmpfs("/tmp"), tmpfs("/dev/shm"),
        ]
        if let checkpoints = attempt.checkpoints { mounts.append(bind(checkpoints, Sandbox.checkpoints, writable: true)) }
        if let link = attempt.link { mounts.append(bind(link, LaunchRequest.companionLink, writable: true)) }
        if attempt.hasCode { mounts.append(bind("\(attempt.control)/code.tar.gz", Self.codePath)) }
        for path in attempt.readOnlyPaths where FileManager.default.fileExists(atPath: path) {
            mounts.append(bind(path, path))
        }
        let noCapabilities: [String] = []
        return [
            "ociVersion": "1.0.2",
            "hostname": "aitip-job",
            "root": ["path": root, "readonly": true],
            "process": [
                "terminal": false,
                "user": ["uid": user.uid, "gid": user.gid],
                "args": ["/bin/sh", "-c", Self.launcher, "aitip-launcher"],
                "env": attempt.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
                "cwd": Sandbox.workspace,
                "noNewPrivileges": true,
                "capabilities": [
                    "bounding": noCapabilities, "effective": noCapabilities, "inheritable": noCapabilities, "permitted": noCapabilities,
                    "ambient": noCapabilities,
                ],
                "rlimits": [["type": "RLIMIT_NOFILE", "hard": 65_536, "soft": 65_536]],
            ],
            "mounts": mounts,
            // With the network the sandbox stays in the host's network namespace (runsc's --network=host).
            "linux": [
                "namespaces": (attempt.network ? ["pid", "ipc", "uts", "mount"] : ["pid", "network", "ipc", "uts", "mount"]).map { ["type": $0] }
            ],
        ]
    }
}
