import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The bubblewrap command line around one attempt. What a job sees:
/// - `/usr` read-only (with the /bin, /lib, /lib64, /sbin links Debian needs) and only the `/etc` files programs
///   read to run (`etcFiles`): no /etc/shadow, no password files of the host, no server configuration;
///   `/etc/passwd` and `/etc/group` are generated and name only root, the job's user and nobody;
/// - `/workspace` (its working directory and `$HOME`) and `/checkpoints`, both writable, nothing else of the
///   server's disk: the attempt's control files (log, exit codes, code package) stay outside, in a directory only
///   the server may open;
/// - private `/tmp` and `/dev/shm` (tmpfs, sized to the job's memory, whose pages its memory limit counts), a
///   fresh `/proc` of its own PID namespace, a minimal `/dev` plus the device nodes of its own GPUs;
/// - new PID, IPC, UTS and cgroup namespaces, and a network namespace of its own (no interface but loopback)
///   unless the job asked for the network and the operator allows it;
/// - a seccomp filter (`Seccomp`) that answers EPERM to the system calls only an attack needs.
///
/// When the server runs as root, bubblewrap sets this up as root and `setpriv` then drops to the job's user
/// (`job_uid`, by default nobody) with no capabilities and no way to gain any (no_new_privs, empty bounding set):
/// the job is an ordinary unprivileged user of the host, confined to its own mount view. A server that is not
/// root runs bubblewrap unprivileged in a new user namespace; jobs then run as the server's user, confined by the
/// same mount view.
struct Sandbox: Sendable {
    struct User: Sendable, Equatable {
        var uid: UInt32
        var gid: UInt32
    }

    /// Where the job's directories appear inside the sandbox.
    static let workspace = "/workspace"
    static let checkpoints = "/checkpoints"

    /// Files and directories under /etc that ordinary programs need (dynamic linker cache, TLS roots, time zone,
    /// name service switch, alternatives links of /usr/bin). Missing ones are skipped.
    static let etcFiles = [
        "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "ca-certificates.conf", "localtime",
        "timezone", "nsswitch.conf", "host.conf", "hosts", "gai.conf", "protocols", "services", "mime.types", "os-release",
        "debian_version", "inputrc", "python3", "fonts",
    ]
    /// Read only when the job has the network.
    static let networkEtcFiles = ["resolv.conf"]

    let bubblewrap: String
    /// The job's user when the server is root; nil when it is not (the job then runs as the server's user).
    let user: User?

    struct Attempt {
        var control: String
        var work: String
        /// nil: no `/checkpoints` (a companion keeps none).
        var checkpoints: String?
        var readOnlyPaths: [String]
        var gpuIndices: [Int]
        var network: Bool
        var tmpBytes: Int
        /// bubblewrap reads the seccomp filter (`Seccomp`) from this descriptor; nil: no filter.
        var seccompDescriptor: Int32?
        /// The directory an attempt shares with its companion, shown at `LaunchRequest.companionLink`; nil: none.
        var link: String? = nil
        /// The sandbox ends with the bubblewrap process outside it (a companion is ended by killing that process).
        var dieWithParent = false
    }

    /// The command prefix that runs a program in the sandbox (the program and its arguments follow).
    func prefix(_ attempt: Attempt) -> [String] {
        var arguments = [bubblewrap]
        if user != nil {
            // Root: no user namespace (the job's user must be a real, unprivileged user of the host).
            arguments += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
            if !attempt.network { arguments.append("--unshare-net") }
        } else {
            arguments.append("--unshare-all")
            if attempt.network { arguments.append("--share-net") }
        }
        arguments += [
            "--hostname", "aitip-job",
            "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin", "--perms", "0755", "--dir", "/etc",
        ]
        for name in Self.etcFiles + (attempt.network ? Self.networkEtcFiles : []) {
            arguments += ["--ro-bind-try", "/etc/\(name)", "/etc/\(name)"]
        }
        arguments += [
            "--ro-bind", "\(attempt.control)/passwd", "/etc/passwd", "--ro-bind", "\(attempt.control)/group", "/etc/group",
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", String(attempt.tmpBytes), "--tmpfs", "/tmp",
            "--perms", "1777", "--size", String(attempt.tmpBytes), "--tmpfs", "/dev/shm",
        ]
        if !attempt.gpuIndices.isEmpty {
            for device in ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"] + attempt.gpuIndices.map({ "nvidia\($0)" }) {
                arguments += ["--dev-bind-try", "/dev/\(device)", "/dev/\(device)"]
            }
        }
        arguments += ["--bind", attempt.work, Self.workspace]
        if let checkpoints = attempt.checkpoints { arguments += ["--bind", checkpoints, Self.checkpoints] }
        var made: Set<String> = ["/", "/usr", "/etc", "/tmp", "/dev", "/proc", Self.workspace, Self.checkpoints]
        if let link = attempt.link {
            arguments += ["--perms", "0755", "--dir", "/run", "--perms", "0755", "--dir", "/run/aitip", "--bind", link, LaunchRequest.companionLink]
            made.formUnion(["/run", "/run/aitip"])
        }
        for path in attempt.readOnlyPaths where FileManager.default.fileExists(atPath: path) {
            // bubblewrap (as root) makes missing parents 0700: make them traversable for the job's user first.
            for parent in Self.ancestors(of: path) where !made.contains(parent) && !parent.hasPrefix("/usr/") {
                arguments += ["--perms", "0755", "--dir", parent]
                made.insert(parent)
            }
            arguments += ["--ro-bind", path, path]
        }
        arguments += ["--chdir", Self.workspace, "--unsetenv", "AITIP_CGROUP_PROCS"]
        if attempt.dieWithParent { arguments.append("--die-with-parent") }
        if let descriptor = attempt.seccompDescriptor { arguments += ["--seccomp", String(descriptor)] }
        if let user {
            arguments += [
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                "/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--no-new-privs",
                "--inh-caps=-all", "--bounding-set=-all", "--",
            ]
        } else {
            arguments.append("--")
        }
        return arguments
    }

    /// "/a", "/a/b" for "/a/b/c".
    static func ancestors(of path: String) -> [String] {
        let parts = path.split(separator: "/")
        return parts.indices.dropLast().map { "/" + parts[...$0].joined(separator: "/") }
    }

    /// /etc/passwd and /etc/group of the sandbox: root, the job's user, nobody.
    static func accountFiles(for uid: UInt32, gid: UInt32) -> (passwd: String, group: String) {
        var passwd = "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        var group = "root:x:0:\n"
        if uid != 0 {
            let name = uid == 65534 ? "nobody" : "aitip-job"
            passwd += "\(name):x:\(uid):\(gid):aitip job:\(workspace):/bin/sh\n"
        }
        if gid != 0 { group += "\(gid == 65534 ? "nogroup" : "aitip-job"):x:\(gid):\n" }
        if uid != 65534 { passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" }
        if gid != 65534 { group += "nogroup:x:65534:\n" }
        return (passwd, group)
    }
}
