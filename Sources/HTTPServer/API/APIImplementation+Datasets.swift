import AITIPAPI
import AITIPCore
import Datasets
import Foundation
import OpenAPIRuntime

extension APIImplementation {
    var datasets: DatasetService { dependencies.datasets }

    func listDatasets(_ input: Operations.ListDatasets.Input) async throws -> Operations.ListDatasets.Output {
        let page = try await datasets.list(
            project: try Parse.id(input.path.projectId, "project_id"),
            .init(
                page: try Parse.page(limit: input.query.limit, cursor: input.query.cursor),
                search: input.query.search, tag: input.query.tag), caller: caller)
        let upstream = try await datasets.upstreamOfLatest(page.items)
        return .ok(.init(body: .json(.init(items: page.items.map { .init($0, upstream: upstream[$0.id] ?? []) }, nextCursor: page.nextCursor))))
    }

    func createDataset(_ input: Operations.CreateDataset.Input) async throws -> Operations.CreateDataset.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let dataset = try await datasets.create(
            .init(
                name: body.name, description: body.description, format: body.format, tags: body.tags,
                metadataJSON: try body.metadata.map(JSONText.encode)),
            project: try Parse.id(input.path.projectId, "project_id"), caller: caller)
        return .created(.init(body: .json(.init(dataset, upstream: []))))
    }

    func getDataset(_ input: Operations.GetDataset.Input) async throws -> Operations.GetDataset.Output {
        let dataset = try await datasets.get(try Parse.id(input.path.datasetId, "dataset_id"), caller: caller)
        return .ok(.init(body: .json(.init(dataset, upstream: try await datasets.upstreamOfLatest([dataset])[dataset.id] ?? []))))
    }

    func updateDataset(_ input: Operations.UpdateDataset.Input) async throws -> Operations.UpdateDataset.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let dataset = try await datasets.update(
            try Parse.id(input.path.datasetId, "dataset_id"),
            .init(
                name: body.name, description: body.description, format: body.format, tags: body.tags,
                metadataJSON: try body.metadata.map(JSONText.encode)), caller: caller)
        return .ok(.init(body: .json(.init(dataset, upstream: try await datasets.upstreamOfLatest([dataset])[dataset.id] ?? []))))
    }

    func deleteDataset(_ input: Operations.DeleteDataset.Input) async throws -> Operations.DeleteDataset.Output {
        try await datasets.delete(try Parse.id(input.path.datasetId, "dataset_id"), caller: caller)
        return .noContent(.init())
    }

    func listDatasetVersions(_ input: Operations.ListDatasetVersions.Input) async throws -> Operations.ListDatasetVersions.Output {
        let page = try await datasets.versions(
            try Parse.id(input.path.datasetId, "dataset_id"),
            page: try Parse.page(limit: input.query.limit, cursor: input.query.cursor), caller: caller)
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.DatasetVersion.init), nextCursor: page.nextCursor))))
    }

    func createDatasetVersion(_ input: Operations.CreateDatasetVersion.Input) async throws -> Operations.CreateDatasetVersion.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let derivations = try (body.derivedFrom ?? []).enumerated().map { index, entry in
            DatasetService.Derivation(
                versionId: try Parse.id(entry.datasetVersionId, "derived_from[\(index)].dataset_version_id"),
                transformationJSON: try entry.transformation.map(JSONText.encode))
        }
        let version = try await datasets.createVersion(
            try Parse.id(input.path.datasetId, "dataset_id"),
            .init(
                version: body.version, changes: body.changes ?? "", base: body.baseVersion,
                files: (body.files ?? []).map { DatasetFile(path: $0.path, sizeBytes: $0.sizeBytes, sha256: $0.sha256.lowercased()) },
                remove: body.remove ?? [], derivedFrom: derivations), caller: caller)
        return .created(.init(body: .json(.init(version))))
    }

    func getDatasetVersion(_ input: Operations.GetDatasetVersion.Input) async throws -> Operations.GetDatasetVersion.Output {
        let (_, version) = try await datasets.version(try Parse.id(input.path.datasetId, "dataset_id"), named: input.path.version, caller: caller)
        return .ok(.init(body: .json(.init(version))))
    }

    func listDatasetFiles(_ input: Operations.ListDatasetFiles.Input) async throws -> Operations.ListDatasetFiles.Output {
        let after = try Cursor.parse(input.query.cursor)?.string(0)
        let (version, files, next) = try await datasets.files(
            try Parse.id(input.path.datasetId, "dataset_id"), version: input.path.version,
            prefix: input.query.prefix, limit: input.query.limit ?? 1_000, after: after, caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        version: version.version, items: files.map(Components.Schemas.DatasetFile.init),
                        nextCursor: next.map { Cursor($0).text }))))
    }

    func downloadDatasetVersion(_ input: Operations.DownloadDatasetVersion.Input) async throws -> Operations.DownloadDatasetVersion.Output {
        let download = try await datasets.download(
            try Parse.id(input.path.datasetId, "dataset_id"), version: input.path.version,
            path: input.query.path, caller: caller)
        let name =
            download.single
            ? String(download.files[0].path.split(separator: "/").last ?? "file")
            : "\(download.dataset.name)-\(download.version.version).tar"
        // Plain ASCII without quotes, backslashes or '%' (ContentDispositionMiddleware undoes the runtime's percent-encoding).
        let safeName = String(
            name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && !"\"\\%".unicodeScalars.contains($0) ? Character($0) : "_" })
        return .ok(
            .init(
                headers: .init(
                    xChecksumSha256: download.single ? download.files[0].sha256 : nil,
                    contentDisposition: "attachment; filename=\"\(safeName)\""),
                body: .binary(HTTPBody(download.chunks(), length: .known(download.contentLength), iterationBehavior: .single))))
    }

    func getDatasetFileURL(_ input: Operations.GetDatasetFileURL.Input) async throws -> Operations.GetDatasetFileURL.Output {
        let seconds = input.query.expiresIn ?? 3_600
        guard
            let url = try await datasets.presignedURL(
                try Parse.id(input.path.datasetId, "dataset_id"), version: input.path.version,
                path: input.query.path, expiresIn: seconds, caller: caller)
        else {
            throw AppError.badRequest("This server keeps objects on local disk, which has no presigned URLs: download through /download instead")
        }
        return .ok(.init(body: .json(.init(url: url.absoluteString, expiresAt: Date().addingTimeInterval(Double(seconds))))))
    }

    func startDatasetUpload(_ input: Operations.StartDatasetUpload.Input) async throws -> Operations.StartDatasetUpload.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let session = try await datasets.startUpload(
            try Parse.id(input.path.datasetId, "dataset_id"), sha256: body.sha256.lowercased(),
            size: body.sizeBytes, path: body.path, caller: caller)
        return .created(.init(body: .json(.init(session))))
    }

    func getDatasetUpload(_ input: Operations.GetDatasetUpload.Input) async throws -> Operations.GetDatasetUpload.Output {
        .ok(.init(body: .json(.init(try await datasets.upload(try Parse.id(input.path.uploadId, "upload_id"), caller: caller)))))
    }

    func appendDatasetUpload(_ input: Operations.AppendDatasetUpload.Input) async throws -> Operations.AppendDatasetUpload.Output {
        guard case .binary(let body) = input.body else { throw AppError.badRequest("Send the bytes as application/octet-stream") }
        let session = try await datasets.append(
            to: try Parse.id(input.path.uploadId, "upload_id"), offset: input.headers.uploadOffset,
            body: body, caller: caller)
        return .ok(.init(body: .json(.init(session))))
    }

    func cancelDatasetUpload(_ input: Operations.CancelDatasetUpload.Input) async throws -> Operations.CancelDatasetUpload.Output {
        try await datasets.cancelUpload(try Parse.id(input.path.uploadId, "upload_id"), caller: caller)
        return .noContent(.init())
    }

    func getDatasetLineage(_ input: Operations.GetDatasetLineage.Input) async throws -> Operations.GetDatasetLineage.Output {
        let graph = try await datasets.lineage(
            try Parse.id(input.path.datasetId, "dataset_id"), version: input.query.version,
            depth: input.query.depth ?? 3,
            direction: LineageDirection(rawValue: input.query.direction?.rawValue ?? "both") ?? .both, caller: caller)
        return .ok(
            .init(
                body: .json(
                    .init(
                        roots: graph.roots.map(Components.Schemas.LineageNode.init),
                        nodes: graph.nodes.map(Components.Schemas.LineageNode.init),
                        edges: graph.edges.map(Components.Schemas.LineageEdge.init)))))
    }

    func createLineageEdge(_ input: Operations.CreateLineageEdge.Input) async throws -> Operations.CreateLineageEdge.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let edge = try await datasets.addEdge(
            source: (LineageKind(rawValue: body.source.kind.rawValue)!, try Parse.id(body.source.id, "source.id")),
            target: (LineageKind(rawValue: body.target.kind.rawValue)!, try Parse.id(body.target.id, "target.id")),
            relation: body.relation, transformationJSON: try body.transformation.map(JSONText.encode), caller: caller)
        return .created(.init(body: .json(.init(edge))))
    }

    func listAnnotations(_ input: Operations.ListAnnotations.Input) async throws -> Operations.ListAnnotations.Output {
        let datasetId = try Parse.id(input.path.datasetId, "dataset_id")
        let page = try await datasets.annotations(
            datasetId, status: input.query.status.flatMap { Annotation.Status(rawValue: $0.rawValue) },
            assigneeId: try Parse.optionalId(input.query.assigneeId, "assignee_id"),
            page: try Parse.page(limit: input.query.limit, cursor: input.query.cursor), caller: caller)
        let names = try await datasets.versionNames(datasetId, caller: caller)
        return .ok(.init(body: .json(.init(items: try page.items.map { try .init($0, versionNames: names) }, nextCursor: page.nextCursor))))
    }

    func createAnnotation(_ input: Operations.CreateAnnotation.Input) async throws -> Operations.CreateAnnotation.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let datasetId = try Parse.id(input.path.datasetId, "dataset_id")
        let annotation = try await datasets.createAnnotation(
            datasetId,
            .init(
                taskType: body.taskType, version: body.version, item: body.item,
                status: body.status.flatMap { Annotation.Status(rawValue: $0.rawValue) },
                assigneeId: try Parse.optionalId(body.assigneeId, "assignee_id"), annotationsJSON: try body.annotations.map(JSONText.encode)),
            caller: caller)
        return .created(.init(body: .json(try .init(annotation, versionNames: try await datasets.versionNames(datasetId, caller: caller)))))
    }

    func updateAnnotation(_ input: Operations.UpdateAnnotation.Input) async throws -> Operations.UpdateAnnotation.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let datasetId = try Parse.id(input.path.datasetId, "dataset_id")
        let annotation = try await datasets.updateAnnotation(
            datasetId, try Parse.id(input.path.annotationId, "annotation_id"),
            .init(
                status: body.status.flatMap { Annotation.Status(rawValue: $0.rawValue) },
                assigneeId: try Parse.optionalId(body.assigneeId, "assignee_id"),
                clearAssignee: body.assigneeId == "", annotationsJSON: try body.annotations.map(JSONText.encode)), caller: caller)
        return .ok(.init(body: .json(try .init(annotation, versionNames: try await datasets.versionNames(datasetId, caller: caller)))))
    }

    func exportAnnotations(_ input: Operations.ExportAnnotations.Input) async throws -> Operations.ExportAnnotations.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Send a JSON body") }
        let version = try await datasets.exportAnnotations(
            try Parse.id(input.path.datasetId, "dataset_id"), version: body.version,
            base: body.baseVersion, changes: body.changes, caller: caller)
        return .created(.init(body: .json(.init(version))))
    }
}

