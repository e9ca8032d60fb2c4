import Foundation
import Synchronization

// One attempt of the local executor as the server knows it: where its files lie, the reference the engine stores,
// and what the executor remembers of it between calls.

/// Where one attempt's files lie.
struct AttemptPaths: Sendable {
    var workload: String
    var control: String
    var cgroupName: String

    init(root: String, workloadId: UUID, attempt: Int) {
        workload = "\(root)/\(workloadId.lowercasedString)"
        control = "\(workload)/\(attempt)"
        cgroupName = "\(workloadId.lowercasedString)-\(attempt)"
    }

    var work: String { "\(control)/work" }
    var checkpoints: String { "\(workload)/checkpoints" }
    var log: String { "\(control)/output.log" }
    var exitCodes: String { "\(control)/exit-codes" }
    var code: String { "\(control)/code.tar.gz" }
    var seccomp: String { "\(control)/seccomp.bpf" }
    /// The companion's workspace (`LaunchRequest.companion`), the directory it shares with the job, and its output.
    var companionWork: String { "\(control)/companion" }
    var link: String { "\(control)/link" }
    var companionLog: String { "\(control)/companion.log" }
    /// In the attempt's workspace: the replica of an inference service listens there (the workspace is its own, so
    /// the gateway opens the path without following links; see Gateway's ReplicaConnection).
    static let serviceSocketName = ".aitip-serve.sock"
    var serviceSocket: String { "\(work)/\(Self.serviceSocketName)" }
}

/// The reference the engine stores: `<workload>/<attempt>/<leader pid>-<leader start time>`. References of
/// earlier versions lack the leader (it was kept in a file); they parse with `leader` nil.
struct AttemptReference: Sendable {
    var paths: AttemptPaths
    var leader: ProcessIdentity?

    init(paths: AttemptPaths, leader: ProcessIdentity) {
        self.paths = paths
        self.leader = leader
    }

    init?(_ text: String, root: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2 || parts.count == 3, let workload = UUID(uuidString: String(parts[0])), let attempt = Int(parts[1]), attempt > 0 else {
            return nil
        }
        paths = AttemptPaths(root: root, workloadId: workload, attempt: attempt)
        if parts.count == 3 {
            guard let leader = ProcessIdentity(text: parts[2]) else { return nil }
            self.leader = leader
        }
    }

    var text: String {
        let base = paths.control.split(separator: "/").suffix(2).joined(separator: "/")
        return leader.map { "\(base)/\($0.text)" } ?? base
    }
}

/// What the executor remembers of running attempts between calls: when their disk use was last measured, and
/// the exit status of a leader reaped while other processes of its attempt were still ending.
final class AttemptMemory: Sendable {
    private struct Entry {
        var lastDiskCheck: ContinuousClock.Instant?
        var leaderStatus: Int32?
        var stopPending = false
    }

    private let entries = Mutex<[String: Entry]>([:])

    func diskCheckDue(_ key: String, every interval: Duration) -> Bool {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            if let previous = entries[key]?.lastDiskCheck, now - previous < interval { return false }
            entries[key, default: Entry()].lastDiskCheck = now
            return true
        }
    }

    /// Keeps a status once reaped (a leader can be reaped only once); answers the one kept.
    func leaderStatus(_ key: String, reaped: Int32?) -> Int32? {
        entries.withLock { entries in
            if let reaped { entries[key, default: Entry()].leaderStatus = reaped }
            return entries[key]?.leaderStatus
        }
    }

    /// A stop asked for before the job's processes existed (its sandbox was still starting): `state` delivers it.
    func setStopPending(_ key: String, _ pending: Bool) {
        entries.withLock { $0[key, default: Entry()].stopPending = pending }
    }

    func isStopPending(_ key: String) -> Bool {
        entries.withLock { $0[key]?.stopPending ?? false }
    }

    func forget(_ key: String) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}
