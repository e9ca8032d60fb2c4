import AITIPCore
import Foundation

/// Runs one attempt of a workload somewhere (local processes, a Ray cluster, Kubernetes) and answers for it by an
/// opaque reference the engine stores, so a restarted server can find the work again. The engine owns the
/// lifecycle: it decides when to launch, asks for state, sends the stop signal and, after the grace period, kills.
package protocol Executor: Sendable {
    /// "local", "ray" or "kubernetes": stored with the workload.
    var kind: String { get }
    func launch(_ request: LaunchRequest) async throws -> String
    func state(of reference: String) async -> ExecutionState
    /// Asks the work to stop (SIGTERM or the backend's equivalent): it may checkpoint and exit.
    func requestStop(_ reference: String) async
    /// Ends the work now (after the grace period).
    func kill(_ reference: String) async
    /// Log bytes from `offset` (stdout and stderr interleaved), at most `limit` bytes.
    func readLog(_ reference: String, from offset: Int64, limit: Int) async throws -> Data
    /// Frees what the attempt held on the backend once its logs are read to the end.
    func cleanUp(_ reference: String) async
    /// Removes whatever the workload kept across attempts (checkpoints); it was deleted.
    func purge(workloadId: UUID) async
    /// What the running attempt uses now, when the backend can tell.
    func usage(of reference: String) async -> ResourceUsage?
    /// Whether a workload that does not say gets no network.
    var isolatesNetworkByDefault: Bool { get }
    /// Why this executor will not run a workload with this network setting (nil: it will). A setting it cannot
    /// enforce is refused, never accepted and ignored.
    func refusal(isolateNetwork: Bool) -> AppError?
    /// Why this executor will not run a workload in this sandbox (nil: it will).
    func refusal(isolation: Isolation) -> AppError?
    /// Where the workload's processes find the checkpoints kept across its attempts, as they see it; nil where the
    /// backend keeps none.
    func checkpointDirectory(of workloadId: UUID) -> String?
    /// The Unix socket an attempt may serve HTTP on (`AITIP_SERVE_SOCKET` inside it), as this server sees it; nil
    /// where the backend's work is not reachable that way (a remote cluster).
    func serviceSocket(of reference: String) -> String?
    /// Whether `serviceSocket` reaches this executor's work: where it does not, nothing can serve inference replicas.
    var servesOnSockets: Bool { get }
    /// Whether this executor runs a request's `companion` in a sandbox of its own beside the entrypoint's; where it
    /// does not, a request with a companion is refused.
    var runsCompanions: Bool { get }
}

extension Executor {
    package func usage(of reference: String) async -> ResourceUsage? { nil }

    package var isolatesNetworkByDefault: Bool { false }

    package func checkpointDirectory(of workloadId: UUID) -> String? { nil }

    package func serviceSocket(of reference: String) -> String? { nil }

    package var servesOnSockets: Bool { false }

    package var runsCompanions: Bool { false }

    /// Remote backends run work in their own containers: only the local executor runs gVisor here.
    package func refusal(isolation: Isolation) -> AppError? {
        isolation == .container
            ? nil
            : AppError.validation([
                FieldError(
                    field: "isolation", message: "\(isolation.rawValue) sandboxes run on the local executor; the \(kind) executor cannot start one")
            ])
    }

    /// Remote backends run work in the cluster's network and cannot cut it.
    package func refusal(isolateNetwork: Bool) -> AppError? {
        isolateNetwork
            ? AppError.validation([FieldError(field: "isolate_network", message: "cannot be enforced by the \(kind) executor; leave it out")]) : nil
    }
}

/// A running attempt's resource use: CPU time so far, resident memory, live processes.
package struct ResourceUsage: Sendable, Equatable {
    package var cpuSeconds: Double
    package var memoryBytes: Int
    package var processes: Int
    /// The job's GPUs now, where `nvidia-smi` can tell (empty for simulated GPUs and remote executors).
    package var gpus: [GPUSample]

    package init(cpuSeconds: Double, memoryBytes: Int, processes: Int, gpus: [GPUSample] = []) {
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.processes = processes
        self.gpus = gpus
    }
}