/// Free-form JSON values from generated payloads, kept as JSON text in the domain.
enum JSONText {
    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder.sorted.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ text: String?, as type: T.Type = T.self) -> T? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

extension Components.Schemas.Dataset {
    init(_ dataset: Dataset, upstream: [UUID]) {
        self.init(
            id: dataset.id.lowercasedString, projectId: dataset.projectId.lowercasedString, ownerId: dataset.ownerId?.lowercasedString,
            name: dataset.name, description: dataset.description, format: .init(rawValue: dataset.format.rawValue)!,
            version: dataset.version, storagePath: dataset.storagePath, schema: JSONText.decode(dataset.schemaJSON),
            sizeBytes: dataset.sizeBytes, numRows: dataset.numRows, checksum: dataset.checksum, tags: dataset.tags,
            metadata: FreeForm.wire(dataset.metadataJSON), lineage: .init(upstream: upstream.map(\.lowercasedString)),
            createdAt: Date(epochMilliseconds: dataset.createdMs), updatedAt: Date(epochMilliseconds: dataset.updatedMs))
    }
}

extension Components.Schemas.DatasetVersion {
    init(_ version: DatasetVersion) {
        self.init(
            id: version.id.lowercasedString, datasetId: version.datasetId.lowercasedString, version: version.version,
            storagePath: version.storagePath, changes: version.changes, parentId: version.parentId?.lowercasedString,
            fileCount: version.fileCount, sizeBytes: version.sizeBytes, numRows: version.numRows, checksum: version.checksum,
            schema: JSONText.decode(version.schemaJSON), createdBy: version.createdBy?.lowercasedString,
            createdAt: Date(epochMilliseconds: version.createdMs))
    }
}

