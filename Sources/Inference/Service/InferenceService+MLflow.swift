import AITIPCore
import Foundation
import Tracking

/// The `mlflow` runtime's settings: which Python serves the model (it needs `mlflow` and `uvicorn`, as
/// `mlflow models serve` does), its environment, and how long loading may take. The command, code package and
/// health path are aitip's: what a replica runs is resolved at create time and shown in `runtime_config`.
struct MLflowRuntime: Decodable {
    var python: String
    var env: [String: String]
    var startupTimeoutSeconds: Int

    enum CodingKeys: String, CodingKey {
        case python, env, command
        case startupTimeoutSeconds = "startup_timeout_seconds"
        case codeArchive = "code_archive"
        case healthPath = "health_path"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for key in [CodingKeys.command, .codeArchive, .healthPath] where container.contains(key) {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "set by the mlflow runtime")
        }
        python = try container.decodeIfPresent(String.self, forKey: .python) ?? "python3"
        env = try container.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        startupTimeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .startupTimeoutSeconds) ?? 300
    }
}

extension InferenceService {
    /// What a replica of an `mlflow` service runs: the version's files (they must be an MLflow model, with its
    /// `MLmodel`) packed with the server script as its code package.
    func mlflowProcess(for version: ModelVersionDetail, config: MLflowRuntime, orgId: UUID) async throws -> ProcessRuntime {
        let archive = try await workloads.packCode(
            objectsUnder: [(try version.artifactPrefix(field: "model"), MLflowScoringServer.modelFolder)],
            extra: [MLflowScoringServer.script: Data(MLflowScoringServer.source.utf8)], org: orgId
        ) { _, files in try version.requireMLflowModel(files, field: "model", otherwise: "serve it with the process runtime") }
        return ProcessRuntime(
            command: "exec \(config.python) \(MLflowScoringServer.script)", healthPath: "/ping", env: config.env, codeArchive: archive.sha256,
            startupTimeoutSeconds: config.startupTimeoutSeconds)
    }
}
