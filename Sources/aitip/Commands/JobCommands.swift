import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation
import OpenAPIRuntime
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
        @Option(
            help:
                "Idempotency key: running the same command again with the same key answers the job it submitted the first time (for 24 hours) instead of submitting another."
        )
        var idempotencyKey: String?

        func run() async throws {
            try await runClient {
                var file = try loadFile()
                file["project_id"] = project ?? file["project_id"]
                file["name"] = name ?? file["name"]
                file["entrypoint"] = entrypoint ?? file["entrypoint"]
                let codeDirectory = code ?? file.removeValue(forKey: "code_dir") as? String
                var job = try decode(file)
                var resources = job.resources ?? .init()
                resources.gpuType = gpuType ?? resources.gpuType
                resources.gpuCount = gpus ?? resources.gpuCount
                resources.nodes = nodes ?? resources.nodes
                resources.cpu = cpu ?? resources.cpu
                resources.memoryMib = memoryMib ?? resources.memoryMib
                if resources != .init() { job.resources = resources }
                job.priority = priority ?? job.priority
                job.queue = queue ?? job.queue
                job.maxRuntimeSeconds = maxRuntime ?? job.maxRuntimeSeconds
                job.maxRetries = retries ?? job.maxRetries
                job.distributedMode = try Choice.parse(distributed, "--distributed") ?? job.distributedMode
                if isolateNetwork && network { throw ValidationError("--isolate-network and --network contradict each other") }
                if isolateNetwork { job.isolateNetwork = true }
                if network { job.isolateNetwork = false }
                if let config {
                    do {
                        job.config = try JSONDecoder().decode(Components.Schemas.TrainingJobCreate.ConfigPayload.self, from: Data(config.utf8))
                    } catch {
                        throw ValidationError("--config must be a JSON object, e.g. '{\"lr\": 0.01}'")
                    }
                }
                let environment = (job.env?.additionalProperties ?? [:]).merging(try CodePackage.environment(env)) { $1 }
                if !environment.isEmpty { job.env = .init(additionalProperties: environment) }
                let client = try APIClient(server: options.server)
                if let codeDirectory {
                    job.code = .init(archive: try await CodePackage.upload(codeDirectory, project: job.projectId, client: client))
                }
                let created = try await client.api.createTrainingJob(headers: .init(idempotencyKey: idempotencyKey), body: .json(job)).created.body
                    .json
                try Output.show(created, format: options.output, columns: JobsCommand.columns)
                if follow { try await LogFollower.follow(created.id, client: client, offset: nil) }
            }
        }

        /// The file's job with the flags' project, name and entrypoint, checked against the API's schema.
        private func decode(_ fields: [String: Any]) throws -> Components.Schemas.TrainingJobCreate {
            for (key, flag) in [("project_id", "--project"), ("name", "--name"), ("entrypoint", "--entrypoint")] where !(fields[key] is String) {
                throw ValidationError("Give \(flag) (or \(key) in the file)")
            }
            do {
                let data = try JSONSerialization.data(withJSONObject: fields)
                return try JSONDecoder().decode(Components.Schemas.TrainingJobCreate.self, from: data)
            } catch let error as DecodingError {
                throw ValidationError("\(file ?? "The job") does not describe a job: \(DecodingProblem(error))")
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
            try await ClientCall.show(options, columns: JobsCommand.columns) { api in
                try await api.listTrainingJobs(query: .init(projectId: project, status: status, limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job, with why it waits while queued.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var id: String
        @Flag(help: "Also list every state transition.") var events = false
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getTrainingJob(path: .init(jobId: id)).ok.body.json }
            if events {
                try await ClientCall.show(options, columns: ["at", "from", "to", "reason"]) { api in
                    try await api.listTrainingJobEvents(path: .init(jobId: id)).ok.body.json
                }
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
                let client = try APIClient(server: options.server)
                if follow {
                    try await LogFollower.follow(id, client: client, offset: offset)
                } else {
                    _ = try await client.api.getTrainingJob(path: .init(jobId: id)).ok
                    let log = try await client.transfers.getTrainingJobLogs(
                        path: .init(jobId: id), query: .init(offset: offset.map(Int64.init)),
                        headers: .init(accept: [.init(contentType: .plainText)])
                    ).ok.body.plainText
                    for try await chunk in log { FileHandle.standardOutput.write(Data(chunk)) }
                }
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a queued job, or stop a running one (SIGTERM, then SIGKILL after the grace period).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: ["id", "name", "status", "reason"]) { api in
                try await api.stopTrainingJob(path: .init(jobId: id)).ok.body.json
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a finished job with its log and checkpoints.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Job id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted job \(id).") { api in
                _ = try await api.deleteTrainingJob(path: .init(jobId: id)).noContent
            }
        }
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Jobs waiting or running, with why each one waits.")
    @OptionGroup var options: ClientOptions
    @Option(help: "Project id (default: every project you may read).") var project: String?
    func run() async throws {
        try await ClientCall.show(options, columns: ["id", "name", "status", "priority", "queue", "reason"]) { api in
            try await api.listTrainingJobs(query: .init(projectId: project, status: "queued,admitted,starting,running", limit: 500)).ok.body.json
        }
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
            try await ClientCall.show(options, columns: ["id", "name", "node_type", "gpu_count", "gpus_in_use", "status", "source", "total_jobs"]) {
                api in
                try await api.listGpuNodes().ok.body.json
            }
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
                let quota = Components.Schemas.QuotaSet(
                    orgId: org, projectId: project, maxGpuHoursMonth: gpuHours, maxStorageGb: storageGb,
                    maxConcurrentJobs: concurrentJobs)
                try await ClientCall.show(options) { api in try await api.setQuota(body: .json(quota)).ok.body.json }
            } else {
                try await ClientCall.show(
                    options, columns: ["scope", "max_concurrent_jobs", "running_jobs", "max_gpu_hours_month", "used_gpu_hours_month"]
                ) { api in
                    try await api.listQuotas(query: .init(orgId: org)).ok.body.json
                }
            }
        }
    }

    /// The report options `usage` and `costs` share: the same query, a different price of one GPU-hour.
    struct ReportOptions: ParsableArguments {
        @Option(help: "Organization id.") var org: String?
        @Option(help: "First UTC day, YYYY-MM-DD (default: start of this month).") var from: String?
        @Option(help: "Last UTC day (default: today).") var to: String?
        @Option(help: "organization, project, user, day or gpu_type.") var groupBy: String = "project"
    }

    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "GPU-hours by organization, project, user, day or gpu_type.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var report: ReportOptions
        func run() async throws {
            let groupBy: Operations.GetUsage.Input.Query.GroupByPayload? = try Choice.parse(report.groupBy, "--group-by")
            try await ClientCall.show(options) { api in
                try await api.getUsage(query: .init(orgId: report.org, from: report.from, to: report.to, groupBy: groupBy)).ok.body.json
            }
        }
    }

    struct Costs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Usage × the configured GPU-hour prices.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var report: ReportOptions
        func run() async throws {
            let groupBy: Operations.GetCosts.Input.Query.GroupByPayload? = try Choice.parse(report.groupBy, "--group-by")
            try await ClientCall.show(options) { api in
                try await api.getCosts(query: .init(orgId: report.org, from: report.from, to: report.to, groupBy: groupBy)).ok.body.json
            }
        }
    }

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a node in maintenance (running work finishes, nothing new starts), or --undo.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Node id.") var node: String
        @Flag(help: "Return the node to service.") var undo = false
        func run() async throws {
            try await ClientCall.show(options, columns: ["id", "name", "status"]) { api in
                try await api.updateGpuNode(path: .init(nodeId: node), body: .json(.init(status: undo ? .available : .maintenance))).ok.body.json
            }
        }
    }
}

