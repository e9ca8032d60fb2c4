import AITIPCore
import Foundation
import Identity
import SQLKit

package struct LineageNode: Sendable, Equatable, Hashable {
    package var kind: LineageKind
    package var id: UUID
    /// `dataset:version`, the job's name, `model vN`.
    package var label: String
    package var projectId: UUID
}

package struct LineageGraph: Sendable {
    package var roots: [LineageNode]
    package var nodes: [LineageNode]
    package var edges: [LineageEdge]
}

package enum LineageDirection: String, Sendable, CaseIterable {
    case upstream, downstream, both
}

/// The lineage graph: explicit edges (`lineage_edges`) plus the ones the registry already records (a model
/// version's training job and dataset version). Only nodes the caller may read are returned.
extension DatasetService {
    package static let maxLineageDepth = 10
    static let maxLineageNodes = 2_000

    struct NodeKey: Hashable {
        var kind: LineageKind
        var id: UUID
    }

    /// Upstream (what it was made from), downstream (what depends on it) or both, from one version of the dataset
    /// or from all of them, `depth` edges far.
    package func lineage(_ datasetId: UUID, version name: String?, depth: Int, direction: LineageDirection, caller: Caller) async throws
        -> LineageGraph
    {
        let principal = try caller.requirePrincipal()
        let dataset = try await dataset(datasetId, permission: Permission(.data, .read), caller: caller)
        guard (1...Self.maxLineageDepth).contains(depth) else { throw AppError.badRequest("depth must be between 1 and \(Self.maxLineageDepth)") }
        return try await database.read { sql in
            let roots: [NodeKey]
            if let name {
                roots = [NodeKey(kind: .datasetVersion, id: try await version(named: name, of: dataset, on: sql).id)]
            } else {
                roots = try await DatasetStore.versionIds(of: dataset.id, on: sql).map { NodeKey(kind: .datasetVersion, id: $0) }
            }
            var edges: [UUID: LineageEdge] = [:]
            var seen = Set(roots)
            for downstream in [false, true] where direction == .both || (direction == .downstream) == downstream {
                var frontier = roots
                for _ in 0..<depth where !frontier.isEmpty && seen.count < Self.maxLineageNodes {
                    var next: [NodeKey] = []
                    for edge in try await neighbourEdges(of: frontier, downstream: downstream, on: sql) {
                        edges[edge.id] = edge
                        let node = downstream ? NodeKey(kind: edge.targetKind, id: edge.targetId) : NodeKey(kind: edge.sourceKind, id: edge.sourceId)
                        if seen.insert(node).inserted { next.append(node) }
                    }
                    frontier = next
                }
            }
            let resolved = try await resolve(Array(seen), on: sql)
            var visible: [NodeKey: LineageNode] = [:]
            for (key, node) in resolved
            where principal.visibleOrgIds.contains(node.orgId)
                && principal.permissions(in: node.orgId).contains(Permission(Self.area(of: key.kind), .read))
            {
                visible[key] = LineageNode(kind: key.kind, id: key.id, label: node.label, projectId: node.projectId)
            }
            let shownEdges = edges.values.filter {
                visible[NodeKey(kind: $0.sourceKind, id: $0.sourceId)] != nil && visible[NodeKey(kind: $0.targetKind, id: $0.targetId)] != nil
            }
            return LineageGraph(
                roots: roots.compactMap { visible[$0] },
                nodes: visible.values.sorted { ($0.kind.rawValue, $0.label) < ($1.kind.rawValue, $1.label) },
                edges: shownEdges.sorted { $0.createdMs < $1.createdMs })
        }
    }

    /// Records that `source` was used to make `target` (e.g. a training job produced a model version). Both must
    /// exist in one organization; the caller needs read access to the source and write access to the target.
    package func addEdge(
        source: (LineageKind, UUID), target: (LineageKind, UUID), relation: String, transformationJSON: String?,
        caller: Caller
    ) async throws -> LineageEdge {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        validator.check(
            (1...50).contains(relation.count) && relation.allSatisfy { $0.isASCII && ($0.isLowercase || $0 == "_") }, "relation",
            "must be 1-50 of a-z and '_' (derived_from, trained_on, produced, evaluated, …)")
        Self.checkJSONObject(transformationJSON, "transformation", &validator)
        validator.check(source != target, "target", "must differ from the source")
        try validator.finish()
        return try await database.transaction { sql in
            let nodes = try await resolve([NodeKey(kind: source.0, id: source.1), NodeKey(kind: target.0, id: target.1)], on: sql)
            for (kind, id) in [source, target] where nodes[NodeKey(kind: kind, id: id)] == nil {
                if kind != .datasetVersion && !configuration.lineageSources.contains(where: { $0.kind == kind }) {
                    throw AppError.badRequest(
                        "'\(kind.rawValue)' nodes do not exist on this server yet; lineage can link dataset_version, training_job and model_version")
                }
                throw AppError.notFound("\(kind.rawValue) \(id.lowercasedString)")
            }
            let from = nodes[NodeKey(kind: source.0, id: source.1)]!
            let to = nodes[NodeKey(kind: target.0, id: target.1)]!
            guard principal.visibleOrgIds.contains(from.orgId) else { throw AppError.notFound(source.0.rawValue) }
            guard principal.visibleOrgIds.contains(to.orgId) else { throw AppError.notFound(target.0.rawValue) }
            guard from.orgId == to.orgId else { throw AppError.badRequest("Lineage edges stay inside one organization") }
            try Policy.authorize(
                principal, Permission(Self.area(of: source.0), .read),
                on: Policy.Resource(kind: source.0.rawValue, orgId: from.orgId, projectId: from.projectId))
            try Policy.authorize(
                principal, Permission(Self.area(of: target.0), .write),
                on: Policy.Resource(kind: target.0.rawValue, orgId: to.orgId, projectId: to.projectId))
            if let existing = try await LineageStore.edge(from: source, to: target, relation: relation, on: sql) { return existing }
            let edge = LineageEdge(
                id: IDGenerator.uuidV7(), orgId: from.orgId, sourceKind: source.0, sourceId: source.1, targetKind: target.0,
                targetId: target.1, relation: relation, transformationJSON: transformationJSON, createdBy: principal.userId,
                createdMs: nowMs)
            try await LineageStore.insert(edge, on: sql)
            try await audit.record(
                on: sql, caller, orgId: from.orgId, action: "lineage.edge.create", targetType: target.0.rawValue,
                targetId: target.1.lowercasedString, detail: "\(relation) from \(source.0.rawValue) \(source.1.lowercasedString)")
            return edge
        }
    }

