import Foundation
import Logging

/// CPU, memory and process-count limits for one attempt, in cgroup v2 (one unified tree) or v1 (one tree per
/// controller). The job's wrapper writes its own pid into every `cgroup.procs` listed here before it starts
/// anything, so no child escapes. Where the tree is not writable (no root, no delegation) the attempt runs
/// without limits and the engine says so once in the log.
struct Cgroups: Sendable {
    enum Layout: Sendable {
        case v2(root: String)
        /// One tree per controller: `<base>/<controller>/<group>`.
        case v1(base: String, group: String)
        case unavailable(String)
    }

    static let v1Controllers = ["memory", "cpu", "pids"]

    let layout: Layout

    static func detect(base: String = "/sys/fs/cgroup", group: String = "aitip") -> Cgroups {
        let files = FileManager.default
        if files.fileExists(atPath: "\(base)/cgroup.controllers") {
            let root = "\(base)/\(group)"
            do {
                try files.createDirectory(atPath: root, withIntermediateDirectories: true)
                // Children of `root` may use these controllers only when `root` delegates them.
                try? "+cpu +memory +pids".write(toFile: "\(root)/cgroup.subtree_control", atomically: false, encoding: .utf8)
                return Cgroups(layout: .v2(root: root))
            } catch {
                return Cgroups(layout: .unavailable("cgroup v2 tree \(root) is not writable: \(error.localizedDescription)"))
            }
        }
        if files.fileExists(atPath: "\(base)/memory") {
            do {
                for controller in v1Controllers {
                    try files.createDirectory(atPath: "\(base)/\(controller)/\(group)", withIntermediateDirectories: true)
                }
                return Cgroups(layout: .v1(base: base, group: group))
            } catch {
                return Cgroups(layout: .unavailable("cgroup v1 trees under \(base) are not writable: \(error.localizedDescription)"))
            }
        }
        return Cgroups(layout: .unavailable("no cgroup file system at \(base)"))
    }

    struct Limits {
        var cpu: Double
        var memoryBytes: Int
        var pids: Int
    }

    /// Creates the attempt's groups with `limits`; returns the `cgroup.procs` files the wrapper joins.
    func create(_ name: String, _ limits: Limits) throws -> [String] {
        let files = FileManager.default
        let period = 100_000
        let quota = max(1_000, Int(limits.cpu * Double(period)))
        switch layout {
        case .v2(let root):
            let directory = "\(root)/\(name)"
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try write("\(limits.memoryBytes)", "\(directory)/memory.max")
            try write("\(quota) \(period)", "\(directory)/cpu.max")
            try write("\(limits.pids)", "\(directory)/pids.max")
            return ["\(directory)/cgroup.procs"]
        case .v1(let base, let group):
            var procs: [String] = []
            for controller in Self.v1Controllers {
                let directory = "\(base)/\(controller)/\(group)/\(name)"
                try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
                switch controller {
                case "memory": try write("\(limits.memoryBytes)", "\(directory)/memory.limit_in_bytes")
                case "cpu":
                    try write("\(period)", "\(directory)/cpu.cfs_period_us")
                    try write("\(quota)", "\(directory)/cpu.cfs_quota_us")
                default: try write("\(limits.pids)", "\(directory)/pids.max")
                }
                procs.append("\(directory)/cgroup.procs")
            }
            return procs
        case .unavailable:
            return []
        }
    }

    /// Removes the attempt's groups once every process in them has exited.
    func remove(_ name: String) {
        switch layout {
        case .v2(let root):
            rmdir("\(root)/\(name)")
        case .v1(let base, let group):
            for controller in Self.v1Controllers { rmdir("\(base)/\(controller)/\(group)/\(name)") }
        case .unavailable:
            break
        }
    }

    /// The processes in the attempt's group now: every process the attempt started, wherever it moved in its
    /// session or namespaces (only root can move a process out of a cgroup, and jobs never run as root).
    func members(_ name: String) -> [pid_t] {
        let procs: String
        switch layout {
        case .v2(let root): procs = "\(root)/\(name)/cgroup.procs"
        case .v1(let base, let group): procs = "\(base)/pids/\(group)/\(name)/cgroup.procs"
        case .unavailable: return []
        }
        guard let text = try? String(contentsOfFile: procs, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Kills every process of the group at once where the kernel offers it (cgroup v2's `cgroup.kill`); false when
    /// the caller must signal the members one by one.
    func killAll(_ name: String) -> Bool {
        guard case .v2(let root) = layout else { return false }
        return (try? write("1", "\(root)/\(name)/cgroup.kill")) != nil
    }

    /// How many processes of the attempt the kernel killed for going over its memory limit (cgroup v2's
    /// `memory.events`, v1's `memory.oom_control`); 0 where the group or the counter is not there.
    func outOfMemoryKills(_ name: String) -> Int {
        let file: String
        switch layout {
        case .v2(let root): file = "\(root)/\(name)/memory.events"
        case .v1(let base, let group): file = "\(base)/memory/\(group)/\(name)/memory.oom_control"
        case .unavailable: return 0
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == "oom_kill", let count = Int(fields[1]) { return count }
        }
        return 0
    }

    var unavailableReason: String? {
        if case .unavailable(let reason) = layout { return reason }
        return nil
    }

    private func write(_ value: String, _ path: String) throws {
        try value.write(toFile: path, atomically: false, encoding: .utf8)
    }
}
