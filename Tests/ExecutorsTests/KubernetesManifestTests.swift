import Foundation
import Testing

@testable import Executors

/// The Kubernetes objects an attempt becomes. No cluster runs here: with AITIP_K8S_MANIFEST_DIR set, the manifests
/// are written there and `scripts/test.sh` validates them against the Kubernetes schemas (kubernetes-validate).
@Suite("Kubernetes manifests")
struct KubernetesManifestTests {
    static let manifests = KubernetesManifests(.init(namespace: "ml", gpuTypeLabel: "nvidia.com/gpu.product"))

    @Test("a GPU job: device-plugin GPUs, a node selector by GPU type, limits, deadline, code through a ConfigMap")
    func gpuJob() throws {
        let request = LaunchRequest(
            workloadId: UUID(), attempt: 2, entrypoint: "python train.py --epochs 3", environment: ["LR": "0.1"],
            codeArchive: Data([0x1f, 0x8b, 1, 2, 3]), gpuIndices: [[0, 1, 2, 3]], gpuType: "a100", cpu: 7.5, memoryMiB: 32_768)
        let (configMap, job) = try Self.manifests.render(request, maxRuntimeSeconds: 7_200)
        let spec = try #require(job["spec"] as? [String: Any])
        #expect(spec["backoffLimit"] as? Int == 0 && spec["activeDeadlineSeconds"] as? Int == 7_200)
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(pod["nodeSelector"] as? [String: String] == ["nvidia.com/gpu.product": "a100"])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let limits = try #require((container["resources"] as? [String: Any])?["limits"] as? [String: Any])
        #expect(limits["nvidia.com/gpu"] as? String == "4" && limits["cpu"] as? String == "7500m" && limits["memory"] as? String == "32768Mi")
        #expect((container["env"] as? [[String: String]])?.contains(["name": "LR", "value": "0.1"]) == true)
        #expect((configMap?["binaryData"] as? [String: String])?["code.tar.gz"] == Data([0x1f, 0x8b, 1, 2, 3]).base64EncodedString())
        try Self.write("gpu-job", configMap, job)
    }

    @Test("a CPU job without code has no init container, ConfigMap or node selector")
    func cpuJob() throws {
        let request = LaunchRequest(workloadId: UUID(), attempt: 1, entrypoint: "echo hi", gpuIndices: [[]], cpu: 1, memoryMiB: 512)
        let (configMap, job) = try Self.manifests.render(request)
        let pod = try #require(((job["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(configMap == nil && pod["initContainers"] == nil && pod["nodeSelector"] == nil)
        try Self.write("cpu-job", nil, job)
    }

    @Test("a code package larger than a ConfigMap holds is refused with the reason")
    func tooLarge() {
        let request = LaunchRequest(workloadId: UUID(), attempt: 1, entrypoint: "true", codeArchive: Data(count: 2_000_000))
        #expect(throws: ExecutorError.self) { try Self.manifests.render(request) }
    }

    @Test("Kubernetes quantities")
    func quantities() {
        #expect(KubernetesExecutor.cores("7500m") == 7.5 && KubernetesExecutor.cores("8") == 8)
        #expect(KubernetesExecutor.mebibytes("32Gi") == 32_768 && KubernetesExecutor.mebibytes("1048576Ki") == 1_024)
    }

    static func write(_ name: String, _ configMap: [String: Any]?, _ job: [String: Any]) throws {
        guard let directory = ProcessInfo.processInfo.environment["AITIP_K8S_MANIFEST_DIR"] else { return }
        for (suffix, object) in [("configmap", configMap), ("job", job)] {
            guard let object else { continue }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: "\(directory)/\(name)-\(suffix).json"))
        }
    }
}
