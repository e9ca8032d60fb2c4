import AITIPCore
import Foundation
import SQLKit
import Storage

/// SQL for datasets, their versions, the versions' file lists and the organization's file bodies (blobs). Callers
/// authorize first; everything here trusts its arguments.
enum DatasetStore {
    // MARK: datasets

    static func dataset(_ id: UUID, on sql: any SQLDatabase) async throws -> Dataset? {
        try await sql.select().column("*").from("datasets").where("id", .equal, id).first(decoding: Dataset.self)
    }

    static func insert(_ dataset: Dataset, on sql: any SQLDatabase) async throws {
        try await sql.insert(dataset, into: "datasets")
    }

    static func update(_ dataset: Dataset, on sql: any SQLDatabase) async throws {
        try await sql.updateRow(dataset, in: "datasets", id: dataset.id)
    }

    /// Newest first (ids are UUIDv7). `search` and `tag` match literally: the name contains `search` in any case, and
    /// the tags hold `tag` as a whole (tags are stored as `DatasetService.json` writes them).
    static func datasets(project: UUID, search: String?, tag: String?, page: PageRequest, on sql: any SQLDatabase) async throws -> Page<Dataset> {
        let select = sql.select().column("*").from("datasets").where("project_id", .equal, project)
        if let after = page.after { select.where("id", .lessThan, after) }
        if let search {
            select.where("LOWER(name) LIKE \(bind: "%\(escapeLike(search.lowercased()))%") ESCAPE '!'" as SQLQueryString)
        }
        if let tag {
            select.where("tags LIKE \(bind: "%\(escapeLike(DatasetService.json([tag]).dropFirst().dropLast()))%") ESCAPE '!'" as SQLQueryString)
        }
        let rows = try await select.orderBy("id", .descending).limit(page.limit + 1).all(decoding: Dataset.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    /// Versions, their file lists, annotations and uploads go with it (ON DELETE CASCADE); lineage edges do not.
    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "datasets").where("id", .equal, id).run()
    }

    /// The dataset row repeats its latest version's name, size, rows, checksum and schema, so lists need no join.
    static func setLatest(_ version: DatasetVersion, of dataset: UUID, updatedMs: Int64, on sql: any SQLDatabase) async throws {
        try await sql.update("datasets").set("version", to: version.version).set("size_bytes", to: version.sizeBytes)
            .set("num_rows", to: version.numRows).set("checksum", to: version.checksum).set("schema", to: version.schemaJSON)
            .set("updated_ms", to: updatedMs).where("id", .equal, dataset).run()
    }

    /// For `LIKE … ESCAPE '!'`: the user's text matches literally.
    private static func escapeLike<S: StringProtocol>(_ text: S) -> String {
        String(text).replacingOccurrences(of: "!", with: "!!").replacingOccurrences(of: "%", with: "!%").replacingOccurrences(of: "_", with: "!_")
    }

    // MARK: versions

    static func version(named name: String, of dataset: UUID, on sql: any SQLDatabase) async throws -> DatasetVersion? {
        try await sql.select().column("*").from("dataset_versions").where("dataset_id", .equal, dataset).where("version", .equal, name)
            .first(decoding: DatasetVersion.self)
    }

    static func versionExists(named name: String, of dataset: UUID, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("id").from("dataset_versions").where("dataset_id", .equal, dataset).where("version", .equal, name)
            .first() != nil
    }

    static func versionIds(of dataset: UUID, on sql: any SQLDatabase) async throws -> [UUID] {
        try await sql.select().column("id").from("dataset_versions").where("dataset_id", .equal, dataset).all().map { try $0.uuid("id") }
    }

    static func versionNames(of dataset: UUID, on sql: any SQLDatabase) async throws -> [UUID: String] {
        var names: [UUID: String] = [:]
        for row in try await sql.select().columns("id", "version").from("dataset_versions").where("dataset_id", .equal, dataset).all() {
            names[try row.uuid("id")] = try row.decode(column: "version", as: String.self)
        }
        return names
    }

