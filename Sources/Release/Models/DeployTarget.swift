import Foundation

/// What a firmware, service or config release rolls out: one file of a dataset version (pushed like any dataset file:
/// resumable, checked, on disk or S3), pinned by its checksum when the release is created.
package struct ReleaseArtifact: Sendable, Codable, Equatable {
    package var datasetId: UUID
    package var datasetName: String
    package var version: String
    package var versionId: UUID
    package var path: String
    package var sha256: String
    package var sizeBytes: Int64

    enum CodingKeys: String, CodingKey {
        case version, path, sha256
        case datasetId = "dataset_id"
        case datasetName = "dataset_name"
        case versionId = "version_id"
        case sizeBytes = "size_bytes"
    }
}

/// How a firmware, service or config release reaches its fleet: at each stage aitip tells the target to put the
/// artifact on `percent` % of it, and once more to undo it when the release is rolled back.
///
/// - `webhook`: a signed POST (as project webhooks are signed) to `url`; a 2xx answer means the stage is in place; no
///   answer, 408, 429 or 5xx is tried again (up to `DeployTarget.maxAttempts`), any other answer fails the stage.
/// - `workload`: `command` runs in the job sandbox with the artifact at `artifact/<file name>` beside the code package
///   `code_archive` (optional); exit 0 means the stage is in place.
package struct DeployTarget: Sendable, Codable, Equatable {
    package enum Kind: String, Sendable, Codable { case webhook, workload }

    package var type: Kind
    package var url: String?
    /// The HMAC key of the webhook's signature; never returned by the API.
    package var secret: String?
    package var command: String?
    package var codeArchive: String?
    package var cpu: Double?
    package var memoryMiB: Int?
    package var timeoutSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case type, url, secret, command, cpu
        case codeArchive = "code_archive"
        case memoryMiB = "memory_mib"
        case timeoutSeconds = "timeout_seconds"
    }

    package init(
        type: Kind, url: String? = nil, secret: String? = nil, command: String? = nil, codeArchive: String? = nil, cpu: Double? = nil,
        memoryMiB: Int? = nil, timeoutSeconds: Int? = nil
    ) {
        self.type = type
        self.url = url
        self.secret = secret
        self.command = command
        self.codeArchive = codeArchive
        self.cpu = cpu
        self.memoryMiB = memoryMiB
        self.timeoutSeconds = timeoutSeconds
    }

    /// Tries of a webhook stage before the release is rolled back.
    package static let maxAttempts = 5
}
