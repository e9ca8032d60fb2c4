import App
import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// Flags shared by the server-side commands; each mirrors an `AITIP_*` variable and a config file key.
struct ServerOptions: ParsableArguments {
    @Option(help: "YAML configuration file (AITIP_CONFIG).") var config: String?
    @Option(help: "Listen address host:port (AITIP_LISTEN, default 127.0.0.1:8080).") var listen: String?
    @Option(name: .customLong("data-dir"), help: "Data directory (AITIP_DATA_DIR, default ./data).") var dataDir: String?
    @Option(name: .customLong("database-url"), help: "sqlite://PATH or postgres://… (AITIP_DATABASE_URL).") var databaseURL: String?
    @Option(name: .customLong("log-level"), help: "trace … critical (AITIP_LOG_LEVEL, default info).") var logLevel: String?
    @Option(name: .customLong("log-format"), help: "text or json (AITIP_LOG_FORMAT).") var logFormat: String?
    @Option(help: "open or closed self-registration (AITIP_REGISTRATION, default closed).") var registration: String?
    @Option(name: .customLong("max-body-bytes"), help: "Largest accepted request body (AITIP_MAX_BODY_BYTES).") var maxBodyBytes: String?
    @Option(name: .customLong("max-artifact-bytes"), help: "Largest accepted artifact file (AITIP_MAX_ARTIFACT_BYTES).") var maxArtifactBytes: String?
    @Option(name: .customLong("simulate-gpus"), help: "Simulated GPUs for development, e.g. a100:4 (AITIP_SIMULATE_GPUS).") var simulateGPUs: String?
    @Option(
        help:
            "bubblewrap (default: jobs are refused where it cannot run) or off: unsandboxed jobs that can read everything the server can (AITIP_SANDBOX)."
    )
    var sandbox: String?
    @Option(
        name: .customLong("job-network"), help: "none (default) or allow: whether a local job may ask for the host's network (AITIP_JOB_NETWORK).")
    var jobNetwork: String?

    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["config"] = config
        flags["listen"] = listen
        flags["data_dir"] = dataDir
        flags["database_url"] = databaseURL
        flags["log_level"] = logLevel
        flags["log_format"] = logFormat
        flags["registration"] = registration
        flags["max_body_bytes"] = maxBodyBytes
        flags["max_artifact_bytes"] = maxArtifactBytes
        flags["simulate_gpus"] = simulateGPUs
        flags["sandbox"] = sandbox
        flags["job_network"] = jobNetwork
        return flags
    }

    func load() throws -> AppConfig {
        do {
            return try AppConfig(flags: flags, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    static func makeLogger(_ config: AppConfig) -> Logger {
        let format = config.logFormat
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format) }
        var logger = Logger(label: "aitip")
        logger.logLevel = config.logLevel
        return logger
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the aitip server: migrate the database, create the first admin on an empty one, and serve the API.",
        discussion: "Every option also reads from AITIP_<NAME> and the config file; flags win. See docs/operations.md.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let config = try options.load()
        let logger = ServerOptions.makeLogger(config)
        do {
            let app = try await buildApplication(config, logger: logger)
            try await app.runService()
        } catch {
            logger.critical("aitip could not start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (the server also does this on start).")

    @OptionGroup var options: ServerOptions
    @Flag(name: .customLong("dry-run"), help: "List pending migrations without applying them.") var dryRun = false

    func run() async throws {
        let config = try options.load()
        let logger = ServerOptions.makeLogger(config)
        try await MigrationRunner.run(config: config, dryRun: dryRun, logger: logger)
    }
}

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operator tasks run on the server's database (with the server's configuration).",
        subcommands: [RotateSigningKey.self])

    struct RotateSigningKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-signing-key",
            abstract: "Start signing access tokens with a new key; running servers switch within 30 seconds.",
            discussion: """
                The old key retires: access tokens it signed stay valid until they expire (access_token_ttl). With \
                --revoke they are refused at once (after a leak of the key); clients then refresh their session. \
                Refresh tokens and API keys are not affected.
                """)

        @OptionGroup var options: ServerOptions
        @Flag(help: "Refuse every access token signed with an older key now, instead of letting them expire.") var revoke = false

        func run() async throws {
            let config = try options.load()
            let result = try await SigningKeyTool.rotate(config: config, revoke: revoke, logger: ServerOptions.makeLogger(config))
            print("New signing key: \(result.kid)")
            if !result.retired.isEmpty { print("Retired (valid until their tokens expire): \(result.retired.joined(separator: ", "))") }
            if !result.revoked.isEmpty { print("Revoked: \(result.revoked.joined(separator: ", "))") }
        }
    }
}
