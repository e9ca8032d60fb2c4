import Foundation

/// An inference service (design §3 `inference_services`): a registered model version served by replicas of one
/// runtime, reached at `/serve/{id}/…`. A canary is a child service (`parentServiceId`) that takes
/// `trafficPercentage` of its parent's requests, or the requests carrying its route header. Called a deployment in
/// code, so that "service" can keep meaning the use cases (`InferenceService`).
package struct Deployment: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var ownerId: UUID?
    package var modelId: UUID?
    package var modelName: String
    package var modelVersion: String
    package var name: String
    package var description: String
    package var runtime: String
    /// JSON object, as text (see `ProcessRuntime`).
    package var runtimeConfig: String
    package var gpuType: String?
    package var gpuCount: Int
    package var cpu: Double
    package var memoryMiB: Int
    /// Replicas wanted while running.
    package var replicas: Int
    package var minReplicas: Int
    package var maxReplicas: Int
    package var endpointURL: String
    package var status: Status
    /// Why it is in its status (what it waits for, why it failed, who stopped it).
    package var statusReason: String
    package var healthStatus: Health
    package var isCanary: Bool
    package var trafficPercentage: Int
    package var parentServiceId: UUID?
    package var routeHeaderName: String?
    package var routeHeaderValue: String?
    package var stickySessions: Bool
    /// `AutoscalePolicy` as JSON; nil: the replica count is what was asked.
    package var autoscaling: String?
    package var createdMs: Int64
    package var updatedMs: Int64
    /// The most requests per second the gateway lets through to this service's endpoint (its canaries' share
    /// included); nil: no limit.
    package var rateLimitRps: Double? = nil
    /// A shadow canary: it takes no live traffic; `trafficPercentage` of its parent's requests are copied to it and
    /// its answers dropped (measured like any version's), so a new version meets real requests before any caller
    /// depends on it.
    package var shadow = false

    /// `pending → deploying → running`, `stopped` on request, `error` when replicas keep failing before they are ready.
    package enum Status: String, Sendable, Codable, CaseIterable {
        case pending, deploying, running, stopped, error

        /// Whether replicas are wanted.
        package var wantsReplicas: Bool { [.pending, .deploying, .running].contains(self) }
    }

    /// `healthy`: every wanted replica is ready; `degraded`: some are; `unhealthy`: none is; `unknown`: none wanted.
    package enum Health: String, Sendable, Codable {
        case healthy, degraded, unhealthy, unknown
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description, runtime, cpu, replicas, status, autoscaling
        case orgId = "org_id"
        case projectId = "project_id"
        case ownerId = "owner_id"
        case modelId = "model_id"
        case modelName = "model_name"
        case modelVersion = "model_version"
        case runtimeConfig = "runtime_config"
        case gpuType = "gpu_type"
        case gpuCount = "gpu_count"
        case memoryMiB = "memory_mib"
        case minReplicas = "min_replicas"
        case maxReplicas = "max_replicas"
        case endpointURL = "endpoint_url"
        case statusReason = "status_reason"
        case healthStatus = "health_status"
        case isCanary = "is_canary"
        case trafficPercentage = "traffic_percentage"
        case parentServiceId = "parent_service_id"
        case routeHeaderName = "route_header_name"
        case routeHeaderValue = "route_header_value"
        case stickySessions = "sticky_sessions"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
        case rateLimitRps = "rate_limit_rps"
        case shadow
    }

    package var autoscalePolicy: AutoscalePolicy? {
        autoscaling.flatMap { try? JSONDecoder().decode(AutoscalePolicy.self, from: Data($0.utf8)) }
    }

    /// The model version it serves, as the registry names it.
    package var modelURI: String { "models:/\(modelName)/\(modelVersion)" }
}

/// A replica: one workload of the kind `inference` serving a deployment.
package struct Replica: Sendable, Codable, Equatable {
    package var workloadId: UUID
    package var serviceId: UUID
    package var createdMs: Int64
    /// When it first passed its readiness check.
    package var readyMs: Int64?
    /// When the reconciler saw its workload end (kept for its log).
    package var endedMs: Int64?

    enum CodingKeys: String, CodingKey {
        case workloadId = "workload_id"
        case serviceId = "service_id"
        case createdMs = "created_ms"
        case readyMs = "ready_ms"
        case endedMs = "ended_ms"
    }
}

/// The `process` runtime's settings (`runtime_config`): any command that serves HTTP on the Unix socket
/// `$AITIP_SERVE_SOCKET` in its sandbox.
package struct ProcessRuntime: Sendable, Codable, Equatable {
    package var command: String
    /// Answers 2xx when the replica is ready; checked every second (readiness, then liveness).
    package var healthPath: String
    package var env: [String: String]
    /// A code package uploaded with `POST /api/v1/training/code`, unpacked into the workspace before the command runs.
    package var codeArchive: String?
    /// How long a new replica may take to become ready before it is replaced.
    package var startupTimeoutSeconds: Int

    enum CodingKeys: String, CodingKey {
        case command, env
        case healthPath = "health_path"
        case codeArchive = "code_archive"
        case startupTimeoutSeconds = "startup_timeout_seconds"
    }

    package init(
        command: String, healthPath: String = "/health", env: [String: String] = [:], codeArchive: String? = nil, startupTimeoutSeconds: Int = 300
    ) {
        self.command = command
        self.healthPath = healthPath
        self.env = env
        self.codeArchive = codeArchive
        self.startupTimeoutSeconds = startupTimeoutSeconds
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        command = try container.decode(String.self, forKey: .command)
        healthPath = try container.decodeIfPresent(String.self, forKey: .healthPath) ?? "/health"
        env = try container.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        codeArchive = try container.decodeIfPresent(String.self, forKey: .codeArchive)
        startupTimeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .startupTimeoutSeconds) ?? 300
    }
}
