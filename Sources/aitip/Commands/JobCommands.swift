import ArgumentParser
import Foundation
import Yams

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Training jobs: submit (packaging a code directory), list, show, follow logs, stop, delete.",
        subcommands: [Submit.self, List.self, Get.self, Logs.self, Stop.self, Delete.self])

    static let columns = ["id", "name", "status", "priority", "attempt", "reason"]

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit a training job from flags or a YAML file (keys as in the API: name, entrypoint, resources, …).",
            discussion: """
                --code DIR packs the directory as a .tar.gz (without .git, __pycache__ and .venv), uploads it once by its
                sha256, and runs the entrypoint inside it. Flags override the file. Example:
                  aitip jobs submit --project P --name iris --code examples --entrypoint "python3 train.py" --gpus 1 --follow
                """)
        @OptionGroup var options: ClientOptions
        @Option(help: "YAML file with the job (name, entrypoint, resources: {gpu_type, gpu_count, cpu, memory_mib}, …).") var file: String?
        @Option(help: "Project id (or project_id in the file).") var project: String?
        @Option(help: "Job name.") var name: String?
        @Option(help: "Command run by /bin/sh in the code directory.") var entrypoint: String?
        @Option(help: "Code directory to package and upload.") var code: String?
        @Option(help: "GPU type, e.g. a100.") var gpuType: String?
        @Option(help: "Number of GPUs (a gang: all or nothing).") var gpus: Int?
        @Option(help: "Nodes the GPUs are spread over.") var nodes: Int?
        @Option(help: "CPU cores.") var cpu: Double?
        @Option(help: "Memory in MiB.") var memoryMib: Int?
        @Option(help: "low, normal or high.") var priority: String?
        @Option(help: "Queue name.") var queue: String?
        @Option(help: "Stop the job after this many seconds.") var maxRuntime: Int?
        @Option(help: "Retries after a failed attempt.") var retries: Int?
        @Option(help: "single or ddp (one process per GPU with MASTER_ADDR, RANK, …).") var distributed: String?
        @Option(help: "Hyper-parameters as a JSON object (the job reads AITIP_JOB_CONFIG).") var config: String?
        @Option(help: "Environment variable NAME=VALUE (repeatable).") var env: [String] = []
        @Flag(help: "Run without network (the local sandbox's default; remote executors refuse it).") var isolateNetwork = false
        @Flag(help: "Ask for the host's network (isolate_network=false); the operator must allow it (job_network=allow).") var network = false
        @Flag(help: "Follow the job's log until it ends.") var follow = false
        @Option(help: "Idempotency key: running the same command again with the same key answers the job it submitted the first time (for 24 hours) instead of submitting another.")
        var idempotencyKey: String?

        func run() async throws {
            try await runClient {
                var body = try loadFile()
                body["project_id"] = project ?? body["project_id"]
                body["name"] = name ?? body["name"]
                body["entrypoint"] = entrypoint ?? body["entrypoint"]
                var resources = body["resources"] as? [String: Any] ?? [:]
                resources["gpu_type"] = gpuType ?? resources["gpu_type"]
                resources["gpu_count"] = gpus ?? resources["gpu_count"]
                resources["nodes"] = nodes ?? resources["nodes"]
                resources["cpu"] = cpu ?? resources["cpu"]
                resources["memory_mib"] = memoryMib ?? resources["memory_mib"]
                if !resources.isEmpty { body["resources"] = resources }
                body["priority"] = priority ?? body["priority"]
                body["queue"] = queue ?? body["queue"]
                body["max_runtime_seconds"] = maxRuntime ?? body["max_runtime_seconds"]
                body["max_retries"] = retries ?? body["max_retries"]
                body["distributed_mode"] = distributed ?? body["distributed_mode"]
                if isolateNetwork && network { throw ValidationError("--isolate-network and --network contradict each other") }
                if isolateNetwork { body["isolate_network"] = true }
                if network { body["isolate_network"] = false }
                if let config {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any] else {
                        throw ValidationError("--config must be a JSON object, e.g. '{\"lr\": 0.01}'")
                    }
                    body["config"] = object
                }
                var environment = body["env"] as? [String: Any] ?? [:]
                for pair in env {
                    guard let equals = pair.firstIndex(of: "=") else { throw ValidationError("--env takes NAME=VALUE, got '\(pair)'") }
                    environment[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
                }
                if !environment.isEmpty { body["env"] = environment }
                guard let projectId = body["project_id"] as? String else { throw ValidationError("Give --project (or project_id in the file)") }
                var client = try APIClient(server: options.server)
                if let code = code ?? (body["code_dir"] as? String) {
                    body["code_dir"] = nil
                    let package = try CodePackage.pack(code)
                    FileHandle.standardError.write(Data("Uploading \(code) (\(package.count) bytes)…\n".utf8))
                    let uploaded = try await client.upload("/api/v1/training/code", query: ["project_id": projectId], data: package,
                                                           contentType: "application/gzip") as? [String: Any]
                    body["code"] = ["archive": uploaded?["sha256"] as? String ?? ""]
                }
                let job = try await client.send(.POST, "/api/v1/training/jobs", body: body,
                                                headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
                try Output.print(job, format: options.output, columns: JobsCommand.columns)
                if follow, let id = (job as? [String: Any])?["id"] as? String {
                    try await LogFollower.follow(id, client: client, offset: nil)
                }
            }
        }

        private func loadFile() throws -> [String: Any] {
            guard let file else { return [:] }
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ValidationError("Cannot read \(file): \(error.localizedDescription)")
            }
            guard let mapping = try Yams.load(yaml: text) as? [String: Any] else {
                throw ValidationError("\(file) must be a YAML mapping (name, entrypoint, resources, …)")
            }
            return mapping
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id (default: every project you may read).") var project: String?
        @Option(help: "States, comma-separated, e.g. queued,running.") var status: String?
        func run() async throws {
            var query = page.query
            query["project_id"] = project
            query["status"] = status
            try await ClientCall.show("/api/v1/training/jobs", query: query, options: options, columns: JobsCommand.columns)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job, with why it waits while queued.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var id: String
        @Flag(help: "Also list every state transition.") var events = false
        func run() async throws {
            try await ClientCall.show("/api/v1/training/jobs/\(PathSegment.encode(id))", options: options)
            if events {
                try await ClientCall.show("/api/v1/training/jobs/\(PathSegment.encode(id))/events", options: options, columns: ["at", "from", "to", "reason"])
            }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a job's output; -f follows it live until the job ends.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var id: String
        @Flag(name: [.customShort("f"), .long], help: "Follow the log as it is written.") var follow = false
        @Option(help: "Start at this byte offset (resume).") var offset: Int?
        func run() async throws {
            try await runClient {
                var client = try APIClient(server: options.server)
                if follow {
                    try await LogFollower.follow(id, client: client, offset: offset)
                } else {
                    _ = try await client.send(.GET, "/api/v1/training/jobs/\(PathSegment.encode(id))", query: [:])
                    try await client.stream("/api/v1/training/jobs/\(PathSegment.encode(id))/logs", query: ["offset": offset.map(String.init)],
                                            accept: "text/plain") { FileHandle.standardOutput.write($0) }
                }
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued job, or stop a running one (SIGTERM, then SIGKILL after the grace period).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var id: String
        func run() async throws {
            try await ClientCall.create("/api/v1/training/jobs/\(PathSegment.encode(id))/stop", body: [:], options: options,
                                        columns: ["id", "name", "status", "reason"])
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a finished job with its log and checkpoints.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var id: String
        func run() async throws {
            try await ClientCall.delete("/api/v1/training/jobs/\(PathSegment.encode(id))", options: options, done: "Deleted job \(id).")
        }
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Jobs waiting or running, with why each one waits.")
    @OptionGroup var options: ClientOptions
    @Option(help: "Project id (default: every project you may read).") var project: String?
    func run() async throws {
        try await ClientCall.show("/api/v1/training/jobs", query: ["project_id": project, "status": "queued,admitted,starting,running", "limit": "500"],
                                  options: options, columns: ["id", "name", "status", "priority", "queue", "reason"])
    }
}

struct ResourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resources", abstract: "The GPU pool, quotas, usage and costs.",
        subcommands: [GPU.self, Quota.self, Usage.self, Costs.self, Drain.self])

    struct GPU: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gpu", abstract: "Nodes with their GPUs in use and status.")
        @OptionGroup var options: ClientOptions
        func run() async throws {
            try await ClientCall.show("/api/v1/resources/gpu", options: options,
                                      columns: ["id", "name", "node_type", "gpu_count", "gpus_in_use", "status", "source", "total_jobs"])
        }
    }

    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show quotas, or set one (operators) with --set.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Organization id.") var org: String?
        @Option(help: "Project id (with --set: the project's quota instead of the organization's).") var project: String?
        @Flag(help: "Set the quota of --org (and --project) to the limits given; omitted limits become unlimited.") var set = false
        @Option(help: "GPU-hours per month.") var gpuHours: Double?
        @Option(help: "Jobs running at once.") var concurrentJobs: Int?
        @Option(help: "Storage in GB.") var storageGb: Int?
        func run() async throws {
            if set {
                guard let org else { throw ValidationError("--set needs --org") }
                var body: [String: Any] = ["org_id": org]
                body["project_id"] = project
                body["max_gpu_hours_month"] = gpuHours
                body["max_concurrent_jobs"] = concurrentJobs
                body["max_storage_gb"] = storageGb
                try await runClient {
                    var client = try APIClient(server: options.server)
                    try Output.print(try await client.send(.PUT, "/api/v1/resources/quota", body: body), format: options.output, columns: [])
                }
            } else {
                try await ClientCall.show("/api/v1/resources/quota", query: ["org_id": org], options: options,
                                          columns: ["scope", "max_concurrent_jobs", "running_jobs", "max_gpu_hours_month", "used_gpu_hours_month"])
            }
        }
    }

    /// The report options `usage` and `costs` share: the same query, a different price of one GPU-hour.
    struct ReportOptions: ParsableArguments {
        @Option(help: "Organization id.") var org: String?
        @Option(help: "First UTC day, YYYY-MM-DD (default: start of this month).") var from: String?
        @Option(help: "Last UTC day (default: today).") var to: String?
        @Option(help: "organization, project, user, day or gpu_type.") var groupBy: String = "project"

        var query: [String: String?] { ["org_id": org, "from": from, "to": to, "group_by": groupBy] }
    }

    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "GPU-hours by organization, project, user, day or gpu_type.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var report: ReportOptions
        func run() async throws {
            try await ClientCall.show("/api/v1/resources/usage", query: report.query, options: options, columns: [])
        }
    }

    struct Costs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Usage × the configured GPU-hour prices.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var report: ReportOptions
        func run() async throws {
            try await ClientCall.show("/api/v1/resources/costs", query: report.query, options: options, columns: [])
        }
    }

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a node in maintenance (running work finishes, nothing new starts), or --undo.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Node id.") var node: String
        @Flag(help: "Return the node to service.") var undo = false
        func run() async throws {
            try await runClient {
                var client = try APIClient(server: options.server)
                let body = ["status": undo ? "available" : "maintenance"]
                try Output.print(try await client.send(.PATCH, "/api/v1/resources/gpu/\(PathSegment.encode(node))", body: body),
                                 format: options.output, columns: ["id", "name", "status"])
            }
        }
    }
}