extension Components.Schemas.DatasetFile {
    init(_ file: DatasetFile) {
        self.init(path: file.path, sizeBytes: file.sizeBytes, sha256: file.sha256)
    }
}

extension Components.Schemas.Upload {
    init(_ session: UploadSession) {
        self.init(
            id: session.id.lowercasedString, datasetId: session.datasetId.lowercasedString, sha256: session.sha256,
            sizeBytes: session.sizeBytes, receivedBytes: session.receivedBytes, path: session.path,
            status: .init(rawValue: session.status.rawValue)!, error: session.error, expiresAt: Date(epochMilliseconds: session.expiresMs))
    }
}

extension Components.Schemas.LineageNode {
    init(_ node: LineageNode) {
        self.init(
            kind: .init(rawValue: node.kind.rawValue)!, id: node.id.lowercasedString, label: node.label,
            projectId: node.projectId.lowercasedString)
    }
}

extension Components.Schemas.LineageEdge {
    init(_ edge: LineageEdge) {
        self.init(
            id: edge.id.lowercasedString,
            source: .init(kind: .init(rawValue: edge.sourceKind.rawValue)!, id: edge.sourceId.lowercasedString),
            target: .init(kind: .init(rawValue: edge.targetKind.rawValue)!, id: edge.targetId.lowercasedString),
            relation: edge.relation, transformation: edge.transformationJSON.map { FreeForm.wire($0) },
            createdAt: Date(epochMilliseconds: edge.createdMs))
    }
}

extension Components.Schemas.Annotation {
    init(_ annotation: Annotation, versionNames: [UUID: String]) throws {
        self.init(
            id: annotation.id.lowercasedString, datasetId: annotation.datasetId.lowercasedString,
            version: annotation.versionId.flatMap { versionNames[$0] }, item: annotation.item, taskType: annotation.taskType,
            status: .init(rawValue: annotation.status.rawValue)!, assigneeId: annotation.assigneeId?.lowercasedString,
            annotations: JSONText.decode(annotation.annotationsJSON), createdAt: Date(epochMilliseconds: annotation.createdMs),
            updatedAt: Date(epochMilliseconds: annotation.updatedMs), completedAt: annotation.completedMs.map { Date(epochMilliseconds: $0) })
    }
}

extension Components.Schemas.Dataset.MetadataPayload: FreeFormPayload {}
extension Components.Schemas.LineageEdge.TransformationPayload: FreeFormPayload {}
