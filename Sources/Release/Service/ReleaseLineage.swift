import Foundation
import Storage

/// What the lineage graph (kept by Datasets; App wires this in) needs of releases: where each lives, what to call it,
/// and the edge its record implies — the model version it rolls out, or its artifact's dataset version → the release.
package struct ReleaseLineage: Sendable {
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
        /// A model version (model releases) or a dataset version (the artifact of the others).
        package var fromDatasetVersion: Bool
        package var sourceId: UUID
        package var releaseId: UUID
        package var orgId: UUID
        package var createdMs: Int64
    }

    package func nodes(_ ids: [UUID]) async throws -> [Node] {
        try await database.read { sql in try await ReleaseStore.releases(ids: ids, on: sql) }.map {
            Node(id: $0.id, orgId: $0.orgId, projectId: $0.projectId, label: "release \($0.name) \($0.version) (\($0.status.rawValue))")
        }
    }

    /// Edges into these releases (`downstream` false), or out of these model versions.
    package func edges(_ ids: [UUID], downstream: Bool) async throws -> [Edge] {
        let releases = try await database.read { sql in
            downstream ? try await ReleaseStore.releases(ofVersions: ids, on: sql) : try await ReleaseStore.releases(ids: ids, on: sql)
        }
        return releases.compactMap { release in
            let source = release.modelVersionId.map { (false, $0) } ?? release.artifactVersionId.map { (true, $0) }
            return source.map {
                Edge(fromDatasetVersion: $0.0, sourceId: $0.1, releaseId: release.id, orgId: release.orgId, createdMs: release.createdMs)
            }
        }
    }
}
