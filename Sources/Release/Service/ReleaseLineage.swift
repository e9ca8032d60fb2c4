import Datasets
import Foundation
import Storage

/// Releases as nodes of the lineage graph (kept by Datasets; App adds this source): where each lives, what to call
/// it, and the edge its record implies — the model version it rolls out, or its artifact's dataset version → the
/// release. Release depends on Datasets already (its artifacts), so it speaks the graph's types directly.
package enum ReleaseLineage {
    package static func source(database: Database) -> LineageNodeSource {
        LineageNodeSource(
            kind: .release,
            resolve: { ids in
                let releases = try await database.read { sql in try await ReleaseStore.releases(ids: ids, on: sql) }
                return Dictionary(
                    uniqueKeysWithValues: releases.map {
                        (
                            $0.id,
                            LineageNodeFacts(
                                orgId: $0.orgId, projectId: $0.projectId, label: "release \($0.name) \($0.version) (\($0.status.rawValue))")
                        )
                    })
            },
            impliedEdges: { ids, downstream in
                // Downstream: the releases of these versions; upstream: where these releases come from.
                let releases = try await database.read { sql in
                    downstream ? try await ReleaseStore.releases(ofVersions: ids, on: sql) : try await ReleaseStore.releases(ids: ids, on: sql)
                }
                return releases.compactMap { release in
                    let source =
                        release.modelVersionId.map { (LineageKind.modelVersion, $0) } ?? release.artifactVersionId.map { (.datasetVersion, $0) }
                    return source.map {
                        LineageEdge.implied(
                            from: $0, to: (.release, release.id), relation: "released", orgId: release.orgId, createdMs: release.createdMs)
                    }
                }
            })
    }
}
