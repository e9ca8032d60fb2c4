import AITIPCore
import Foundation
import Identity

/// Annotation tasks (design data_annotations): pending → in_progress → completed, with the annotation as JSON;
/// completed annotations export as a new version of the dataset.
extension DatasetService {
    package struct AnnotationInput: Sendable {
        package var taskType: String?
        /// The version and file (item) the task is about; both optional.
        package var version: String?
        package var item: String?
        package var status: Annotation.Status?
        package var assigneeId: UUID?
        /// Set to clear the assignee in an update.
        package var clearAssignee: Bool
        package var annotationsJSON: String?

        package init(
            taskType: String? = nil, version: String? = nil, item: String? = nil, status: Annotation.Status? = nil,
            assigneeId: UUID? = nil, clearAssignee: Bool = false, annotationsJSON: String? = nil
        ) {
            self.taskType = taskType
            self.version = version
            self.item = item
            self.status = status
            self.assigneeId = assigneeId
            self.clearAssignee = clearAssignee
            self.annotationsJSON = annotationsJSON
        }
    }

    package func createAnnotation(_ datasetId: UUID, _ input: AnnotationInput, caller: Caller) async throws -> Annotation {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .write), caller: caller)
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        let taskType = input.taskType ?? ""
        validator.check(
            Self.isTaskType(taskType), "task_type", "is required: 1-50 of a-z, 0-9, '_' and '-' (classification, detection, segmentation, …)")
        validator.check(input.item == nil || input.version != nil, "item", "needs the version it belongs to")
        if let annotations = input.annotationsJSON { Self.checkJSON(annotations, "annotations", &validator) }
        let status = input.status ?? .pending
        validator.check(status != .completed || input.annotationsJSON != nil, "annotations", "are required to complete a task")
        try validator.finish()
        let now = nowMs
        return try await database.transaction { sql in
            var versionId: UUID?
            if let name = input.version {
                let version = try await version(named: name, of: dataset, on: sql)
                versionId = version.id
                if let item = input.item, try await !DatasetStore.fileExists(item, in: version.id, on: sql) {
                    throw AppError.badRequest("item: '\(item.prefix(200))' is not a file of version '\(name)'")
                }
            }
            if let assignee = input.assigneeId { try await checkMember(assignee, orgId: dataset.orgId) }
            let annotation = Annotation(
                id: IDGenerator.uuidV7(), datasetId: dataset.id, versionId: versionId, item: input.item, taskType: taskType,
                status: status, assigneeId: input.assigneeId, annotationsJSON: input.annotationsJSON,
                createdBy: principal.userId, createdMs: now, updatedMs: now, completedMs: status == .completed ? now : nil)
            try await AnnotationStore.insert(annotation, on: sql)
            try await audit.record(
                on: sql, caller, orgId: dataset.orgId, action: "dataset.annotation.create", targetType: "annotation",
                targetId: annotation.id.lowercasedString, detail: taskType)
            return annotation
        }
    }

    package func annotations(
        _ datasetId: UUID, status: Annotation.Status?, assigneeId: UUID?, page: PageRequest,
        caller: Caller
    ) async throws -> Page<Annotation> {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .read), caller: caller)
        return try await database.read { sql in
            try await AnnotationStore.annotations(of: dataset.id, status: status, assignee: assigneeId, page: page, on: sql)
        }
    }

    /// Moves a task along (status), reassigns it, or records its annotation. Completing needs an annotation.
    package func updateAnnotation(_ datasetId: UUID, _ annotationId: UUID, _ input: AnnotationInput, caller: Caller) async throws -> Annotation {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .write), caller: caller)
        var validator = Validator()
        if let annotations = input.annotationsJSON { Self.checkJSON(annotations, "annotations", &validator) }
        validator.check(
            input.taskType == nil && input.version == nil && input.item == nil, "task_type",
            "task_type, version and item are fixed when a task is created")
        try validator.finish()
        return try await database.transaction { sql in
            guard var annotation = try await AnnotationStore.annotation(annotationId, dataset: dataset.id, on: sql) else {
                throw AppError.notFound("Annotation")
            }
            if let assignee = input.assigneeId {
                try await checkMember(assignee, orgId: dataset.orgId)
                annotation.assigneeId = assignee
            } else if input.clearAssignee {
                annotation.assigneeId = nil
            }
            if let annotations = input.annotationsJSON { annotation.annotationsJSON = annotations }
            let now = nowMs
            if let status = input.status, status != annotation.status {
                if status == .completed {
                    guard annotation.annotationsJSON != nil else {
                        throw AppError.badRequest("A task is completed with its annotations: send 'annotations' with status 'completed'")
                    }
                    annotation.completedMs = now
                } else {
                    annotation.completedMs = nil
                }
                annotation.status = status
            }
            annotation.updatedMs = now
            try await AnnotationStore.update(annotation, on: sql)
            try await audit.record(
                on: sql, caller, orgId: dataset.orgId, action: "dataset.annotation.update", targetType: "annotation",
                targetId: annotation.id.lowercasedString, detail: annotation.status.rawValue)
            return annotation
        }
    }

    /// Writes every completed annotation to `annotations.jsonl` (one JSON object per task) and creates a new
    /// version: the base version's files (default: the latest) plus that file, linked to the base in the lineage.
    package func exportAnnotations(
        _ datasetId: UUID, version name: String, base: String?, changes: String?,
        caller: Caller
    ) async throws -> DatasetVersion {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .write), caller: caller)
        let (file, baseVersion) = try await database.transaction { sql -> (DatasetFile, DatasetVersion?) in
            let completed = try await AnnotationStore.completed(of: dataset.id, on: sql)
            guard !completed.isEmpty else { throw AppError.badRequest("There are no completed annotations to export") }
            guard Manifest.isVersionName(name) else { throw AppError.badRequest("version must be 1-64 of letters, digits, '.', '_' and '-'") }
            if try await DatasetStore.versionExists(named: name, of: dataset.id, on: sql) {
                throw AppError.conflict(
                    "Version '\(name)' of dataset '\(dataset.name)' already exists; versions are immutable, so give the new one another name")
            }
            let baseName = base ?? dataset.version
            var baseVersion: DatasetVersion?
            if let baseName { baseVersion = try await version(named: baseName, of: dataset, on: sql) }
            let versionNames = try await DatasetStore.versionNames(of: dataset.id, on: sql)
            var lines = Data()
            for annotation in completed {
                let record = ExportedAnnotation(
                    id: annotation.id.lowercasedString, taskType: annotation.taskType, item: annotation.item,
                    version: annotation.versionId.flatMap { versionNames[$0] },
                    assigneeId: annotation.assigneeId?.lowercasedString,
                    completedAt: annotation.completedMs.map { Date(epochMilliseconds: $0) },
                    annotations: try JSONDecoder().decode(JSONValue.self, from: Data((annotation.annotationsJSON ?? "null").utf8)))
                lines.append(try JSONEncoder.export.encode(record))
                lines.append(0x0A)
            }
            return (try await storeBlob(lines, orgId: dataset.orgId, projectId: dataset.projectId, path: "annotations.jsonl", on: sql), baseVersion)
        }
        let input = VersionInput(
            version: name, changes: changes ?? "Export of \(file.sizeBytes) bytes of completed annotations", base: baseVersion?.version,
            files: [file], derivedFrom: baseVersion.map { [Derivation(versionId: $0.id)] } ?? [])
        return try await createVersion(of: dataset, input, relation: "annotated", caller: caller)
    }

    private func checkMember(_ userId: UUID, orgId: UUID) async throws {
        guard try await Directory(database: database).isMember(user: userId, of: orgId) else {
            throw AppError.badRequest("assignee_id: user \(userId.lowercasedString) is not a member of this organization")
        }
    }

    static func isTaskType(_ text: String) -> Bool {
        (1...50).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    static func checkJSON(_ text: String, _ field: String, _ validator: inout Validator) {
        validator.check(text.utf8.count <= 1 << 20, field, "must be at most 1 MiB")
        validator.check((try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) != nil, field, "must be JSON")
    }
}

struct ExportedAnnotation: Encodable {
    var id: String
    var taskType: String
    var item: String?
    var version: String?
    var assigneeId: String?
    var completedAt: Date?
    var annotations: JSONValue

    enum CodingKeys: String, CodingKey {
        case id, item, version, annotations
        case taskType = "task_type", assigneeId = "assignee_id", completedAt = "completed_at"
    }
}

extension JSONEncoder {
    static var export: JSONEncoder {
        let encoder = JSONEncoder.sorted
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