/// One GPU's utilisation and memory, as `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total` reports.
package struct GPUSample: Sendable, Equatable {
    package var index: Int
    package var utilizationPercent: Double
    package var memoryUsedMiB: Int
    package var memoryTotalMiB: Int

    package init(index: Int, utilizationPercent: Double, memoryUsedMiB: Int, memoryTotalMiB: Int) {
        self.index = index
        self.utilizationPercent = utilizationPercent
        self.memoryUsedMiB = memoryUsedMiB
        self.memoryTotalMiB = memoryTotalMiB
    }
}

/// How a local attempt is kept from the host. `container`: the bubblewrap sandbox, its seccomp filter and cgroup
/// limits (every job's default); `gvisor`: the same view of the files inside gVisor's user-space kernel (runsc), so
/// the job's system calls never reach the host kernel.
package enum Isolation: String, Sendable, Codable, CaseIterable {
    case container, gvisor
}

package enum DistributedMode: String, Sendable, Codable, CaseIterable {
    case single, ddp, deepspeed
}

/// One attempt of a workload, as the executor needs it.
package struct LaunchRequest: Sendable {
    package var workloadId: UUID
    package var attempt: Int
    /// A shell command line, run by /bin/sh in the code directory.
    package var entrypoint: String
    package var environment: [String: String]
    /// A gzip-compressed tar of the code, unpacked into the working directory before the entrypoint runs.
    package var codeArchive: Data?
    package var repository: Repository?
    /// GPU indices per node, from the scheduler's placement.
    package var gpuIndices: [[Int]]
    package var gpuType: String?
    package var cpu: Double
    package var memoryMiB: Int
    package var distributed: DistributedMode
    /// No network: the sandbox's own network namespace (the local executor's default).
    package var isolateNetwork: Bool
    package var isolation: Isolation
    /// A second program (a shell command line) run beside the entrypoint in a sandbox of its own: the same isolation
    /// level, the same code unpacked into a workspace of its own, no network, within the attempt's limits. The two
    /// share nothing but the directory `companionLink` (each sees the other's files nowhere else, and neither can
    /// signal or trace the other); the companion's output follows the entrypoint's in the log, each line prefixed
    /// `companionPrefix`, and it is ended once the entrypoint's processes have. A simulation plays its model there,
    /// so that the model's code cannot touch the simulator that scores it.
    package var companion: String?

    /// Where both sandboxes see the directory they share.
    package static let companionLink = "/run/aitip/link"
    /// What begins each line of the companion's output in the attempt's log.
    package static let companionPrefix = "[companion] "

    package struct Repository: Sendable, Codable, Equatable {
        package var url: String
        package var commit: String

        package init(url: String, commit: String) {
            self.url = url
            self.commit = commit
        }
    }

    package init(
        workloadId: UUID, attempt: Int, entrypoint: String, environment: [String: String] = [:], codeArchive: Data? = nil,
        repository: Repository? = nil, gpuIndices: [[Int]] = [[]], gpuType: String? = nil, cpu: Double = 1, memoryMiB: Int = 1_024,
        distributed: DistributedMode = .single, isolateNetwork: Bool = true, isolation: Isolation = .container, companion: String? = nil
    ) {
        self.companion = companion
        self.isolation = isolation
        self.workloadId = workloadId
        self.attempt = attempt
        self.entrypoint = entrypoint
        self.environment = environment
        self.codeArchive = codeArchive
        self.repository = repository
        self.gpuIndices = gpuIndices
        self.gpuType = gpuType
        self.cpu = cpu
        self.memoryMiB = memoryMiB
        self.distributed = distributed
        self.isolateNetwork = isolateNetwork
    }

    /// The entrypoint, preceded by fetching the repository when the code comes from one.
    var shellCommand: String {
        guard let repository else { return entrypoint }
        return
            "git clone --quiet \(Shell.quote(repository.url)) code && cd code && git -c advice.detachedHead=false checkout --quiet \(Shell.quote(repository.commit)) && \(entrypoint)"
    }
}

package enum ExecutionState: Sendable, Equatable {
    case starting
    case running
    /// Exited; `code` 0 is success. A process killed by a signal reports 128 + signal, as shells do.
    case exited(code: Int32)
    /// The backend no longer knows the work, or cannot say how it ended.
    case lost(reason: String)
    /// Ended by the executor itself because it broke a limit the executor enforces (disk); not worth retrying.
    case killed(code: Int32, reason: String)
}

/// Text for /bin/sh command lines aitip writes.
package enum Shell {
    /// One word, whatever it holds.
    package static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