    /// Newest first.
    static func versions(of dataset: UUID, page: PageRequest, on sql: any SQLDatabase) async throws -> Page<DatasetVersion> {
        let select = sql.select().column("*").from("dataset_versions").where("dataset_id", .equal, dataset)
        if let after = page.after { select.where("id", .lessThan, after) }
        let rows = try await select.orderBy("id", .descending).limit(page.limit + 1).all(decoding: DatasetVersion.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    static func insert(_ version: DatasetVersion, on sql: any SQLDatabase) async throws {
        try await sql.insert(version, into: "dataset_versions")
    }

    // MARK: files

    /// In path order; only the file at `path` when given.
    static func files(of version: UUID, path: String? = nil, on sql: any SQLDatabase) async throws -> [DatasetFile] {
        let select = sql.select().columns("path", "size_bytes", "sha256").from("dataset_files").where("version_id", .equal, version)
        if let path { select.where("path", .equal, path) }
        return try await select.orderBy("path").all(decoding: DatasetFile.self)
    }

    /// At most `limit` files in path order, those under `prefix` (plain text, not a pattern) after the path `after`.
    static func files(of version: UUID, prefix: String?, after: String?, limit: Int, on sql: any SQLDatabase) async throws -> [DatasetFile] {
        let select = sql.select().columns("path", "size_bytes", "sha256").from("dataset_files").where("version_id", .equal, version)
        if let prefix, !prefix.isEmpty {
            select.where(
                SQLFunction("SUBSTR", args: SQLColumn("path"), SQLLiteral.numeric("1"), SQLLiteral.numeric(String(prefix.count))), .equal,
                SQLBind(prefix))
        }
        if let after { select.where("path", .greaterThan, after) }
        return try await select.orderBy("path").limit(limit).all(decoding: DatasetFile.self)
    }

    static func fileExists(_ path: String, in version: UUID, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("path").from("dataset_files").where("version_id", .equal, version).where("path", .equal, path).first()
            != nil
    }

    /// 500 rows a statement, under the databases' limits on bound values.
    static func insertFiles(_ files: [DatasetFile], version: UUID, on sql: any SQLDatabase) async throws {
        for chunk in files.chunked(500) {
            try await sql.insert(into: "dataset_files")
                .models(chunk.map { ManifestRow(versionId: version, path: $0.path, sizeBytes: $0.sizeBytes, sha256: $0.sha256) }).run()
        }
    }

    /// The bodies every version of the dataset lists: after a delete, the candidates for collection.
    static func fileHashes(ofDataset id: UUID, on sql: any SQLDatabase) async throws -> [String] {
        try await sql.select().distinct().column("sha256").from("dataset_files")
            .join("dataset_versions", on: "dataset_versions.id = dataset_files.version_id")
            .where(SQLColumn("dataset_id", table: "dataset_versions"), .equal, SQLBind(id)).all().map {
                try $0.decode(column: "sha256", as: String.self)
            }
    }

    // MARK: blobs

    /// The organization's bodies among `hashes`, by hash; 500 a statement.
    static func blobs(orgId: UUID, hashes: [String], on sql: any SQLDatabase) async throws -> [String: Blob] {
        var result: [String: Blob] = [:]
        for chunk in hashes.chunked(500) {
            for blob in try await sql.select().column("*").from("dataset_blobs").where("org_id", .equal, orgId).where("sha256", .in, chunk)
                .all(decoding: Blob.self)
            { result[blob.sha256] = blob }
        }
        return result
    }

    static func insert(_ blob: Blob, on sql: any SQLDatabase) async throws {
        try await sql.insert(blob, into: "dataset_blobs")
    }

    /// Those of `hashes` that some version of the organization still lists (any dataset: bodies are shared).
    static func referencedHashes(orgId: UUID, among hashes: [String], on sql: any SQLDatabase) async throws -> [String] {
        try await sql.select().distinct().column(SQLColumn("sha256", table: "dataset_files")).from("dataset_files")
            .join("dataset_versions", on: "dataset_versions.id = dataset_files.version_id")
            .join("datasets", on: "datasets.id = dataset_versions.dataset_id")
            .where(SQLColumn("org_id", table: "datasets"), .equal, SQLBind(orgId)).where(
                SQLColumn("sha256", table: "dataset_files"), .in, SQLBind.group(hashes)
            ).all()
            .map { try $0.decode(column: "sha256", as: String.self) }
    }

    static func deleteBlobs(_ hashes: [String], orgId: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "dataset_blobs").where("org_id", .equal, orgId).where("sha256", .in, hashes).run()
    }
}
