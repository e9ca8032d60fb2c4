import AITIPCore
import Foundation

/// A dataset: a named, versioned collection of files in a project. Its `version`, size, rows, checksum and schema
/// are those of its latest version (design §3 datasets).
package struct Dataset: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var ownerId: UUID?
    package var name: String
    package var description: String
    package var format: DatasetFormat
    /// The latest version's name; nil until the first version exists.
    package var version: String?
    package var storagePath: String
    package var schemaJSON: String?
    package var sizeBytes: Int64
    package var numRows: Int64?
    package var checksum: String?
    package var tagsJSON: String
    package var metadataJSON: String
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, description, format, version, checksum
        case orgId = "org_id", projectId = "project_id", ownerId = "owner_id", storagePath = "storage_path"
        case schemaJSON = "schema", sizeBytes = "size_bytes", numRows = "num_rows", tagsJSON = "tags", metadataJSON = "metadata"
        case createdMs = "created_ms", updatedMs = "updated_ms"
    }

    package var tags: [String] { (try? JSONDecoder().decode([String].self, from: Data(tagsJSON.utf8))) ?? [] }
}

/// What a dataset's files are. csv and jsonl files get a schema and statistics; the others are recorded with
/// format, size and checksum.
package enum DatasetFormat: String, Sendable, Codable, CaseIterable {
    case csv, jsonl, json, parquet, tfrecord, arrow, images, audio, video, text, mixed
}

/// An immutable manifest of files (design §3 dataset_versions).
package struct DatasetVersion: Sendable, Codable, Equatable {
    package var id: UUID
    package var datasetId: UUID
    package var version: String
    /// Where the manifest is stored (`s3://bucket/datasets/…/manifest.json` or a file URL).
    package var storagePath: String
    package var changes: String
    package var parentId: UUID?
    package var fileCount: Int
    package var sizeBytes: Int64
    package var numRows: Int64?
    /// sha256 of the manifest text (`Manifest.text`): equal checksums mean equal contents.
    package var checksum: String
    /// Schema and column statistics of its csv/jsonl files (`DataProfile`), as JSON.
    package var schemaJSON: String?
    package var createdBy: UUID?
    package var createdMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, version, changes, checksum
        case datasetId = "dataset_id", storagePath = "storage_path", parentId = "parent_id", fileCount = "file_count"
        case sizeBytes = "size_bytes", numRows = "num_rows", schemaJSON = "schema", createdBy = "created_by", createdMs = "created_ms"
    }
}

package struct DatasetFile: Sendable, Codable, Equatable, Hashable {
    package var path: String
    package var sizeBytes: Int64
    package var sha256: String

    package init(path: String, sizeBytes: Int64, sha256: String) {
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
package struct UploadSession: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var datasetId: UUID
    package var sha256: String
    package var sizeBytes: Int64
    package var receivedBytes: Int64
    package var path: String?
    package var status: Status
    package var error: String?
    package var createdBy: UUID?
    package var createdMs: Int64
    package var expiresMs: Int64

    package enum Status: String, Sendable, Codable {
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
package enum LineageKind: String, Sendable, Codable, CaseIterable {
    case datasetVersion = "dataset_version", trainingJob = "training_job", modelVersion = "model_version"
    case evaluation, simulation, release, inferenceService = "inference_service"
}

package struct LineageEdge: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var sourceKind: LineageKind
    package var sourceId: UUID
    package var targetKind: LineageKind
    package var targetId: UUID
    /// derived_from, annotated, trained_on, produced, evaluated, …
    package var relation: String
    /// What turned the source into the target (a script, a command, parameters), as JSON.
    package var transformationJSON: String?
    package var createdBy: UUID?
    package var createdMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, relation
        case orgId = "org_id", sourceKind = "source_kind", sourceId = "source_id", targetKind = "target_kind", targetId = "target_id"
        case transformationJSON = "transformation", createdBy = "created_by", createdMs = "created_ms"
    }
}

/// An annotation task (design §3 data_annotations) on a dataset, optionally on one item of one version.
package struct Annotation: Sendable, Codable, Equatable {
    package var id: UUID
    package var datasetId: UUID
    package var versionId: UUID?
    package var item: String?
    package var taskType: String
    package var status: Status
    package var assigneeId: UUID?
    package var annotationsJSON: String?
    package var createdBy: UUID?
    package var createdMs: Int64
    package var updatedMs: Int64
    package var completedMs: Int64?

    package enum Status: String, Sendable, Codable, CaseIterable {
        case pending, inProgress = "in_progress", completed
    }

    enum CodingKeys: String, CodingKey {
        case id, item, status
        case datasetId = "dataset_id", versionId = "version_id", taskType = "task_type", assigneeId = "assignee_id"
        case annotationsJSON = "annotations", createdBy = "created_by", createdMs = "created_ms", updatedMs = "updated_ms"
        case completedMs = "completed_ms"
    }
}
