import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Releases: a model version (or a firmware, service or config artifact) rolled out through approvals, gates and stages.",
        subcommands: [List.self, Create.self, Get.self, Update.self, Approve.self, Deploy.self, Promote.self, Rollback.self, Delete.self])

    static let columns = ["id", "name", "version", "model_uri", "status", "current_stage", "canary_percentage", "status_reason"]

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A project's releases, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var page: PageOptions
        @Option(help: "Project id.") var project: String
        func run() async throws {
            try await ClientCall.show(options, columns: ReleaseCommand.columns) { api in
                try await api.listReleases(query: .init(projectId: project, limit: page.limit, cursor: page.cursor)).ok.body.json
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a release of the model version a canary of the service serves (deploy the canary with --traffic 0 first).",
            discussion: """
                Example:
                  aitip release create --project P --name ranker --version 4.0 --service S --canary C \\
                    --approvals 2 --approver-role admin --gate-simulation RUN --min-safety-score 90
                The release waits for its approvals, then `aitip release deploy` checks the gates and starts the canary
                stages (docs/releases.md).
                A firmware, service or config release rolls out a dataset file through a deploy step per stage:
                  aitip release create --project P --name fleet --version 2.4 --type firmware \
                    --artifact-dataset D --artifact-path images/fw-2.4.bin --deploy-webhook https://ota.example.com/aitip
                  aitip release create … --type config --artifact-dataset D --artifact-path app.yaml \
                    --deploy-command './apply.sh "$AITIP_ARTIFACT" "$AITIP_RELEASE_PERCENT"' --deploy-code ./deploy
                """)
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Release name.") var name: String
        @Option(help: "Release version.") var version: String
        @Option(help: "model (default), firmware, service or config.") var type: String?
        @Option(help: "Model releases: the stable inference service whose traffic the release moves.") var service: String?
        @Option(help: "Model releases: the canary of that service serving the release's model version.") var canary: String?
        @Option(help: "Other types: the dataset holding the artifact.") var artifactDataset: String?
        @Option(help: "Other types: the dataset version (default: the latest).") var artifactVersion: String?
        @Option(help: "Other types: the artifact's path in the version.") var artifactPath: String?
        @Option(help: "Other types: a URL each stage is POSTed to (signed with --deploy-secret).") var deployWebhook: String?
        @Option(help: "The deploy webhook's HMAC key.") var deploySecret: String?
        @Option(help: "Other types: a command each stage runs in the job sandbox, the artifact at $AITIP_ARTIFACT.") var deployCommand: String?
        @Option(help: "A directory packaged beside the artifact for --deploy-command.") var deployCode: String?
        @Option(help: "What changed.") var changelog: String?
        @Option(help: "canary (stages), blue-green (one switch) or rolling (the canary's replicas replace the stable's in waves).") var strategy:
            String?
        @Option(help: "Canary stages in percent, comma-separated, ending at 100 (default 5,20,50,100).") var stages: String?
        @Option(help: "Approvals needed (default 1; 0: none).") var approvals: Int?
        @Option(help: "A role whose members may approve (repeatable).") var approverRole: [String] = []
        @Option(help: "A user who may approve (repeatable).") var approver: [String] = []
        @Option(help: "An evaluation job whose gate must have passed.") var gateEvaluation: String?
        @Option(help: "A test execution that must have no failed case.") var gateTest: String?
        @Option(help: "A simulation run of the model version that must have passed.") var gateSimulation: String?
        @Option(help: "The simulation run's least safety score.") var minSafetyScore: Double?
        @Option(help: "Seconds per analysis interval (default 30).") var interval: Int?
        @Flag(help: "Wait at each passed stage for `aitip release promote` instead of moving on.") var manualPromotion = false

        func run() async throws {
            let stageList = try stages.map { text in
                try text.split(separator: ",").map { part -> Int in
                    guard let value = Int(part.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--stages takes percentages: 5,20,50,100")
                    }
                    return value
                }
            }
            guard strategy == nil || Components.Schemas.ReleaseCreate.StrategyPayload(rawValue: strategy!) != nil else {
                throw ValidationError("--strategy is canary, blue-green or rolling")
            }
            guard Components.Schemas.ReleaseCreate.ReleaseTypePayload(rawValue: type ?? "model") != nil else {
                throw ValidationError("--type is model, firmware, service or config")
            }
            guard deployWebhook == nil || deployCommand == nil else { throw ValidationError("give --deploy-webhook or --deploy-command, not both") }
            try await runClient {
                let client = try APIClient(server: options.server)
                let api = client.api
                let code = try await deployCode.asyncMap { try await CodePackage.upload($0, project: project, client: client) }
                let roles = approverRole.compactMap { Components.Schemas.ReleaseApprovalPolicy.RolesPayloadPayload(rawValue: $0) }
                let policy =
                    approvals == nil && approverRole.isEmpty && approver.isEmpty
                    ? nil
                    : Components.Schemas.ReleaseApprovalPolicy(
                        required: approvals, roles: roles.isEmpty ? nil : roles, users: approver.isEmpty ? nil : approver)
                let gates =
                    gateEvaluation == nil && gateTest == nil && gateSimulation == nil
                    ? nil
                    : Components.Schemas.ReleaseGates(
                        evaluationJobId: gateEvaluation, testExecutionId: gateTest, simulationRunId: gateSimulation, minSafetyScore: minSafetyScore)
                let analysis =
                    interval == nil && !manualPromotion
                    ? nil : Components.Schemas.ReleaseAnalysis(intervalSeconds: interval, autoPromote: manualPromotion ? false : nil)
                let artifact = artifactDataset.map {
                    Components.Schemas.ReleaseArtifactChoice(datasetId: $0, version: artifactVersion, path: artifactPath ?? "")
                }
                let target: Components.Schemas.ReleaseDeployTarget? =
                    if let deployWebhook {
                        .init(_type: .webhook, url: deployWebhook, secret: deploySecret)
                    } else if let deployCommand {
                        .init(_type: .workload, command: deployCommand, codeArchive: code)
                    } else { nil }
                let body = Components.Schemas.ReleaseCreate(
                    projectId: project, name: name, version: version, changelog: changelog, releaseType: type.flatMap { .init(rawValue: $0) },
                    strategy: strategy.flatMap { .init(rawValue: $0) }, serviceId: service, canaryServiceId: canary, artifact: artifact,
                    deployTarget: target, canaryStages: stageList, approvalPolicy: policy, gates: gates, analysis: analysis)
                let created = try await api.createRelease(body: .json(body)).created.body.json
                try Output.show(created, format: options.output, columns: ReleaseCommand.columns)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a release with its timeline, approvals and gates.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Release id.") var id: String
        func run() async throws {
            try await ClientCall.show(options) { api in try await api.getRelease(path: .init(releaseId: id)).ok.body.json }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a release: its changelog, or its canary (a new model version; while rolling out, the analysis restarts).",
            discussion: """
                Example: aitip release update R --canary C5 --gate-evaluation EVAL5
                A new canary must be a canary of the service with 0 % of the traffic. During a rollout its gates are read
                first; the old canary goes to 0 % and the new one starts at the first stage, or the release waits for
                its approvals again when it needs them (docs/releases.md).
                """)
        @OptionGroup var options: ClientOptions
        @Argument(help: "Release id.") var id: String
        @Option(help: "Another canary of the service, serving the new model version.") var canary: String?
        @Option(help: "An evaluation job of the new version whose gate must have passed.") var gateEvaluation: String?
        @Option(help: "What changed.") var changelog: String?
        func run() async throws {
            try await ClientCall.show(options, columns: ReleaseCommand.columns) { api in
                let gates = gateEvaluation.map { Components.Schemas.ReleaseGates(evaluationJobId: $0) }
                let body = Components.Schemas.ReleaseUpdate(canaryServiceId: canary, changelog: changelog, gates: gates)
                return try await api.updateRelease(path: .init(releaseId: id), body: .json(body)).ok.body.json
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a release (or reject it with --reject).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Release id.") var id: String
        @Option(help: "Why.") var comment: String?
        @Flag(help: "Reject it instead.") var reject = false
        func run() async throws {
            try await ClientCall.show(options, columns: ReleaseCommand.columns) { api in
                try await api.approveRelease(path: .init(releaseId: id), body: .json(.init(approve: !reject, comment: comment))).ok.body.json
            }
        }
    }

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the rollout (or resume a paused one); with --wait, follow it (exit status 5 unless it reaches production).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Release id.") var id: String
        @Flag(help: "Follow the rollout until production, a rollback or a pause.") var wait = false
        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                var release = try await client.api.deployRelease(path: .init(releaseId: id)).ok.body.json
                var shown = ""
                while wait, release.status == .canary {
                    let line = "stage \(release.currentStage) of \(release.canaryStages.count): \(release.statusReason)\n"
                    if line != shown { FileHandle.standardError.write(Data(line.utf8)) }
                    shown = line
                    try await Task.sleep(for: .seconds(1))
                    release = try await client.api.getRelease(path: .init(releaseId: id)).ok.body.json
                }
                try Output.show(release, format: options.output, columns: ReleaseCommand.columns)
                if wait, release.status != .production { throw ExitCode(5) }
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move the rollout to its next stage now (production after the last).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Release id.") var id: String
        func run() async throws {
            try await ClientCall.show(options, columns: ReleaseCommand.columns) { api in
                try await api.promoteRelease(path: .init(releaseId: id)).ok.body.json
            }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Return all traffic to the versions that served before the rollout.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Release id.") var id: String
        @Option(help: "Why.") var reason: String?
        func run() async throws {
            try await ClientCall.show(options, columns: ReleaseCommand.columns) { api in
                try await api.rollbackRelease(path: .init(releaseId: id), body: .json(.init(reason: reason))).ok.body.json
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a release that is not rolling out.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "Release id.") var id: String
        func run() async throws {
            try await ClientCall.perform(options, done: "Deleted release \(id).") { api in
                _ = try await api.deleteRelease(path: .init(releaseId: id)).noContent
            }
        }
    }
}
