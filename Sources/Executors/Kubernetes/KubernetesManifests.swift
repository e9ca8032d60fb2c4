import AITIPCore
import Foundation

/// Renders an attempt as Kubernetes objects: a ConfigMap holding the code package and a batch/v1 Job whose init
/// container unpacks it into the pod's workspace. GPUs are requested as the device plugin's resource
/// (`nvidia.com/gpu`), the GPU type is a node selector, CPU and memory are requests and limits, the max runtime is
/// `activeDeadlineSeconds`, and aitip's own retries replace Kubernetes' (`backoffLimit: 0`).
package struct KubernetesManifests: Sendable {
    package struct Configuration: Sendable {
        package var namespace: String
        package var image: String
        package var gpuResource: String
        /// The node label whose value is the GPU type (e.g. `nvidia.com/gpu.product` with GPU feature discovery).
        package var gpuTypeLabel: String
        package var initImage: String

        package init(
            namespace: String = "aitip", image: String = "python:3.11-slim", gpuResource: String = "nvidia.com/gpu",
            gpuTypeLabel: String = "aitip.dev/gpu-type", initImage: String = "busybox:1.36"
        ) {
            self.namespace = namespace
            self.image = image
            self.gpuResource = gpuResource
            self.gpuTypeLabel = gpuTypeLabel
            self.initImage = initImage
        }
    }

    /// ConfigMaps hold at most 1 MiB; larger packages need an object store the pods can reach.
    package static let maxCodeBytes = 1_000_000

    let configuration: Configuration

    package init(_ configuration: Configuration) { self.configuration = configuration }

    package static func name(_ request: LaunchRequest) -> String {
        "aitip-\(request.workloadId.lowercasedString.prefix(18))-\(request.attempt)"
    }

    /// The ConfigMap with the code (nil without a package) and the Job, as JSON objects for the API server.
    package func render(_ request: LaunchRequest, maxRuntimeSeconds: Int? = nil) throws -> (configMap: [String: Any]?, job: [String: Any]) {
        let name = Self.name(request)
        let labels = [
            "app.kubernetes.io/managed-by": "aitip", "aitip.dev/workload": request.workloadId.lowercasedString,
            "aitip.dev/attempt": String(request.attempt),
        ]
        var configMap: [String: Any]?
        var volumes: [[String: Any]] = [["name": "workspace", "emptyDir": [String: Any]()]]
        var initContainers: [[String: Any]] = []
        if let archive = request.codeArchive {
            guard archive.count <= Self.maxCodeBytes else {
                throw ExecutorError(
                    "the code package is \(archive.count) bytes; the Kubernetes executor passes code in a ConfigMap (at most \(Self.maxCodeBytes) bytes)"
                )
            }
            configMap = [
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": ["name": "\(name)-code", "namespace": configuration.namespace, "labels": labels],
                "binaryData": ["code.tar.gz": archive.base64EncodedString()],
            ]
            volumes.append(["name": "code", "configMap": ["name": "\(name)-code"]])
            initContainers.append([
                "name": "unpack-code", "image": configuration.initImage,
                "command": ["/bin/sh", "-c", "tar -xzf /code/code.tar.gz -C /workspace"],
                "volumeMounts": [
                    ["name": "code", "mountPath": "/code", "readOnly": true],
                    ["name": "workspace", "mountPath": "/workspace"],
                ],
            ])
        }
        let gpus = request.gpuIndices.reduce(0) { $0 + $1.count }
        var environment = request.environment
        environment["AITIP_WORKLOAD_ID"] = request.workloadId.lowercasedString
        environment["AITIP_ATTEMPT"] = String(request.attempt)
        var limits: [String: Any] = ["cpu": Self.quantity(request.cpu), "memory": "\(request.memoryMiB)Mi"]
        if gpus > 0 { limits[configuration.gpuResource] = String(gpus) }
        let container: [String: Any] = [
            "name": "workload", "image": configuration.image, "workingDir": "/workspace",
            "command": ["/bin/sh", "-c", request.shellCommand],
            "env": environment.keys.sorted().map { ["name": $0, "value": environment[$0]!] },
            "resources": ["requests": limits, "limits": limits],
            "volumeMounts": [["name": "workspace", "mountPath": "/workspace"]],
            "securityContext": [
                "allowPrivilegeEscalation": false, "runAsNonRoot": true, "runAsUser": 1000,
                "capabilities": ["drop": ["ALL"]],
            ],
        ]
        var podSpec: [String: Any] = [
            "restartPolicy": "Never", "containers": [container], "volumes": volumes,
            "automountServiceAccountToken": false, "terminationGracePeriodSeconds": 30,
        ]
        if !initContainers.isEmpty { podSpec["initContainers"] = initContainers }
        if let type = request.gpuType, gpus > 0 { podSpec["nodeSelector"] = [configuration.gpuTypeLabel: type] }
        var jobSpec: [String: Any] = [
            "backoffLimit": 0, "ttlSecondsAfterFinished": 3_600,
            "template": ["metadata": ["labels": labels], "spec": podSpec],
        ]
        if let maxRuntimeSeconds { jobSpec["activeDeadlineSeconds"] = maxRuntimeSeconds }
        let job: [String: Any] = [
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": ["name": name, "namespace": configuration.namespace, "labels": labels],
            "spec": jobSpec,
        ]
        return (configMap, job)
    }

    static func quantity(_ cores: Double) -> String {
        cores == cores.rounded() ? String(Int(cores)) : "\(Int((cores * 1_000).rounded()))m"
    }
}
