import Datasets
import Evaluation
import Foundation
import Simulation
import Tracking
import Training
import Workloads

/// The lineage graph (kept by Datasets) learns about the nodes other modules own through their read functions:
/// training jobs from Workloads, model versions from Tracking's registry, whose records also imply edges (a model
/// version names the training job that made it and the dataset version it was trained on), evaluations, simulation
/// runs and releases (each names the model version it judged, played or rolled out).
enum LineageWiring {
    static func sources(
        workloads: WorkloadService, tracking: TrackingService, evaluations: EvaluationLineage, simulations: SimulationLineage,
        releases: LineageNodeSource
    ) -> [LineageNodeSource] {
        [trainingJobs(workloads), modelVersions(tracking), evaluationJobs(evaluations), simulationRuns(simulations), releases]
    }

    /// Simulation runs, with the edge their records imply (model version → run).
    static func simulationRuns(_ simulations: SimulationLineage) -> LineageNodeSource {
        LineageNodeSource(
            kind: .simulation,
            resolve: { ids in
                Dictionary(
                    uniqueKeysWithValues: try await simulations.nodes(ids).map {
                        ($0.id, LineageNodeFacts(orgId: $0.orgId, projectId: $0.projectId, label: $0.label))
                    })
            },
            impliedEdges: { ids, downstream in
                try await simulations.edges(ids, downstream: downstream).map { edge in
                    LineageEdge.implied(
                        from: (.modelVersion, edge.modelVersionId), to: (.simulation, edge.runId), relation: "simulated", orgId: edge.orgId,
                        createdMs: edge.createdMs)
                }
            })
    }

    /// Evaluations, with the edges their records imply (dataset version → evaluation, model versions → evaluation).
    static func evaluationJobs(_ evaluations: EvaluationLineage) -> LineageNodeSource {
        LineageNodeSource(
            kind: .evaluation,
            resolve: { ids in
                Dictionary(
                    uniqueKeysWithValues: try await evaluations.nodes(ids).map {
                        ($0.id, LineageNodeFacts(orgId: $0.orgId, projectId: $0.projectId, label: $0.label))
                    })
            },
            impliedEdges: { ids, downstream in
                try await evaluations.edges(ids, downstream: downstream).compactMap { edge in
                    LineageKind(rawValue: edge.sourceKind).map {
                        LineageEdge.implied(
                            from: ($0, edge.sourceId), to: (.evaluation, edge.evaluationId), relation: edge.relation, orgId: edge.orgId,
                            createdMs: edge.createdMs)
                    }
                }
            })
    }

    static func trainingJobs(_ workloads: WorkloadService) -> LineageNodeSource {
        LineageNodeSource(kind: .trainingJob) { ids in
            Dictionary(
                uniqueKeysWithValues: try await workloads.summaries(ids).filter { $0.kind == TrainingService.kind.name }.map {
                    ($0.id, LineageNodeFacts(orgId: $0.orgId, projectId: $0.projectId, label: $0.name))
                })
        }
    }

    static func modelVersions(_ tracking: TrackingService) -> LineageNodeSource {
        LineageNodeSource(
            kind: .modelVersion,
            resolve: { ids in
                Dictionary(
                    uniqueKeysWithValues: try await tracking.modelVersionFacts(ids).map {
                        ($0.id, LineageNodeFacts(orgId: $0.orgId, projectId: $0.projectId, label: "\($0.name) v\($0.version)"))
                    })
            },
            impliedEdges: { ids, downstream in
                let facts = downstream ? try await tracking.modelVersionFacts(madeFrom: ids) : try await tracking.modelVersionFacts(ids)
                return facts.flatMap { version -> [LineageEdge] in
                    let sources: [(LineageKind, UUID?, String)] = [
                        (.trainingJob, version.trainingJobId, "produced"),
                        (.datasetVersion, version.datasetVersionId, "trained_on"),
                    ]
                    return sources.compactMap { kind, sourceId, relation in
                        sourceId.map {
                            LineageEdge.implied(
                                from: (kind, $0), to: (.modelVersion, version.id), relation: relation, orgId: version.orgId,
                                createdMs: version.createdMs)
                        }
                    }
                }
            })
    }
}
