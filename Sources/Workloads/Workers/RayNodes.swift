import AITIPCore
import Executors
import Foundation

/// The nodes of a Ray cluster, read from its dashboard on every heartbeat. A node's GPU type is Ray's
/// `accelerator_type:<T>` resource when Ray detected real GPUs, else a custom resource holding as many units as
/// the node has GPUs (`ray start --num-gpus=4 --resources='{"a100": 4}'`), else `gpu`.
package struct RayNodes: NodeSource {
    let ray: RayExecutor
    package var sources: Set<String> { ["ray"] }
    package var refreshes: Bool { true }

    package init(ray: RayExecutor) { self.ray = ray }

    package func nodes(now: Int64) async throws -> [GPUNode] {
        try await ray.nodes().filter(\.alive).map { node in
            let gpus = Int(node.resources["GPU"] ?? 0)
            return GPUNode.make(
                name: "ray-\(node.id.prefix(12))", type: gpus > 0 ? Self.gpuType(node.resources, gpus: gpus) : nil, count: gpus,
                gpuMemoryGB: nil, cpu: node.resources["CPU"] ?? 0,
                memory: Int((node.resources["memory"] ?? 0) / 1_048_576), source: "ray",
                labels: ["executor": "ray", "ray_node_id": node.id, "address": node.address], now: now)
        }
    }

    static func gpuType(_ resources: [String: Double], gpus: Int) -> String {
        if let detected = resources.keys.first(where: { $0.hasPrefix("accelerator_type:") }) {
            return String(detected.dropFirst("accelerator_type:".count)).lowercased()
        }
        let builtIn: Set<String> = ["CPU", "GPU", "memory", "object_store_memory"]
        if let custom = resources.first(where: {
            !builtIn.contains($0.key) && !$0.key.hasPrefix("node:") && Int($0.value) == gpus
                && WorkloadService.isName($0.key)
        }) {
            return custom.key
        }
        return "gpu"
    }
}
