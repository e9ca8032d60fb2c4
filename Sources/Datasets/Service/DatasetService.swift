import AITIPCore
import Foundation
import Identity
import ObjectStore
import SQLKit
import Storage

/// Datasets, their immutable versions and files, downloads, and (in the extensions) uploads, lineage and
/// annotations. Every method checks the caller's permission in the dataset's project and audits what it changes.
package struct DatasetService: Sendable {
    package struct Configuration: Sendable {
        /// Server-local directory for upload bodies in progress (`<data dir>/uploads`).
        package var uploadDirectory: String
        /// An upload nobody finished is discarded after this long.
        package var uploadLifetimeSeconds: Int64
        /// The largest single file accepted.
        package var maxFileBytes: Int64
        /// The storage limits of a project, in GB (`max_storage_gb` of its organization and its own quota, which
        /// Workloads keeps); nil: no limits.
        package var storageLimitsGB: (@Sendable (_ org: UUID, _ project: UUID) async throws -> (org: Int?, project: Int?))?
        /// Other modules' lineage nodes (training jobs, model versions), wired in by App.
        package var lineageSources: [LineageNodeSource]

        package init(
            uploadDirectory: String, uploadLifetimeSeconds: Int64 = 7 * 86_400, maxFileBytes: Int64 = 1 << 40,
            storageLimitsGB: (@Sendable (UUID, UUID) async throws -> (org: Int?, project: Int?))? = nil,
            lineageSources: [LineageNodeSource] = []
        ) {
            self.uploadDirectory = uploadDirectory
            self.uploadLifetimeSeconds = uploadLifetimeSeconds
            self.maxFileBytes = maxFileBytes
            self.storageLimitsGB = storageLimitsGB
            self.lineageSources = lineageSources
        }
    }

    let database: Database
    let projects: ProjectScopes
    package let store: any ObjectStore
    let audit: AuditLog
    let clock: any Clock
    package let configuration: Configuration
    let writers = UploadWriters()

    package init(database: Database, store: any ObjectStore, audit: AuditLog, clock: any Clock, configuration: Configuration) throws {
        self.database = database
        self.store = store
        self.audit = audit
        self.clock = clock
        self.configuration = configuration
        projects = ProjectScopes(database: database)
        try FileManager.default.createDirectory(atPath: configuration.uploadDirectory, withIntermediateDirectories: true)
    }

    var nowMs: Int64 { clock.now().epochMilliseconds }

    // MARK: datasets

    package struct Input: Sendable {
        package var name: String?
        package var description: String?
        package var format: String?
        package var tags: [String]?
        /// A JSON object, as text.
        package var metadataJSON: String?

        package init(name: String? = nil, description: String? = nil, format: String? = nil, tags: [String]? = nil, metadataJSON: String? = nil) {
            self.name = name
            self.description = description
            self.format = format
            self.tags = tags
            self.metadataJSON = metadataJSON
        }
    }

    package func create(_ input: Input, project projectId: UUID, caller: Caller) async throws -> Dataset {
        let principal = try caller.requirePrincipal()
        let project = try await projects.scope(.id(projectId), permission: Permission(.data, .write), caller: caller)
        var validator = Validator()
        let name = validator.requireText(input.name, "name", maxLength: 255)
        validator.check(!name.unicodeScalars.contains { $0.value < 0x20 }, "name", "must not contain control characters")
        let format = Self.checkFormat(input.format, required: true, &validator)
        Self.checkTags(input.tags, &validator)
        Self.checkJSONObject(input.metadataJSON, "metadata", &validator)
        validator.check((input.description ?? "").count <= 10_000, "description", "must be at most 10000 characters")
        try validator.finish()
        let id = IDGenerator.uuidV7()
        let now = nowMs
        let dataset = Dataset(
            id: id, orgId: project.orgId, projectId: project.projectId, ownerId: principal.userId, name: name,
            description: input.description ?? "", format: format ?? .mixed, version: nil,
            storagePath: store.location(of: try Self.datasetPrefix(id)), schemaJSON: nil, sizeBytes: 0, numRows: nil,
            checksum: nil, tagsJSON: Self.json(input.tags ?? []), metadataJSON: input.metadataJSON ?? "{}",
            createdMs: now, updatedMs: now)
        do {
            try await database.transaction { sql in
                try await DatasetStore.insert(dataset, on: sql)
                try await audit.record(
                    on: sql, caller, orgId: project.orgId, action: "dataset.create", targetType: "dataset",
                    targetId: id.lowercasedString, detail: name)
            }
        } catch  where SQLErrors.isUniqueViolation(error) {
            throw AppError.conflict("A dataset named '\(name)' already exists in this project")
        }
        return dataset
    }

    package struct ListQuery: Sendable {
        package var page: PageRequest
        package var search: String?
        package var tag: String?

        package init(page: PageRequest, search: String? = nil, tag: String? = nil) {
            self.page = page
            self.search = search
            self.tag = tag
        }
    }

    /// Newest first.
    package func list(project projectId: UUID, _ query: ListQuery, caller: Caller) async throws -> Page<Dataset> {
        let project = try await projects.scope(.id(projectId), permission: Permission(.data, .read), caller: caller)
        let search = query.search?.trimmingCharacters(in: .whitespaces)
        return try await database.read { sql in
            try await DatasetStore.datasets(
                project: project.projectId, search: search?.isEmpty == false ? search : nil, tag: query.tag, page: query.page, on: sql)
        }
    }

    package func get(_ id: UUID, caller: Caller) async throws -> Dataset {
        try await dataset(id, permission: Permission(.data, .read), caller: caller)
    }

    package func update(_ id: UUID, _ input: Input, caller: Caller) async throws -> Dataset {
        var dataset = try await dataset(id, permission: Permission(.data, .write), caller: caller)
        var validator = Validator()
        if let name = input.name {
            dataset.name = validator.requireText(name, "name", maxLength: 255)
            validator.check(!name.unicodeScalars.contains { $0.value < 0x20 }, "name", "must not contain control characters")
        }
        if let format = Self.checkFormat(input.format, required: false, &validator) { dataset.format = format }
        Self.checkTags(input.tags, &validator)
        Self.checkJSONObject(input.metadataJSON, "metadata", &validator)
        if let description = input.description {
            validator.check(description.count <= 10_000, "description", "must be at most 10000 characters")
            dataset.description = description
        }
        try validator.finish()
        if let tags = input.tags { dataset.tagsJSON = Self.json(tags) }
        if let metadata = input.metadataJSON { dataset.metadataJSON = metadata }
        dataset.updatedMs = nowMs
        let updated = dataset
        do {
            try await database.transaction { sql in
                try await DatasetStore.update(updated, on: sql)
                try await audit.record(
                    on: sql, caller, orgId: updated.orgId, action: "dataset.update", targetType: "dataset",
                    targetId: id.lowercasedString)
            }
        } catch  where SQLErrors.isUniqueViolation(error) {
            throw AppError.conflict("A dataset named '\(updated.name)' already exists in this project")
        }
        return updated
    }

    /// Deletes the dataset with its versions, annotations, open uploads and lineage edges, then every file body
    /// no other dataset of the organization still uses.
    package func delete(_ id: UUID, caller: Caller) async throws {
        let dataset = try await dataset(id, permission: Permission(.data, .delete), caller: caller)
        let (hashes, uploads) = try await database.transaction { sql -> ([String], [UUID]) in
            let versionIds = try await DatasetStore.versionIds(of: id, on: sql)
            let hashes = try await DatasetStore.fileHashes(ofDataset: id, on: sql)
            let uploads = try await UploadStore.uploadIds(ofDataset: id, on: sql)
            try await LineageStore.deleteEdges(touching: versionIds, on: sql)
            try await DatasetStore.delete(id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: dataset.orgId, action: "dataset.delete", targetType: "dataset",
                targetId: id.lowercasedString, detail: dataset.name)
            return (hashes, uploads)
        }
        for upload in uploads { try? FileManager.default.removeItem(atPath: stagingPath(upload)) }
        try await collectGarbage(orgId: dataset.orgId, candidates: hashes)
    }

    /// Removes blobs among `candidates` that no version of the organization references any more.
    func collectGarbage(orgId: UUID, candidates: [String]) async throws {
        for chunk in candidates.chunked(500) {
            let unused = try await database.transaction { sql -> [String] in
                let used = try await DatasetStore.referencedHashes(orgId: orgId, among: chunk, on: sql)
                let unused = Array(Set(chunk).subtracting(used))
                if !unused.isEmpty { try await DatasetStore.deleteBlobs(unused, orgId: orgId, on: sql) }
                return unused
            }
            for hash in unused { try? await store.delete(try Self.blobKey(orgId: orgId, sha256: hash)) }
        }
    }

    // MARK: versions

    package struct VersionInput: Sendable {
        package var version: String
        package var changes: String
        /// Start from this version's files (then `remove`, then `files`); nil starts empty.
        package var base: String?
        package var files: [DatasetFile]
        package var remove: [String]
        package var derivedFrom: [Derivation]

        package init(
            version: String, changes: String = "", base: String? = nil, files: [DatasetFile], remove: [String] = [],
            derivedFrom: [Derivation] = []
        ) {
            self.version = version
            self.changes = changes
            self.base = base
            self.files = files
            self.remove = remove
            self.derivedFrom = derivedFrom
        }
    }

    /// An upstream dataset version this one was made from, and how.
    package struct Derivation: Sendable {
        package var versionId: UUID
        package var transformationJSON: String?

        package init(versionId: UUID, transformationJSON: String? = nil) {
            self.versionId = versionId
            self.transformationJSON = transformationJSON
        }
    }

    package func createVersion(_ datasetId: UUID, _ input: VersionInput, caller: Caller) async throws -> DatasetVersion {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .write), caller: caller)
        return try await createVersion(of: dataset, input, relation: "derived_from", caller: caller)
    }

    func createVersion(of dataset: Dataset, _ input: VersionInput, relation: String, caller: Caller) async throws -> DatasetVersion {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        validator.check(Manifest.isVersionName(input.version), "version", "must be 1-64 of letters, digits, '.', '_' and '-'")
        validator.check(input.changes.count <= 10_000, "changes", "must be at most 10000 characters")
        validator.check(input.files.count <= Manifest.maxFiles, "files", "must list at most \(Manifest.maxFiles) files")
        validator.check(input.base != nil || !input.files.isEmpty, "files", "must list at least one file (or give base_version)")
        validator.check(input.derivedFrom.count <= 100, "derived_from", "must list at most 100 versions")
        for (index, derivation) in input.derivedFrom.enumerated() {
            Self.checkJSONObject(derivation.transformationJSON, "derived_from[\(index)].transformation", &validator)
        }
        var seen = Set<String>()
        for file in input.files {
            do { try Manifest.checkPath(file.path) } catch { validator.add("files", error.detail); continue }
            if !seen.insert(file.path).inserted { validator.add("files", "'\(file.path)' is listed twice") }
            if !Manifest.isSHA256(file.sha256) { validator.add("files", "'\(file.path)': sha256 must be 64 lowercase hex digits") }
            if file.sizeBytes < 0 { validator.add("files", "'\(file.path)': size_bytes must not be negative") }
        }
        try validator.finish()
        let versionId = IDGenerator.uuidV7()
        let now = nowMs
        // The manifest object is written first and removed again if the version cannot be stored.
        let manifestKey = try ObjectKey("datasets/\(dataset.id.lowercasedString)/versions/\(versionId.lowercasedString)/manifest.json")
        let (files, parentId) = try await database.read { sql in
            try await resolveFiles(of: dataset, input, on: sql)
        }
        let manifest = try JSONEncoder.sorted.encode(ManifestDocument(datasetId: dataset.id.lowercasedString, version: input.version, files: files))
        try await store.put(manifestKey, data: manifest)
        do {
            return try await database.transaction { sql in
                let blobs = try await DatasetStore.blobs(orgId: dataset.orgId, hashes: Array(Set(files.map(\.sha256))), on: sql)
                var missing: [String] = []
                var profiles: [DataProfile] = []
                for file in files {
                    guard let blob = blobs[file.sha256] else { missing.append(file.path); continue }
                    guard blob.sizeBytes == file.sizeBytes else {
                        throw AppError.badRequest(
                            "'\(file.path)': size_bytes is \(file.sizeBytes) but the uploaded content with that sha256 has \(blob.sizeBytes) bytes")
                    }
                    if DataProfiler.forPath(file.path) != nil, let text = blob.profileJSON,
                        let profile = try? JSONDecoder().decode(DataProfile.self, from: Data(text.utf8))
                    {
                        profiles.append(profile)
                    }
                }
                guard missing.isEmpty else {
                    throw AppError.badRequest(
                        "\(missing.count) file(s) were not uploaded to this organization yet, e.g. '\(missing[0])': upload them first (POST /api/v1/datasets/\(dataset.id.lowercasedString)/uploads)"
                    )
                }
                let profile = DataProfile.merge(profiles)
                let version = DatasetVersion(
                    id: versionId, datasetId: dataset.id, version: input.version, storagePath: store.location(of: manifestKey),
                    changes: input.changes, parentId: parentId, fileCount: files.count,
                    sizeBytes: files.reduce(0) { $0 + $1.sizeBytes }, numRows: profile.map(\.rows),
                    checksum: Manifest.checksum(files), schemaJSON: profile.map(Self.json), createdBy: principal.userId,
                    createdMs: now)
                try await DatasetStore.insert(version, on: sql)
                try await DatasetStore.insertFiles(files, version: versionId, on: sql)
                for derivation in input.derivedFrom {
                    try await addDerivation(derivation, to: version, of: dataset, relation: relation, principal: principal, on: sql)
                }
                try await DatasetStore.setLatest(version, of: dataset.id, updatedMs: now, on: sql)
                try await audit.record(
                    on: sql, caller, orgId: dataset.orgId, action: "dataset.version.create", targetType: "dataset_version",
                    targetId: versionId.lowercasedString, detail: "\(dataset.name):\(input.version), \(files.count) files")
                return version
            }
        } catch {
            try? await store.delete(manifestKey)
            if SQLErrors.isUniqueViolation(error) {
                throw AppError.conflict(
                    "Version '\(input.version)' of dataset '\(dataset.name)' already exists; versions are immutable, so give the new one another name"
                )
            }
            throw error
        }
    }

    /// The version's files: the base version's, minus `remove`, plus `files` (which replace same-path entries).
    private func resolveFiles(of dataset: Dataset, _ input: VersionInput, on sql: any SQLDatabase) async throws -> ([DatasetFile], UUID?) {
        if try await DatasetStore.versionExists(named: input.version, of: dataset.id, on: sql) {
            throw AppError.conflict(
                "Version '\(input.version)' of dataset '\(dataset.name)' already exists; versions are immutable, so give the new one another name")
        }
        var byPath: [String: DatasetFile] = [:]
        var parentId: UUID?
        if let base = input.base {
            let parent = try await version(named: base, of: dataset, on: sql)
            parentId = parent.id
            for file in try await DatasetStore.files(of: parent.id, on: sql) { byPath[file.path] = file }
        }
        for path in input.remove {
            guard byPath.removeValue(forKey: path) != nil else {
                throw AppError.badRequest("remove: '\(path)' is not a file of base version '\(input.base ?? "")'")
            }
        }
        for file in input.files { byPath[file.path] = file }
        guard !byPath.isEmpty else { throw AppError.badRequest("The new version would have no files") }
        return (byPath.values.sorted { $0.path < $1.path }, parentId)
    }

    package func versions(_ datasetId: UUID, page: PageRequest, caller: Caller) async throws -> Page<DatasetVersion> {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .read), caller: caller)
        return try await database.read { sql in try await DatasetStore.versions(of: dataset.id, page: page, on: sql) }
    }

    package func version(_ datasetId: UUID, named name: String, caller: Caller) async throws -> (Dataset, DatasetVersion) {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .read), caller: caller)
        return (dataset, try await database.read { sql in try await version(named: name, of: dataset, on: sql) })
    }

    /// A page of a version's files in path order, optionally under a directory prefix.
    package func files(
        _ datasetId: UUID, version name: String, prefix: String?, limit: Int, after: String?,
        caller: Caller
    ) async throws -> (DatasetVersion, [DatasetFile], next: String?) {
        guard (1...5_000).contains(limit) else { throw AppError.validation([FieldError(field: "limit", message: "must be between 1 and 5000")]) }
        let (_, version) = try await version(datasetId, named: name, caller: caller)
        // One more than the page, to know whether another follows.
        let files = try await database.read { sql in
            try await DatasetStore.files(of: version.id, prefix: prefix, after: after, limit: limit + 1, on: sql)
        }
        return (version, Array(files.prefix(limit)), files.count > limit ? files[limit - 1].path : nil)
    }

    /// Version names by id, for showing which version an annotation belongs to.
    package func versionNames(_ datasetId: UUID, caller: Caller) async throws -> [UUID: String] {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .read), caller: caller)
        return try await database.read { sql in try await DatasetStore.versionNames(of: dataset.id, on: sql) }
    }

    /// The design's `lineage` field of a dataset: the versions its latest version was derived from directly.
    /// The datasets were read through this service, so the caller may see them.
    package func upstreamOfLatest(_ datasets: [Dataset]) async throws -> [UUID: [UUID]] {
        let named = datasets.filter { $0.version != nil }
        guard !named.isEmpty else { return [:] }
        return try await database.read { sql in try await LineageStore.upstreamOfLatest(named.map(\.id), on: sql) }
    }

    // MARK: downloads

    /// What a download sends: one file (`path`) or every file of the version, with the organization whose blobs hold them.
    package func download(_ datasetId: UUID, version name: String, path: String?, caller: Caller) async throws -> VersionDownload {
        let (dataset, version) = try await version(datasetId, named: name, caller: caller)
        let files = try await database.read { sql in try await DatasetStore.files(of: version.id, path: path, on: sql) }
        if let path, files.isEmpty { throw AppError.notFound("File '\(path)' in version '\(name)'") }
        return VersionDownload(dataset: dataset, version: version, files: files, store: store, single: path != nil)
    }

    /// A time-limited URL to fetch one file straight from S3; nil when the store is local disk.
    package func presignedURL(
        _ datasetId: UUID, version name: String, path: String, expiresIn seconds: Int,
        caller: Caller
    ) async throws -> URL? {
        guard (1...7 * 86_400).contains(seconds) else {
            throw AppError.validation([FieldError(field: "expires_in", message: "must be between 1 and 604800 seconds (7 days)")])
        }
        let download = try await download(datasetId, version: name, path: path, caller: caller)
        return try store.presignedURL(
            try Self.blobKey(orgId: download.dataset.orgId, sha256: download.files[0].sha256), method: .get,
            expiresIn: seconds)
    }

    // MARK: helpers

    func dataset(_ id: UUID, permission: Permission, caller: Caller) async throws -> Dataset {
        let principal = try caller.requirePrincipal()
        guard
            let dataset = try await database.read({ sql in try await DatasetStore.dataset(id, on: sql) }),
            principal.visibleOrgIds.contains(dataset.orgId)
        else { throw AppError.notFound("Dataset") }
        try Policy.authorize(principal, permission, on: Policy.Resource(kind: "Dataset", orgId: dataset.orgId, projectId: dataset.projectId))
        return dataset
    }

    func version(named name: String, of dataset: Dataset, on sql: any SQLDatabase) async throws -> DatasetVersion {
        guard let version = try await DatasetStore.version(named: name, of: dataset.id, on: sql) else {
            throw AppError.notFound("Version '\(name)' of dataset '\(dataset.name)'")
        }
        return version
    }

    /// Where a file body lives: per organization, by content.
    package static func blobKey(orgId: UUID, sha256: String) throws -> ObjectKey {
        try ObjectKey("datasets/blobs/\(orgId.lowercasedString)/\(sha256.prefix(2))/\(sha256)")
    }

    static func datasetPrefix(_ id: UUID) throws -> ObjectKey { try ObjectKey("datasets/\(id.lowercasedString)") }

    static func checkFormat(_ text: String?, required: Bool, _ validator: inout Validator) -> DatasetFormat? {
        guard let text else {
            if required { validator.add("format", "is required: one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
            return nil
        }
        guard let format = DatasetFormat(rawValue: text.lowercased()) else {
            validator.add(
                "format",
                "'\(text.prefix(50))' is not a format aitip knows: use one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return format
    }

    static func checkTags(_ tags: [String]?, _ validator: inout Validator) {
        guard let tags else { return }
        validator.check(tags.count <= 50, "tags", "must be at most 50")
        validator.check(
            tags.allSatisfy { (1...64).contains($0.count) && !$0.unicodeScalars.contains { $0.value < 0x20 } }, "tags",
            "must each be 1-64 characters without control characters")
    }

    static func checkJSONObject(_ text: String?, _ field: String, _ validator: inout Validator) {
        guard let text else { return }
        validator.check(text.utf8.count <= 64 * 1_024, field, "must be at most 64 KiB")
        guard case .object = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
            validator.add(field, "must be a JSON object")
            return
        }
    }

    static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONEncoder.sorted.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }
}

/// The manifest object stored beside the blobs, so an object store holds complete versions on its own.
struct ManifestDocument: Encodable {
    var datasetId: String
    var version: String
    var files: [DatasetFile]

    enum CodingKeys: String, CodingKey {
        case version, files
        case datasetId = "dataset_id"
    }
}