/// Follows a job's log (Server-Sent Events), printing each line as it arrives, until the `end` event.
enum LogFollower {
    static func follow(_ id: String, client: APIClient, offset: Int?) async throws {
        let stream = try await client.transfers.getTrainingJobLogs(
            path: .init(jobId: id), query: .init(follow: true, offset: offset.map(Int64.init)),
            headers: .init(accept: [.init(contentType: .textEventStream)])
        ).ok.body.textEventStream
        var finalStatus: String?
        for try await event in stream.asDecodedServerSentEvents() {
            switch event.event {
            case "line": FileHandle.standardOutput.write(Data(((event.data ?? "") + "\n").utf8))
            case "end": finalStatus = event.data
            default: continue
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
    /// Packs `directory` and uploads it to the project; answers the package's sha256.
    static func upload(_ directory: String, project: String, client: APIClient) async throws -> String {
        let package = try pack(directory)
        FileHandle.standardError.write(Data("Uploading \(directory) (\(package.count) bytes)…\n".utf8))
        return try await client.transfers.uploadTrainingCode(query: .init(projectId: project), body: .applicationGzip(HTTPBody(package)))
            .created.body.json.sha256
    }

    /// `--env NAME=VALUE` options as a dictionary.
    static func environment(_ pairs: [String]) throws -> [String: String] {
        var environment: [String: String] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "=") else { throw ValidationError("--env takes NAME=VALUE, got '\(pair)'") }
            environment[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return environment
    }

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

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
