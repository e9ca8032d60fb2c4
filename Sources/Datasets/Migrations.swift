import Storage

/// Datasets (design §3 datasets, dataset_versions, data_annotations) plus what content addressing, resumable
/// uploads and the lineage graph need: version manifests, content-addressed blobs, upload sessions and typed edges.
package enum DatasetMigrations {
    package static let all: [Migration] = [
        Migration(18, "create_datasets") { t in
            [
                """
                CREATE TABLE datasets (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    owner_id \(t.uuid) REFERENCES users(id) ON DELETE SET NULL,
                    name \(t.text) NOT NULL,
                    description \(t.text) NOT NULL DEFAULT '',
                    format \(t.text) NOT NULL,
                    version \(t.text),
                    storage_path \(t.text) NOT NULL,
                    schema \(t.json),
                    size_bytes \(t.bigint) NOT NULL DEFAULT 0,
                    num_rows \(t.bigint),
                    checksum \(t.text),
                    tags \(t.json) NOT NULL DEFAULT '[]',
                    metadata \(t.json) NOT NULL DEFAULT '{}',
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    UNIQUE (project_id, name)
                )
                """,
                """
                CREATE TABLE dataset_versions (
                    id \(t.uuid) PRIMARY KEY,
                    dataset_id \(t.uuid) NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    version \(t.text) NOT NULL,
                    storage_path \(t.text) NOT NULL,
                    changes \(t.text) NOT NULL DEFAULT '',
                    parent_id \(t.uuid),
                    file_count \(t.integer) NOT NULL,
                    size_bytes \(t.bigint) NOT NULL,
                    num_rows \(t.bigint),
                    checksum \(t.text) NOT NULL,
                    schema \(t.json),
                    created_by \(t.uuid) REFERENCES users(id) ON DELETE SET NULL,
                    created_ms \(t.bigint) NOT NULL,
                    UNIQUE (dataset_id, version)
                )
                """,
                // The manifest: one row per file of a version. Rows are never updated: a version is immutable.
                """
                CREATE TABLE dataset_files (
                    version_id \(t.uuid) NOT NULL REFERENCES dataset_versions(id) ON DELETE CASCADE,
                    path \(t.text) NOT NULL,
                    size_bytes \(t.bigint) NOT NULL,
                    sha256 \(t.text) NOT NULL,
                    PRIMARY KEY (version_id, path)
                )
                """,
                "CREATE INDEX dataset_files_sha256 ON dataset_files (sha256)",
                // Content-addressed file bodies, one per organization and sha256 (never shared across tenants, so no
                // one learns whether another organization holds a file). project_id: who stored it first (quota).
                """
                CREATE TABLE dataset_blobs (
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    sha256 \(t.text) NOT NULL,
                    project_id \(t.uuid) NOT NULL,
                    size_bytes \(t.bigint) NOT NULL,
                    profile \(t.json),
                    created_ms \(t.bigint) NOT NULL,
                    PRIMARY KEY (org_id, sha256)
                )
                """,
                """
                CREATE TABLE dataset_uploads (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    project_id \(t.uuid) NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
                    dataset_id \(t.uuid) NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    sha256 \(t.text) NOT NULL,
                    size_bytes \(t.bigint) NOT NULL,
                    received_bytes \(t.bigint) NOT NULL,
                    path \(t.text),
                    status \(t.text) NOT NULL,
                    error \(t.text),
                    created_by \(t.uuid),
                    created_ms \(t.bigint) NOT NULL,
                    expires_ms \(t.bigint) NOT NULL
                )
                """,
                "CREATE INDEX dataset_uploads_content ON dataset_uploads (org_id, sha256, status)",
                // Typed edges from what was used to what it produced (dataset_version → training_job → model_version, …).
                """
                CREATE TABLE lineage_edges (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid) NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
                    source_kind \(t.text) NOT NULL,
                    source_id \(t.uuid) NOT NULL,
                    target_kind \(t.text) NOT NULL,
                    target_id \(t.uuid) NOT NULL,
                    relation \(t.text) NOT NULL,
                    transformation \(t.json),
                    created_by \(t.uuid),
                    created_ms \(t.bigint) NOT NULL,
                    UNIQUE (source_kind, source_id, target_kind, target_id, relation)
                )
                """,
                "CREATE INDEX lineage_edges_target ON lineage_edges (target_kind, target_id)",
                """
                CREATE TABLE data_annotations (
                    id \(t.uuid) PRIMARY KEY,
                    dataset_id \(t.uuid) NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    version_id \(t.uuid) REFERENCES dataset_versions(id) ON DELETE SET NULL,
                    item \(t.text),
                    task_type \(t.text) NOT NULL,
                    status \(t.text) NOT NULL DEFAULT 'pending',
                    assignee_id \(t.uuid) REFERENCES users(id) ON DELETE SET NULL,
                    annotations \(t.json),
                    created_by \(t.uuid),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    completed_ms \(t.bigint)
                )
                """,
                "CREATE INDEX data_annotations_dataset ON data_annotations (dataset_id, status)",
            ]
        }
    ]
}
