import AITIPCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Runs attempts as Ray jobs through the Job Submission REST API of a Ray head (`executor = ray://host:8265`).
/// aitip stays the scheduler: it admits and chooses GPUs by its own queue, priorities and quotas, and asks Ray for
/// exactly the resources it admitted (`entrypoint_num_gpus`, `entrypoint_num_cpus`, `entrypoint_memory`, and the GPU
/// type as a custom resource when the cluster defines one). Code goes up as a zip package
/// (`PUT /api/packages/gcs/…`) used as the job's `working_dir`. The reference is the Ray submission id.
package struct RayExecutor: Executor {
    package let kind = "ray"
    let base: String
    let token: String?
    let logger: Logger

    /// `address`: `ray://host:port` or `http://host:port` of the Ray dashboard.
    package init(address: String, token: String?, logger: Logger) throws {
        guard let url = URL(string: address.replacingOccurrences(of: "ray://", with: "http://")), let host = url.host,
            ["http", "https"].contains(url.scheme ?? "")
        else {
            throw ExecutorError("executor \(address) is not ray://HOST:PORT")
        }
        base = "\(url.scheme ?? "http")://\(host):\(url.port ?? 8265)"
        self.token = token
        self.logger = logger
    }

    package func launch(_ request: LaunchRequest) async throws -> String {
        let submission = "aitip-\(request.workloadId.lowercasedString)-\(request.attempt)"
        var runtimeEnv: [String: Any] = [:]
        var environment = request.environment
        environment["AITIP_WORKLOAD_ID"] = request.workloadId.lowercasedString
        environment["AITIP_ATTEMPT"] = String(request.attempt)
        runtimeEnv["env_vars"] = environment
        if let archive = request.codeArchive {
            let package = "_ray_pkg_aitip_\(ZipArchive.crc32(archive))_\(archive.count).zip"
            let zip = try ZipArchive.zip(fromTarGz: archive)
            _ = try await call(.PUT, "/api/packages/gcs/\(package)", body: zip, contentType: "application/zip")
            runtimeEnv["working_dir"] = "gcs://\(package)"
        }
        let gpus = request.gpuIndices.reduce(0) { $0 + $1.count }
        var body: [String: Any] = [
            "entrypoint": request.shellCommand, "submission_id": submission, "runtime_env": runtimeEnv,
            "metadata": ["aitip_workload": request.workloadId.lowercasedString, "attempt": String(request.attempt)],
            "entrypoint_num_cpus": request.cpu, "entrypoint_num_gpus": gpus,
            "entrypoint_memory": request.memoryMiB * 1_048_576,
        ]
        if let type = request.gpuType, gpus > 0, try await clusterResources().contains(type) {
            body["entrypoint_resources"] = [type: gpus]
        }
        _ = try await call(.POST, "/api/jobs/", body: try JSONSerialization.data(withJSONObject: body), contentType: "application/json")
        return submission
    }

    package func state(of reference: String) async -> ExecutionState {
        do {
            guard let (status, data) = try await callAllowingMissing(.GET, "/api/jobs/\(reference)") else {
                return .lost(reason: "Ray no longer knows job \(reference)")
            }
            guard status == 200, let job = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                return .running
            }
            switch job["status"] as? String {
            case "PENDING": return .starting
            case "RUNNING": return .running
            case "SUCCEEDED": return .exited(code: 0)
            case "STOPPED": return .exited(code: 143)
            case "FAILED":
                if let code = job["driver_exit_code"] as? Int { return .exited(code: Int32(code)) }
                return .lost(reason: "Ray: \((job["error_type"] as? String) ?? "FAILED"): \(((job["message"] as? String) ?? "").prefix(500))")
            default: return .running
            }
        } catch {
            // The head is unreachable for now: the attempt is not known to have ended.
            logger.warning("Ray job state unavailable", metadata: ["job": "\(reference)", "error": "\(error)"])
            return .running
        }
    }

    package func requestStop(_ reference: String) async {
        _ = try? await callAllowingMissing(.POST, "/api/jobs/\(reference)/stop")
    }

    /// Ray has no kill: its stop already escalates to SIGKILL after its own grace period.
    package func kill(_ reference: String) async { await requestStop(reference) }

    package func readLog(_ reference: String, from offset: Int64, limit: Int) async throws -> Data {
        guard let (status, data) = try await callAllowingMissing(.GET, "/api/jobs/\(reference)/logs"), status == 200,
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let logs = object["logs"] as? String
        else {
            return Data()
        }
        let bytes = Data(logs.utf8)
        guard offset < bytes.count else { return Data() }
        let start = bytes.startIndex + Int(offset)
        return bytes.subdata(in: start..<min(bytes.endIndex, start + limit))
    }

    package func cleanUp(_ reference: String) async {
        _ = try? await callAllowingMissing(.DELETE, "/api/jobs/\(reference)")
    }

    package func purge(workloadId: UUID) async {}

    /// The cluster's nodes as Ray reports them: (node id, alive, resources total).
    package func nodes() async throws -> [(id: String, address: String, alive: Bool, resources: [String: Double])] {
        let data = try await call(.GET, "/nodes?view=summary", body: nil, contentType: nil)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let summary = (object["data"] as? [String: Any])?["summary"] as? [[String: Any]]
        else {
            throw ExecutorError("Ray's /nodes?view=summary answered in an unknown shape")
        }
        return summary.compactMap { node in
            let raylet = node["raylet"] as? [String: Any] ?? [:]
            guard let id = raylet["nodeId"] as? String ?? node["nodeId"] as? String else { return nil }
            let resources = (raylet["resourcesTotal"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
            return (id, node["ip"] as? String ?? raylet["nodeManagerAddress"] as? String ?? "", (raylet["state"] as? String) == "ALIVE", resources)
        }
    }

    private func clusterResources() async throws -> Set<String> {
        Set(try await nodes().filter(\.alive).flatMap { $0.resources.keys })
    }

    private func call(_ method: HTTPMethod, _ path: String, body: Data?, contentType: String?) async throws -> Data {
        guard let (status, data) = try await callAllowingMissing(method, path, body: body, contentType: contentType) else {
            throw ExecutorError("Ray: \(path) does not exist")
        }
        guard (200..<300).contains(status) else {
            throw ExecutorError("Ray answered \(status) to \(method) \(path): \(String(decoding: data.prefix(500), as: UTF8.self))")
        }
        return data
    }

    /// nil for 404.
    private func callAllowingMissing(_ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String? = nil) async throws -> (Int, Data)?
    {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 256 * 1024 * 1024)
        if response.status.code == 404 { return nil }
        return (Int(response.status.code), Data(buffer: buffer))
    }
}
