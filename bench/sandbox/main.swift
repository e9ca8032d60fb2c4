import Executors
import Foundation
import Logging

// The price of each sandbox, in one run, through the local executor's own launch path (what a simulation scenario
// gets): (1) start-up — launching `true` until the executor reports it exited, no sandbox (a plain /bin/sh) against the
// bubblewrap sandbox (seccomp, cgroups) and gVisor; (2) environment steps per second of aitip's CartPole runner playing
// an MLflow policy over 20 seeds, outside any sandbox and inside each one, with the model loaded by the runner and
// (`+model`, what a simulation does by default) served from a companion sandbox over a Unix socket (the runner times
// its stepping loop; the whole scenario's wall time is reported too).
// Usage (bench/simulation.sh prepares the model and runner files):
//   swift run -c release sandbox-bench PYTHON RUNNER_DIR [launches]
// RUNNER_DIR holds sim_runner.py, aitip_sim.py, scenario.json and model/; PYTHON has mlflow and gymnasium.

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    print("usage: sandbox-bench PYTHON RUNNER_DIR [launches]")
    exit(2)
}
let python = arguments[0]
let runnerDirectory = URL(fileURLWithPath: arguments[1]).standardizedFileURL.path
let launches = arguments.count > 2 ? Int(arguments[2]) ?? 20 : 20

// The interpreter's environment is shown read-only to the sandboxes, as sandbox_ro_paths does for a server.
func prefix(_ python: String, _ expression: String) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", "import sys; print(\(expression))"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try? process.run()
    process.waitUntilExit()
    return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
let readOnly = [prefix(python, "sys.prefix"), prefix(python, "sys.base_prefix")]
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-sandbox-bench-\(UUID().uuidString)").path
try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
var logger = Logger(label: "sandbox-bench")
logger.logLevel = .error
let sandboxed = LocalExecutor(.init(jobsDirectory: "\(scratch)/jobs", readOnlyPaths: readOnly), logger: logger)
let plain = LocalExecutor(.init(jobsDirectory: "\(scratch)/plain", sandbox: .off, readOnlyPaths: readOnly), logger: logger)
defer { try? FileManager.default.removeItem(atPath: scratch) }

/// Launches `command` and polls the executor until it reports the end: (seconds, exit state, log).
func run(_ executor: LocalExecutor, _ isolation: Isolation, _ command: String, code: Data? = nil, companion: String? = nil) async throws -> (
    Double, ExecutionState, String
) {
    let start = ContinuousClock.now
    let reference = try await executor.launch(
        LaunchRequest(
            workloadId: UUID(), attempt: 1, entrypoint: command, codeArchive: code, cpu: 2, memoryMiB: 2_048,
            isolateNetwork: executor.isolatesNetworkByDefault, isolation: isolation, companion: companion))
    var state = await executor.state(of: reference)
    while state == .running || state == .starting {
        try await Task.sleep(for: .milliseconds(1))
        state = await executor.state(of: reference)
    }
    let elapsed = start.duration(to: .now)
    let log = String(decoding: try await executor.readLog(reference, from: 0, limit: 1 << 20), as: UTF8.self)
    await executor.cleanUp(reference)
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, state, log)
}

func percentile(_ values: [Double], _ share: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * share).rounded()))]
}

let modes: [(String, LocalExecutor, Isolation)] = [("none", plain, .container), ("container", sandboxed, .container), ("gvisor", sandboxed, .gvisor)]
print("start-up: launch `true` until the executor sees it exit, \(launches) times each (ms)")
print("mode        p50     p90     max")
for (name, executor, isolation) in modes {
    var times: [Double] = []
    for _ in 0..<launches {
        let (seconds, state, log) = try await run(executor, isolation, "true")
        guard state == .exited(code: 0) else { fatalError("\(name): \(state) \(log)") }
        times.append(seconds * 1_000)
    }
    print(
        name.padding(toLength: 10, withPad: " ", startingAt: 0)
            + String(format: " %7.1f %7.1f %7.1f", percentile(times, 0.5), percentile(times, 0.9), times.max()!))
}

// The runner's files as a code package, unpacked by the launcher as for a real scenario.
let archive = "\(scratch)/runner.tar.gz"
let tar = Process()
tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
tar.arguments = ["-czf", archive, "-C", runnerDirectory, "."]
try tar.run()
tar.waitUntilExit()
let code = try Data(contentsOf: URL(fileURLWithPath: archive))
// Without AITIP_RESULT_FILE the runner writes result.json in its working directory.
let command =
    "\(python) sim_runner.py && \(python) -c 'import json; r = json.load(open(\"result.json\")); print(\"STEPS\", r[\"steps\"], r[\"seconds\"])'"
// What a simulation runs by default where it can: the model served from a sandbox of its own over a Unix socket.
let socket = "\(LaunchRequest.companionLink)/policy.sock"
let modelServer = "export AITIP_POLICY_SOCKET=\(socket) AITIP_MODEL_DIR=$PWD/model PYTHONPATH=$PWD; exec \(python) aitip_sim.py serve"
let playingModelServer = "export AITIP_POLICY_SOCKET=\(socket); \(command)"

print("\nCartPole, 20 seeds, the good policy (aitip's runner, one predict per step): 3 runs each")
print("mode                  steps/s (best)  vs none  scenario wall s (best)")
var baseline = 0.0
let playing: [(String, LocalExecutor, Isolation, String?)] =
    modes.map { ($0.0, $0.1, $0.2, nil) } + [
        ("container+model", sandboxed, .container, modelServer), ("gvisor+model", sandboxed, .gvisor, modelServer),
    ]
for (name, executor, isolation, companion) in playing {
    var best = (rate: 0.0, wall: Double.infinity)
    for _ in 0..<3 {
        let (seconds, state, log) = try await run(
            executor, isolation, companion == nil ? command : playingModelServer, code: code, companion: companion)
        guard state == .exited(code: 0), let line = log.split(separator: "\n").last(where: { $0.hasPrefix("STEPS ") }) else {
            fatalError("\(name): \(state) \(log.suffix(2_000))")
        }
        let fields = line.split(separator: " ")
        let rate = Double(fields[1])! / Double(fields[2])!
        best = (max(best.rate, rate), min(best.wall, seconds))
    }
    if name == "none" { baseline = best.rate }
    print(
        name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %14.0f %8.2f %10.2f", best.rate, best.rate / baseline, best.wall))
}