/// Follows a job's SSE log, printing each line as it arrives, until the `end` event.
enum LogFollower {
    static func follow(_ id: String, client: APIClient, offset: Int?) async throws {
        var pending = Data()
        var finalStatus: String?
        try await client.stream("/api/v1/training/jobs/\(PathSegment.encode(id))/logs", query: ["follow": "true", "offset": offset.map(String.init)],
                                accept: "text/event-stream") { chunk in
            pending.append(chunk)
            while let end = pending.range(of: Data("\n\n".utf8)) {
                let event = String(decoding: pending[pending.startIndex..<end.lowerBound], as: UTF8.self)
                pending.removeSubrange(pending.startIndex..<end.upperBound)
                var name = "message"
                var data: [Substring] = []
                for line in event.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data.append(line.dropFirst(6)) }
                }
                if name == "end" { finalStatus = data.joined() } else if name == "line" {
                    FileHandle.standardOutput.write(Data((data.joined(separator: "\n") + "\n").utf8))
                }
            }
        }
        if let finalStatus {
            FileHandle.standardError.write(Data("Job \(id) ended: \(finalStatus)\n".utf8))
            if finalStatus != "succeeded" { throw ExitCode(5) }
        }
    }
}

/// Packs a code directory as .tar.gz with the system tar, leaving out what never belongs in a code package.
enum CodePackage {
    static func pack(_ directory: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--code \(directory) is not a directory")
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-code-\(UUID().uuidString).tar.gz")
        defer { try? FileManager.default.removeItem(at: output) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-czf", output.path, "--exclude=.git", "--exclude=__pycache__", "--exclude=.venv", "--exclude=*.pyc", "-C", directory, "."]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw CLIError(message: "tar could not pack \(directory)", exitCode: 1) }
        return try Data(contentsOf: output)
    }
}
