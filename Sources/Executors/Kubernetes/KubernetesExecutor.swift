import AITIPCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Runs attempts as batch/v1 Jobs through a Kubernetes API server with a bearer token (a service account's).
/// aitip admits and places by its own queue; the Job asks for exactly the admitted GPUs, on nodes of the admitted
/// GPU type. No cluster runs where aitip is developed: the rendered manifests are validated against the Kubernetes
/// schemas in the tests, the API calls below are not exercised there.
package struct KubernetesExecutor: Executor {
    package let kind = "kubernetes"
    let apiServer: String
    let token: String
    let manifests: KubernetesManifests
    let namespace: String

    package init(apiServer: String, token: String, configuration: KubernetesManifests.Configuration) {
        self.apiServer = apiServer.hasSuffix("/") ? String(apiServer.dropLast()) : apiServer
        self.token = token
        manifests = KubernetesManifests(configuration)
        namespace = configuration.namespace
    }

    package func launch(_ request: LaunchRequest) async throws -> String {
        let rendered = try manifests.render(request)
        if let configMap = rendered.configMap {
            _ = try await call(.POST, "/api/v1/namespaces/\(namespace)/configmaps", body: configMap)
        }
        _ = try await call(.POST, "/apis/batch/v1/namespaces/\(namespace)/jobs", body: rendered.job)
        return KubernetesManifests.name(request)
    }

    package func state(of reference: String) async -> ExecutionState {
        do {
            guard let job = try await call(.GET, "/apis/batch/v1/namespaces/\(namespace)/jobs/\(reference)") else {
                return .lost(reason: "the Job \(reference) is gone from the cluster")
            }
            let status = job["status"] as? [String: Any] ?? [:]
            if (status["succeeded"] as? Int ?? 0) > 0 { return .exited(code: 0) }
            if (status["failed"] as? Int ?? 0) > 0 { return .exited(code: Int32(try await exitCode(reference) ?? 1)) }
            return (status["active"] as? Int ?? 0) > 0 ? .running : .starting
        } catch {
            return .running
        }
    }

    /// Deleting the Job stops its pod with SIGTERM and the pod's grace period, then SIGKILL.
    package func requestStop(_ reference: String) async {
        _ = try? await call(.DELETE, "/apis/batch/v1/namespaces/\(namespace)/jobs/\(reference)?propagationPolicy=Background")
    }

    package func kill(_ reference: String) async {
        _ = try? await call(.DELETE, "/apis/batch/v1/namespaces/\(namespace)/jobs/\(reference)?propagationPolicy=Background&gracePeriodSeconds=0")
    }

    package func readLog(_ reference: String, from offset: Int64, limit: Int) async throws -> Data {
        guard let pod = try await podName(reference) else { return Data() }
        let bytes = try await raw(.GET, "/api/v1/namespaces/\(namespace)/pods/\(pod)/log?container=workload") ?? Data()
        guard offset < bytes.count else { return Data() }
        let start = bytes.startIndex + Int(offset)
        return bytes.subdata(in: start..<min(bytes.endIndex, start + limit))
    }

    package func cleanUp(_ reference: String) async {
        _ = try? await call(.DELETE, "/apis/batch/v1/namespaces/\(namespace)/jobs/\(reference)?propagationPolicy=Background")
        _ = try? await call(.DELETE, "/api/v1/namespaces/\(namespace)/configmaps/\(reference)-code")
    }

    package func purge(workloadId: UUID) async {}

    /// Ready, schedulable nodes: (name, GPU type label, GPUs, CPU cores, memory MiB).
    package func nodes(gpuTypeLabel: String, gpuResource: String) async throws -> [(
        name: String, gpuType: String?, gpus: Int, cpu: Double, memoryMiB: Int
    )] {
        let list = try await call(.GET, "/api/v1/nodes")
        return (list?["items"] as? [[String: Any]] ?? []).compactMap { node in
            let metadata = node["metadata"] as? [String: Any] ?? [:]
            let status = node["status"] as? [String: Any] ?? [:]
            let allocatable = status["allocatable"] as? [String: String] ?? [:]
            let ready = (status["conditions"] as? [[String: Any]] ?? []).contains {
                $0["type"] as? String == "Ready" && $0["status"] as? String == "True"
            }
            let unschedulable = (node["spec"] as? [String: Any])?["unschedulable"] as? Bool ?? false
            guard let name = metadata["name"] as? String, ready, !unschedulable else { return nil }
            return (
                name, (metadata["labels"] as? [String: String])?[gpuTypeLabel], Int(allocatable[gpuResource] ?? "0") ?? 0,
                Self.cores(allocatable["cpu"] ?? "0"), Self.mebibytes(allocatable["memory"] ?? "0")
            )
        }
    }

    static func cores(_ quantity: String) -> Double {
        quantity.hasSuffix("m") ? (Double(quantity.dropLast()) ?? 0) / 1_000 : Double(quantity) ?? 0
    }

    static func mebibytes(_ quantity: String) -> Int {
        let units: [(String, Double)] = [
            ("Ki", 1.0 / 1_024), ("Mi", 1), ("Gi", 1_024), ("Ti", 1_048_576), ("k", 1_000.0 / 1_048_576),
            ("M", 1_000_000.0 / 1_048_576), ("G", 1e9 / 1_048_576),
        ]
        for (suffix, factor) in units where quantity.hasSuffix(suffix) {
            return Int((Double(quantity.dropLast(suffix.count)) ?? 0) * factor)
        }
        return Int((Double(quantity) ?? 0) / 1_048_576)
    }

    private func podName(_ reference: String) async throws -> String? {
        let pods = try await call(.GET, "/api/v1/namespaces/\(namespace)/pods?labelSelector=job-name%3D\(reference)")
        return ((pods?["items"] as? [[String: Any]])?.first?["metadata"] as? [String: Any])?["name"] as? String
    }

    private func exitCode(_ reference: String) async throws -> Int? {
        guard let pod = try await podName(reference),
            let object = try await call(.GET, "/api/v1/namespaces/\(namespace)/pods/\(pod)"),
            let statuses = (object["status"] as? [String: Any])?["containerStatuses"] as? [[String: Any]]
        else { return nil }
        return statuses.compactMap { (($0["state"] as? [String: Any])?["terminated"] as? [String: Any])?["exitCode"] as? Int }.first
    }

    private func call(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil) async throws -> [String: Any]? {
        guard let data = try await raw(method, path, body: body.map { try JSONSerialization.data(withJSONObject: $0) }) else { return nil }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// nil for 404.
    private func raw(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> Data? {
        var request = HTTPClientRequest(url: apiServer + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        if response.status.code == 404 { return nil }
        guard (200..<300).contains(Int(response.status.code)) else {
            throw ExecutorError("Kubernetes answered \(response.status.code) to \(method) \(path): \(String(buffer: buffer).prefix(500))")
        }
        return Data(buffer: buffer)
    }
}
