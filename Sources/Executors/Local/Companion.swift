import Foundation

// A request's companion (`LaunchRequest.companion`) on the local executor: a second sandbox of the attempt's
// isolation level, started by the attempt's leader before the job's own and ended after it.
//
// The companion unpacks the same code into a workspace of its own (`AttemptPaths.companionWork`), has no network,
// no checkpoints and no GPU, and shares only `AttemptPaths.link` with the job. Both sandboxes have their own mount,
// PID and IPC namespaces (or gVisor kernels), so neither sees the other's files or processes; both count against the
// attempt's cgroup limits. Its output goes to a file of the server's while the job runs (so it can never be
// interleaved with, or mistaken for, what the job prints) and is appended to the log afterwards, each line
// prefixed, so nothing the companion prints can pose as a line of the job's.
extension LocalExecutor {
    /// The variables the leader reads to run the companion: the whole command (a shell line with the descriptors
    /// its launcher expects, each opened afresh), where its output goes, and how to end it besides killing it.
    func companionVariables(
        _ companion: String, request: LaunchRequest, paths: AttemptPaths, environment: [String: String], tmpBytes: Int
    ) throws -> [String: String] {
        guard let sandbox else { throw ExecutorError("a companion needs the job sandbox") }
        var inside = environment
        inside["AITIP_ENTRYPOINT"] = companion
        inside["AITIP_RANKS"] = "1"
        inside["AITIP_CHECKPOINT_DIR"] = nil
        inside["CUDA_VISIBLE_DEVICES"] = ""
        let code = request.codeArchive == nil ? "/dev/null" : paths.code
        var command: String
        var stop = ""
        if request.isolation == .gvisor, let gvisor {
            inside["AITIP_CGROUP_PROCS"] = nil
            let containerId = "\(paths.cgroupName)-companion"
            let arguments = try gvisor.command(
                .init(
                    control: paths.control, work: paths.companionWork, checkpoints: nil, readOnlyPaths: configuration.readOnlyPaths,
                    network: false, tmpBytes: tmpBytes, hasCode: request.codeArchive != nil, environment: inside, containerId: containerId,
                    bundleName: "companion-bundle", link: paths.link))
            command = Self.shellLine(arguments) + " 3>/dev/null 4</dev/null"
            stop = Self.shellLine(gvisor.killCommand(control: paths.control, containerId: containerId, signal: "KILL")) + " >/dev/null 2>&1"
        } else {
            let prefix = sandbox.prefix(
                .init(
                    control: paths.control, work: paths.companionWork, checkpoints: nil, readOnlyPaths: configuration.readOnlyPaths,
                    gpuIndices: [], network: false, tmpBytes: tmpBytes, seccompDescriptor: seccompFilter == nil ? nil : Self.seccompDescriptor,
                    link: paths.link, dieWithParent: true))
            // bubblewrap passes its environment on: `env` gives the companion its own entrypoint and nothing of the job's.
            let variables = inside.filter { $0.key != "AITIP_CGROUP_PROCS" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            command = Self.shellLine(["/usr/bin/env", "-i"] + variables + prefix + ["/bin/sh", "-c", Self.launcher, "aitip-companion"])
            command += " 3>/dev/null 4<\(Shell.quote(code))"
            if seccompFilter != nil { command += " \(Self.seccompDescriptor)<\(Shell.quote(paths.seccomp))" }
        }
        return ["AITIP_COMPANION": command, "AITIP_COMPANION_LOG": paths.companionLog, "AITIP_COMPANION_STOP": stop]
    }

    static func shellLine(_ arguments: [String]) -> String {
        arguments.map(Shell.quote).joined(separator: " ")
    }
}
