import AITIPCore
import Executors
import Foundation

/// The schedulable nodes of a Kubernetes cluster, read from the API server on every heartbeat: GPUs from the
/// device plugin's allocatable resource, the GPU type from a node label.
package struct KubernetesNodes: NodeSource {
    let cluster: KubernetesExecutor
    let configuration: KubernetesManifests.Configuration
    package var sources: Set<String> { ["kubernetes"] }
    package var refreshes: Bool { true }

    package init(cluster: KubernetesExecutor, configuration: KubernetesManifests.Configuration) {
        self.cluster = cluster
        self.configuration = configuration
    }

    package func nodes(now: Int64) async throws -> [GPUNode] {
        try await cluster.nodes(gpuTypeLabel: configuration.gpuTypeLabel, gpuResource: configuration.gpuResource).map { node in
            GPUNode.make(
                name: "k8s-\(node.name)", type: node.gpus > 0 ? (node.gpuType?.lowercased() ?? "gpu") : nil, count: node.gpus,
                gpuMemoryGB: nil, cpu: node.cpu, memory: node.memoryMiB, source: "kubernetes",
                labels: ["executor": "kubernetes", "kubernetes_node": node.name], now: now)
        }
    }
}
