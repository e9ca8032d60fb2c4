import AITIPCore
import Foundation

/// A dataset: a named, versioned collection of files in a project. Its `version`, size, rows, checksum and schema
/// are those of its latest version (design §3 datasets).
public struct Dataset: Sendable, Codable, Equatable {
    public var id: UUID
    public var orgId: UUID
    public var projectId: UUID
    public var ownerId: UUID?
    public var name: String
    public var description: String
    public var format: DatasetFormat
    /// The latest version's name; nil until the first version exists.
    public var version: String?
    public var storagePath: String
    public var schemaJSON: String?
    public var sizeBytes: Int64
    public var numRows: Int64?
    public var checksum: String?
    public var tagsJSON: String
    public var metadataJSON: String
    public var createdMs: Int64
    public var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, description, format, version, checksum
        case orgId = "org_id", projectId = "project_id", ownerId = "owner_id", storagePath = "storage_path"
        case schemaJSON = "schema", sizeBytes = "size_bytes", numRows = "num_rows", tagsJSON = "tags", metadataJSON = "metadata"
        case createdMs = "created_ms", updatedMs = "updated_ms"
    }

    public var tags: [String] { (try? JSONDecoder().decode([String].self, from: Data(tagsJSON.utf8))) ?? [] }
}

/// What a dataset's files are. csv and jsonl files get a schema and statistics; the others are recorded with
/// format, size and checksum.
public enum DatasetFormat: String, Sendable, Codable, CaseIterable {
    case csv, jsonl, json, parquet, tfrecord, arrow, images, audio, video, text, mixed
}

/// An immutable manifest of files (design §3 dataset_versions).
public struct DatasetVersion: Sendable, Codable, Equatable {
    public var id: UUID
    public var datasetId: UUID
    public var version: String
    /// Where the manifest is stored (`s3://bucket/datasets/…/manifest.json` or a file URL).
    public var storagePath: String
    public var changes: String
    public var parentId: UUID?
    public var fileCount: Int
    public var sizeBytes: Int64
    public var numRows: Int64?
    /// sha256 of the manifest text (`Manifest.text`): equal checksums mean equal contents.
    public var checksum: String
    /// Schema and column statistics of its csv/jsonl files (`DataProfile`), as JSON.
    public var schemaJSON: String?
    public var createdBy: UUID?
    public var createdMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, version, changes, checksum
        case datasetId = "dataset_id", storagePath = "storage_path", parentId = "parent_id", fileCount = "file_count"
        case sizeBytes = "size_bytes", numRows = "num_rows", schemaJSON = "schema", createdBy = "created_by", createdMs = "created_ms"
    }
}

public struct DatasetFile: Sendable, Codable, Equatable, Hashable {
    public var path: String
    public var sizeBytes: Int64
    public var sha256: String

    public init(path: String, sizeBytes: Int64, sha256: String) {
        self.path = path
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
    }

    enum CodingKeys: String, CodingKey {
        case path, sha256
        case sizeBytes = "size_bytes"
    }
}

struct ManifestRow: Sendable, Codable {
    var versionId: UUID
    var path: String
    var sizeBytes: Int64
    var sha256: String

    enum CodingKeys: String, CodingKey {
        case path, sha256
        case versionId = "version_id", sizeBytes = "size_bytes"
    }
}

struct Blob: Sendable, Codable {
    var orgId: UUID
    var sha256: String
    var projectId: UUID
    var sizeBytes: Int64
    var profileJSON: String?
    var createdMs: Int64

    enum CodingKeys: String, CodingKey {
        case sha256
        case orgId = "org_id", projectId = "project_id", sizeBytes = "size_bytes", profileJSON = "profile", createdMs = "created_ms"
    }
}

/// A resumable upload of one file body: bytes are appended at `receivedBytes` until `sizeBytes`, then the sha256
/// is checked and the body becomes a content-addressed blob.
public struct UploadSession: Sendable, Codable, Equatable {
    public var id: UUID
    public var orgId: UUID
    public var projectId: UUID
    public var datasetId: UUID
    public var sha256: String
    public var sizeBytes: Int64
    public var receivedBytes: Int64
    public var path: String?
    public var status: Status
    public var error: String?
    public var createdBy: UUID?
    public var createdMs: Int64
    public var expiresMs: Int64

    public enum Status: String, Sendable, Codable {
        /// Waiting for bytes.
        case open
        /// The blob is stored (uploaded now, or already there: nothing had to be sent).
        case complete
        /// The checksum did not match or the quota was exceeded; the bytes were discarded.
        case failed
    }

    enum CodingKeys: String, CodingKey {
        case id, sha256, path, status, error
        case orgId = "org_id", projectId = "project_id", datasetId = "dataset_id", sizeBytes = "size_bytes"
        case receivedBytes = "received_bytes", createdBy = "created_by", createdMs = "created_ms", expiresMs = "expires_ms"
    }
}

/// A node of the lineage graph: anything that consumes or produces data.
public enum LineageKind: String, Sendable, Codable, CaseIterable {
    case datasetVersion = "dataset_version", trainingJob = "training_job", modelVersion = "model_version"
    case evaluation, simulation, release, inferenceService = "inference_service"
}

public struct LineageEdge: Sendable, Codable, Equatable {
    public var id: UUID
    public var orgId: UUID
    public var sourceKind: LineageKind
    public var sourceId: UUID
    public var targetKind: LineageKind
    public var targetId: UUID
    /// derived_from, annotated, trained_on, produced, evaluated, …
    public var relation: String
    /// What turned the source into the target (a script, a command, parameters), as JSON.
    public var transformationJSON: String?
    public var createdBy: UUID?
    public var createdMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, relation
        case orgId = "org_id", sourceKind = "source_kind", sourceId = "source_id", targetKind = "target_kind", targetId = "target_id"
        case transformationJSON = "transformation", createdBy = "created_by", createdMs = "created_ms"
    }
}

/// An annotation task (design §3 data_annotations) on a dataset, optionally on one item of one version.
public struct Annotation: Sendable, Codable, Equatable {
    public var id: UUID
    public var datasetId: UUID
    public var versionId: UUID?
    public var item: String?
    public var taskType: String
    public var status: Status
    public var assigneeId: UUID?
    public var annotationsJSON: String?
    public var createdBy: UUID?
    public var createdMs: Int64
    public var updatedMs: Int64
    public var completedMs: Int64?

    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, inProgress = "in_progress", completed
    }

    enum CodingKeys: String, CodingKey {
        case id, item, status
        case datasetId = "dataset_id", versionId = "version_id", taskType = "task_type", assigneeId = "assignee_id"
        case annotationsJSON = "annotations", createdBy = "created_by", createdMs = "created_ms", updatedMs = "updated_ms"
        case completedMs = "completed_ms"
    }
}
