import AITIPCore
import Executors
import Foundation
import Identity
import Logging
import Yams

/// The typed configuration of `aitip serve`. Values come from, in increasing precedence: defaults, an optional
/// YAML file (`--config`/`AITIP_CONFIG`, keys as in the table below), `AITIP_*` environment variables, and flags.
/// Only this module reads configuration (ARCHITECTURE rule 5).
package struct AppConfig: Sendable {
    package enum LogFormat: String, Sendable { case text, json }

    package var host: String
    package var port: Int
    package var dataDirectory: String
    package var databaseURL: String
    package var objectStoreURL: String
    package var s3AccessKey: String
    package var s3SecretKey: String
    package var maxDatasetFileBytes: Int64
    package var logLevel: Logger.Level
    package var logFormat: LogFormat
    package var adminPassword: String?
    package var identity: IdentityConfig
    package var maxBodyBytes: Int
    package var maxArtifactBytes: Int64
    package var webhookAllowPrivate: Bool
    package var rateLimitPerSecond: Double
    package var rateLimitBurst: Double
    package var principalConcurrency: Int
    package var credentialAttemptsPerMinute: Double
    package var idleTimeoutSeconds: Int
    package var minimumBodyRate: Int
    package var webDirectory: String
    package var principalCacheSeconds: TimeInterval
    package var workloads: WorkloadSettings
    /// Largest request body the inference gateway forwards (it is held whole, so that a refused connection can be retried).
    package var gatewayMaxRequestBytes: Int
    /// Chromium for PDF reports; nil when none was found.
    package var chromium: String?
    package var maxEvaluationRows: Int
    /// The agent's optional language model (`agent_llm_url`, `agent_llm_model`, `agent_llm_api_key`).
    package var agentLanguageModel: (url: String, model: String, apiKey: String?)?

    /// The workload engine's settings: executor, nodes, scheduling, prices.
    package struct WorkloadSettings: Sendable {
        package var executor: String
        package var rayToken: String?
        package var kubernetes: KubernetesSettings

        package struct KubernetesSettings: Sendable {
            package var apiServer: String
            package var tokenFile: String
            package var namespace: String
            package var image: String
            package var gpuTypeLabel: String
        }
        package var simulatedGPUs: String
        package var sandbox: LocalExecutor.SandboxMode
        package var sandboxReadOnlyPaths: [String]
        package var jobUID: UInt32
        package var jobGID: UInt32
        package var jobNetwork: LocalExecutor.NetworkPolicy
        package var jobDiskLimitBytes: Int64
        package var jobMaxFiles: Int
        package var bubblewrap: String?
        package var gracePeriodSeconds: Double
        package var schedulerTickMilliseconds: Int
        package var maxCodeBytes: Int
        package var gpuPrices: [String: Double]
        package var defaultGPUPrice: Double
        package var currency: String
        package var operatorOrg: String
    }

    /// Every setting: its key (file key; `AITIP_` + uppercased key in the environment), default and meaning.
    /// docs/operations.md is written from this table.
    package static let settings: [(key: String, defaultValue: String, meaning: String)] = [
        ("listen", "127.0.0.1:8080", "HTTP listen address host:port"),
        ("data_dir", "./data", "directory for the embedded database, objects and logs"),
        ("database_url", "sqlite://<data_dir>/aitip.db", "metadata database: sqlite://PATH or postgres://user:pass@host:port/db"),
        (
            "object_store", "file://<data_dir>/objects",
            "object storage: file://DIR, or s3://BUCKET?endpoint=http://HOST:PORT&region=REGION (S3, SeaweedFS, MinIO; the bucket is created if missing)"
        ),
        ("s3_access_key", "", "access key for an s3:// object store"),
        ("s3_secret_key", "", "secret key for an s3:// object store (never logged)"),
        ("max_dataset_file_bytes", "1099511627776", "largest single file a dataset version may hold, bytes (uploads stream to disk in chunks)"),
        ("log_level", "info", "trace, debug, info, notice, warning, error or critical"),
        ("log_format", "text", "text or json (one JSON object per line)"),
        ("admin_password", "(generated, printed once)", "password of the bootstrap `admin` user, used only on first start"),
        ("registration", "closed", "open: anyone may register; closed: admins add members"),
        ("access_token_ttl", "900", "access token lifetime, seconds"),
        ("refresh_token_ttl", "2592000", "refresh token lifetime since last use, seconds"),
        ("bcrypt_cost", "12", "bcrypt work factor for passwords (4–31)"),
        ("max_body_bytes", "10485760", "largest accepted request body, bytes (larger → 413)"),
        (
            "gateway_max_request_bytes", "16777216",
            "largest request body the inference gateway (/serve/…) forwards to a replica, bytes (larger → 413)"
        ),
        ("chromium", "(chromium on PATH)", "Chromium or Chrome binary that prints evaluation and test reports to PDF (none: PDF reports answer 503)"),
        ("max_evaluation_rows", "1000000", "rows an evaluation's dataset file may have (its labels are held in memory while scoring)"),
        (
            "max_artifact_bytes", "1099511627776",
            "largest artifact file one upload may store, bytes (uploads stream to the object store, in parts for large files; never held in memory)"
        ),
        (
            "webhook_allow_private", "false",
            "true lets webhooks reach loopback, private and other non-public addresses (only where every project admin is trusted with the server's network)"
        ),
        (
            "agent_llm_url", "(none: the rules only)",
            "an OpenAI-compatible API (…/v1) whose chat completions read words into a tool call when the agent's rules read nothing (docs/agent.md)"
        ),
        ("agent_llm_model", "", "the model agent_llm_url is asked for (required with it)"),
        (
            "agent_llm_api_key", "",
            "bearer key sent to agent_llm_url (never logged); for a model on this platform's gateway, an API key with inference:invoke"
        ),
        ("rate_limit", "100", "requests per second per user or API key (0 disables)"),
        ("rate_limit_burst", "200", "requests a principal may send at once"),
        (
            "principal_concurrency", "64",
            "requests one user or API key may have in flight at once, on every route (0 disables); tracking routes (MLflow, bulk run logging) are bounded by this, not by rate_limit"
        ),
        (
            "login_rate_limit", "20",
            "sign-in attempts per minute per client address: every login and registration, failed refreshes and failed HTTP basic logins"
        ),
        ("idle_timeout", "60", "seconds a connection may stay idle, or a request head or body stall, before it is closed"),
        ("min_body_rate", "1024", "bytes per second a request body must average after its first 30 seconds (slower: 408; 0 disables)"),
        ("web_dir", "./web/dist", "the built web console served at / (web/build.sh makes it)"),
        ("executor", "local", "where workloads run: local (child processes on this machine) or ray://HOST:PORT (a Ray cluster's dashboard)"),
        (
            "kubernetes_api", "https://kubernetes.default.svc",
            "Kubernetes API server for executor=kubernetes (its certificate must be trusted by the system)"
        ),
        ("kubernetes_token_file", "/var/run/secrets/kubernetes.io/serviceaccount/token", "file with the bearer token aitip sends to the API server"),
        ("kubernetes_namespace", "aitip", "namespace of the Jobs aitip creates"),
        ("kubernetes_image", "python:3.11-slim", "container image workloads run in"),
        ("kubernetes_gpu_label", "aitip.dev/gpu-type", "node label whose value is the GPU type (e.g. nvidia.com/gpu.product)"),
        ("ray_token", "", "Ray token (RAY_AUTH_MODE=token clusters), sent as a bearer token to the Ray dashboard"),
        ("simulate_gpus", "", "simulated GPUs of the local node for development without GPUs, TYPE:COUNT[,TYPE:COUNT], e.g. a100:4"),
        (
            "sandbox", "bubblewrap",
            "bubblewrap: every local job runs in the bubblewrap sandbox, and jobs are refused where it cannot run; off: jobs run as plain processes of the server's user and can read everything the server can (only where every submitter is trusted with the server; warned at every start)"
        ),
        ("sandbox_ro_paths", "", "comma-separated paths local jobs may read besides /usr and a few /etc files (e.g. a Python virtualenv)"),
        ("job_uid", "65534", "user id local jobs run as when the server runs as root (nobody by default; never 0)"),
        ("job_gid", "65534", "group id local jobs run as when the server runs as root (nogroup by default; never 0)"),
        ("job_network", "none", "none: local jobs have no network; allow: a job may ask for the host's network (isolate_network=false)"),
        (
            "job_disk_limit", "10737418240",
            "bytes one local job attempt may keep on disk (working directory, checkpoints, log); over it the job is killed (0: no limit)"
        ),
        ("job_max_files", "1000000", "files and directories one local job attempt may create"),
        ("bubblewrap", "bwrap from /usr/bin or /usr/local/bin", "path of the bubblewrap program that sandboxes local jobs"),
        ("grace_period", "30", "seconds between a stop signal (cancel, preemption, timeout) and the kill"),
        ("scheduler_tick_ms", "1000", "milliseconds between scheduling cycles when nothing wakes the scheduler sooner"),
        ("max_code_bytes", "67108864", "largest accepted code package (.tar.gz), bytes"),
        ("gpu_prices", "", "price of one GPU-hour per type for cost reports, TYPE=PRICE[,TYPE=PRICE], e.g. a100=2.5,h100=4"),
        ("default_gpu_price", "0", "price of one GPU-hour of a type not in gpu_prices"),
        ("currency", "USD", "currency of the prices"),
        ("operator_org", "default", "slug of the organization whose admins may drain nodes and set quotas"),
        ("auth_cache_ttl", "1", "seconds a credential's user and roles are remembered; changes made on other replicas show after this (0 disables)"),
    ]

    package static let environmentPrefix = "AITIP_"

    /// Merges the sources and validates every value, reporting all problems at once.
    package init(flags: [String: String], environment: [String: String], configFile: String? = nil) throws {
        var values: [String: String] = [:]
        let filePath = flags["config"] ?? environment["AITIP_CONFIG"] ?? configFile
        if let filePath { values.merge(try Self.readFile(filePath)) { _, file in file } }
        for (key, _, _) in Self.settings {
            if let value = environment[Self.environmentPrefix + key.uppercased()] { values[key] = value }
        }
        values.merge(flags.filter { $0.key != "config" }) { _, flag in flag }
        try self.init(values: values)
    }

    package init(values: [String: String]) throws {
        var problems: [String] = []
        func number<T: LosslessStringConvertible>(_ key: String, _ fallback: T, _ valid: (T) -> Bool) -> T {
            guard let text = values[key] else { return fallback }
            guard let value = T(text), valid(value) else {
                problems.append("\(key)=\(text) is not valid (\(Self.settings.first { $0.key == key }?.meaning ?? ""))")
                return fallback
            }
            return value
        }
        let listen = values["listen"] ?? "127.0.0.1:8080"
        if let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) {
            host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            self.port = port
        } else {
            problems.append("listen=\(listen) must be host:port, e.g. 127.0.0.1:8080")
            host = "127.0.0.1"
            port = 8080
        }
        dataDirectory = values["data_dir"] ?? "./data"
        let absoluteData = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        databaseURL = values["database_url"] ?? "sqlite://\(absoluteData)/aitip.db"
        objectStoreURL = values["object_store"] ?? "file://\(absoluteData)/objects"
        s3AccessKey = values["s3_access_key"] ?? ""
        s3SecretKey = values["s3_secret_key"] ?? ""
        if !objectStoreURL.hasPrefix("file://") && !objectStoreURL.hasPrefix("s3://") {
            problems.append("object_store=\(objectStoreURL): use file://DIR or s3://BUCKET?endpoint=http://HOST:PORT")
        }
        if let level = values["log_level"] {
            if let parsed = Logger.Level(rawValue: level) {
                logLevel = parsed
            } else {
                problems.append("log_level=\(level) must be trace, debug, info, notice, warning, error or critical")
                logLevel = .info
            }
        } else {
            logLevel = .info
        }
        if let format = values["log_format"] {
            logFormat = LogFormat(rawValue: format) ?? .text
            if LogFormat(rawValue: format) == nil { problems.append("log_format=\(format) must be text or json") }
        } else {
            logFormat = .text
        }
        adminPassword = values["admin_password"].flatMap { $0.isEmpty ? nil : $0 }
        let registrationText = values["registration"] ?? "closed"
        let registration = IdentityConfig.Registration(rawValue: registrationText) ?? .closed
        if IdentityConfig.Registration(rawValue: registrationText) == nil {
            problems.append("registration=\(registrationText) must be open or closed")
        }
        identity = IdentityConfig(
            accessTokenLifetime: number("access_token_ttl", 900.0) { $0 >= 10 },
            refreshTokenLifetime: number("refresh_token_ttl", 2_592_000.0) { $0 >= 60 },
            registration: registration,
            bcryptCost: number("bcrypt_cost", UInt8(12)) { (4...31).contains($0) })
        maxBodyBytes = number("max_body_bytes", 10 * 1024 * 1024) { $0 >= 1024 }
        gatewayMaxRequestBytes = number("gateway_max_request_bytes", 16 << 20) { $0 >= 1024 }
        chromium = values["chromium"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.findOnPath(["chromium", "chromium-browser", "google-chrome"])
        maxEvaluationRows = number("max_evaluation_rows", 1_000_000) { (1...100_000_000).contains($0) }
        maxArtifactBytes = number("max_artifact_bytes", Int64(1) << 40) { $0 >= 1024 }
        maxDatasetFileBytes = number("max_dataset_file_bytes", Int64(1) << 40) { $0 >= 0 }
        rateLimitPerSecond = number("rate_limit", 100.0) { $0 >= 0 }
        rateLimitBurst = number("rate_limit_burst", 200.0) { $0 >= 1 }
        principalConcurrency = number("principal_concurrency", 64) { $0 >= 0 }
        credentialAttemptsPerMinute = number("login_rate_limit", 20.0) { $0 >= 0 }
        idleTimeoutSeconds = number("idle_timeout", 60) { (1...86_400).contains($0) }
        minimumBodyRate = number("min_body_rate", 1_024) { $0 >= 0 }
        let webhookPrivateText = values["webhook_allow_private"] ?? "false"
        webhookAllowPrivate = webhookPrivateText == "true"
        if !["true", "false"].contains(webhookPrivateText) { problems.append("webhook_allow_private=\(webhookPrivateText) must be true or false") }
        webDirectory = values["web_dir"] ?? "./web/dist"
        if let url = values["agent_llm_url"], !url.isEmpty {
            let model = values["agent_llm_model"] ?? ""
            if model.isEmpty { problems.append("agent_llm_url is set: agent_llm_model must name the model to ask") }
            if !["http", "https"].contains(URL(string: url)?.scheme?.lowercased() ?? "") || URL(string: url)?.host == nil {
                problems.append("agent_llm_url=\(url) must be an http(s) URL, e.g. https://api.openai.com/v1")
            }
            agentLanguageModel = (url, model, values["agent_llm_api_key"].flatMap { $0.isEmpty ? nil : $0 })
        } else {
            agentLanguageModel = nil
        }
        principalCacheSeconds = number("auth_cache_ttl", 1.0) { (0...60).contains($0) }
        let executor = values["executor"] ?? "local"
        if executor != "local" && executor != "kubernetes" && !executor.hasPrefix("ray://") {
            problems.append("executor=\(executor) must be local, ray://HOST:PORT or kubernetes")
        }
        let sandboxText = values["sandbox"] ?? "bubblewrap"
        let sandbox = LocalExecutor.SandboxMode(setting: sandboxText) ?? .bubblewrap
        if LocalExecutor.SandboxMode(setting: sandboxText) == nil { problems.append("sandbox=\(sandboxText) must be bubblewrap or off") }
        let networkText = values["job_network"] ?? "none"
        let jobNetwork = LocalExecutor.NetworkPolicy(rawValue: networkText) ?? .none
        if LocalExecutor.NetworkPolicy(rawValue: networkText) == nil { problems.append("job_network=\(networkText) must be none or allow") }
        var prices: [String: Double] = [:]
        for pair in (values["gpu_prices"] ?? "").split(separator: ",") where !pair.isEmpty {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let price = Double(parts[1]), price >= 0 {
                prices[String(parts[0])] = price
            } else {
                problems.append("gpu_prices has '\(pair)': write TYPE=PRICE, e.g. a100=2.5")
            }
        }
        workloads = WorkloadSettings(
            executor: executor, rayToken: values["ray_token"].flatMap { $0.isEmpty ? nil : $0 },
            kubernetes: .init(
                apiServer: values["kubernetes_api"] ?? "https://kubernetes.default.svc",
                tokenFile: values["kubernetes_token_file"] ?? "/var/run/secrets/kubernetes.io/serviceaccount/token",
                namespace: values["kubernetes_namespace"] ?? "aitip", image: values["kubernetes_image"] ?? "python:3.11-slim",
                gpuTypeLabel: values["kubernetes_gpu_label"] ?? "aitip.dev/gpu-type"),
            simulatedGPUs: values["simulate_gpus"] ?? "", sandbox: sandbox,
            sandboxReadOnlyPaths: (values["sandbox_ro_paths"] ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty },
            jobUID: number("job_uid", UInt32(65534)) { $0 != 0 }, jobGID: number("job_gid", UInt32(65534)) { $0 != 0 }, jobNetwork: jobNetwork,
            jobDiskLimitBytes: number("job_disk_limit", Int64(10) << 30) { $0 >= 0 }, jobMaxFiles: number("job_max_files", 1_000_000) { $0 >= 100 },
            bubblewrap: values["bubblewrap"].flatMap { $0.isEmpty ? nil : $0 },
            gracePeriodSeconds: number("grace_period", 30.0) { $0 >= 0 && $0 <= 86_400 },
            schedulerTickMilliseconds: number("scheduler_tick_ms", 1_000) { (10...60_000).contains($0) },
            maxCodeBytes: number("max_code_bytes", 64 * 1_048_576) { $0 >= 1_024 },
            gpuPrices: prices, defaultGPUPrice: number("default_gpu_price", 0.0) { $0 >= 0 },
            currency: values["currency"] ?? "USD", operatorOrg: values["operator_org"] ?? "default")
        if !problems.isEmpty {
            throw AppError.badRequest("Invalid configuration:\n  " + problems.joined(separator: "\n  "))
        }
    }

    static func readFile(_ path: String) throws -> [String: String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw AppError.badRequest("Cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        guard let mapping = try Yams.load(yaml: text) as? [String: Any] else {
            throw AppError.badRequest("The configuration file \(path) must be a YAML mapping of setting: value")
        }
        let known = Set(settings.map(\.key))
        if let unknown = mapping.keys.first(where: { !known.contains($0) }) {
            throw AppError.badRequest("Unknown setting '\(unknown)' in \(path); known: \(known.sorted().joined(separator: ", "))")
        }
        return mapping.mapValues { "\($0)" }
    }

    /// The first of these programs found on PATH.
    static func findOnPath(_ names: [String]) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in names {
            for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }
}