    /// Records, inside the caller's transaction, that `target` (e.g. a training job being submitted with a
    /// `dataset_id`) uses the dataset's latest version. The dataset must be in `orgId` and readable by the caller.
    package func recordUse(
        of datasetId: UUID, by target: (LineageKind, UUID), relation: String, orgId: UUID, caller: Caller,
        on sql: any SQLDatabase
    ) async throws {
        let principal = try caller.requirePrincipal()
        guard let dataset = try await DatasetStore.dataset(datasetId, on: sql),
            dataset.orgId == orgId, principal.visibleOrgIds.contains(dataset.orgId)
        else {
            throw AppError.badRequest("dataset_id \(datasetId.lowercasedString) is not a dataset of this organization")
        }
        try Policy.authorize(
            principal, Permission(.data, .read), on: Policy.Resource(kind: "Dataset", orgId: dataset.orgId, projectId: dataset.projectId))
        guard let latest = dataset.version else {
            throw AppError.badRequest("Dataset '\(dataset.name)' has no versions yet: push one before training on it")
        }
        let version = try await version(named: latest, of: dataset, on: sql)
        try await LineageStore.insert(
            LineageEdge(
                id: IDGenerator.uuidV7(), orgId: orgId, sourceKind: .datasetVersion, sourceId: version.id,
                targetKind: target.0, targetId: target.1, relation: relation, transformationJSON: nil,
                createdBy: principal.userId, createdMs: nowMs), on: sql)
    }

    /// A new version's `derived_from` entries: upstream versions of the same organization the caller can read.
    func addDerivation(
        _ derivation: Derivation, to version: DatasetVersion, of dataset: Dataset, relation: String, principal: Principal,
        on sql: any SQLDatabase
    ) async throws {
        guard let upstream = try await resolve([NodeKey(kind: .datasetVersion, id: derivation.versionId)], on: sql).values.first,
            upstream.orgId == dataset.orgId
        else {
            throw AppError.badRequest("derived_from: dataset version \(derivation.versionId.lowercasedString) does not exist in this organization")
        }
        try Policy.authorize(
            principal, Permission(.data, .read),
            on: Policy.Resource(kind: "Dataset", orgId: upstream.orgId, projectId: upstream.projectId))
        let edge = LineageEdge(
            id: IDGenerator.uuidV7(), orgId: dataset.orgId, sourceKind: .datasetVersion, sourceId: derivation.versionId,
            targetKind: .datasetVersion, targetId: version.id, relation: relation,
            transformationJSON: derivation.transformationJSON, createdBy: principal.userId, createdMs: version.createdMs)
        try await LineageStore.insert(edge, on: sql)
    }

    private func neighbourEdges(of nodes: [NodeKey], downstream: Bool, on sql: any SQLDatabase) async throws -> [LineageEdge] {
        let keys = Set(nodes)
        var result = try await LineageStore.edges(of: nodes.map(\.id), downstream: downstream, on: sql).filter {
            keys.contains(downstream ? NodeKey(kind: $0.sourceKind, id: $0.sourceId) : NodeKey(kind: $0.targetKind, id: $0.targetId))
        }
        // The edges other modules' records imply (a model version names its training job and dataset version).
        for source in configuration.lineageSources {
            guard let implied = source.impliedEdges else { continue }
            let ids = nodes.map(\.id)
            for edge in try await implied(ids, downstream) {
                let end = downstream ? NodeKey(kind: edge.sourceKind, id: edge.sourceId) : NodeKey(kind: edge.targetKind, id: edge.targetId)
                if keys.contains(end) { result.append(edge) }
            }
        }
        return result
    }

    /// Where each node lives and what to call it: dataset versions from this module's tables, other kinds from the
    /// module that owns them (`configuration.lineageSources`). Nodes nobody knows are left out.
    func resolve(_ nodes: [NodeKey], on sql: any SQLDatabase) async throws -> [NodeKey: LineageNodeFacts] {
        var result: [NodeKey: LineageNodeFacts] = [:]
        let byKind = Dictionary(grouping: nodes, by: \.kind)
        for (id, facts) in try await LineageStore.versionNodes((byKind[.datasetVersion] ?? []).map(\.id), on: sql) {
            result[NodeKey(kind: .datasetVersion, id: id)] = facts
        }
        for source in configuration.lineageSources {
            guard let ids = byKind[source.kind], !ids.isEmpty else { continue }
            for (id, facts) in try await source.resolve(ids.map(\.id)) { result[NodeKey(kind: source.kind, id: id)] = facts }
        }
        return result
    }

    static func area(of kind: LineageKind) -> Permission.Area {
        switch kind {
        case .datasetVersion: .data
        case .trainingJob: .training
        case .modelVersion: .experiments
        case .evaluation: .evaluation
        case .simulation: .simulation
        case .release: .release
        case .inferenceService: .inference
        }
    }
}
