import Foundation
import Storage

/// Simulation runs as lineage nodes, read straight from the database (the lineage graph is built before this
/// service). A run's record implies its edge: the model version it played.
package struct SimulationLineage: Sendable {
    let database: Database

    package init(database: Database) {
        self.database = database
    }

    package struct Node: Sendable {
        package var id: UUID
        package var orgId: UUID
        package var projectId: UUID
        package var label: String
    }

    package struct Edge: Sendable {
        package var modelVersionId: UUID
        package var runId: UUID
        package var orgId: UUID
        package var createdMs: Int64
    }

    package func nodes(_ ids: [UUID]) async throws -> [Node] {
        try await database.read { sql in try await SimulationStore.runs(ids: ids, on: sql) }.map {
            Node(id: $0.id, orgId: $0.orgId, projectId: $0.projectId, label: "\($0.template) simulation of \($0.modelName) v\($0.modelVersion)")
        }
    }

    /// Edges into these runs (`downstream` false), or out of these model versions.
    package func edges(_ ids: [UUID], downstream: Bool) async throws -> [Edge] {
        let runs = try await database.read { sql in
            downstream ? try await SimulationStore.runs(ofModelVersions: ids, on: sql) : try await SimulationStore.runs(ids: ids, on: sql)
        }
        return runs.map { Edge(modelVersionId: $0.modelVersionId, runId: $0.id, orgId: $0.orgId, createdMs: $0.createdMs) }
    }
}
