import AITIPCore
import Foundation

/// Where a lineage node of another module lives and what to call it.
package struct LineageNodeFacts: Sendable, Equatable {
    package var orgId: UUID
    package var projectId: UUID
    package var label: String

    package init(orgId: UUID, projectId: UUID, label: String) {
        self.orgId = orgId
        self.projectId = projectId
        self.label = label
    }
}

/// What a module that owns lineage nodes of another kind (Workloads' training jobs, Tracking's model versions) tells
/// the lineage graph: where each node lives and what to call it, and the edges its own records imply (a model version
/// names the training job that made it). App wires the owners' read functions in, so Datasets reads no table of
/// theirs.
package struct LineageNodeSource: Sendable {
    package var kind: LineageKind
    package var resolve: @Sendable ([UUID]) async throws -> [UUID: LineageNodeFacts]
    /// Edges out of these nodes (`downstream`) or into them, that the owner's records imply.
    package var impliedEdges: (@Sendable (_ ids: [UUID], _ downstream: Bool) async throws -> [LineageEdge])?

    package init(
        kind: LineageKind, resolve: @escaping @Sendable ([UUID]) async throws -> [UUID: LineageNodeFacts],
        impliedEdges: (@Sendable ([UUID], Bool) async throws -> [LineageEdge])? = nil
    ) {
        self.kind = kind
        self.resolve = resolve
        self.impliedEdges = impliedEdges
    }
}

extension LineageEdge {
    /// An edge another module's record implies, with an id that is the same every time it is derived.
    package static func implied(
        from source: (LineageKind, UUID), to target: (LineageKind, UUID), relation: String, orgId: UUID,
        createdMs: Int64
    ) -> LineageEdge {
        var bytes = target.1.uuid
        bytes.15 ^= UInt8(LineageKind.allCases.firstIndex(of: source.0)! + 1)
        return LineageEdge(
            id: UUID(uuid: bytes), orgId: orgId, sourceKind: source.0, sourceId: source.1, targetKind: target.0,
            targetId: target.1, relation: relation, transformationJSON: nil, createdBy: nil, createdMs: createdMs)
    }
}
