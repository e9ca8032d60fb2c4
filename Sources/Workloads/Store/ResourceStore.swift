import AITIPCore
import Foundation
import SQLKit
import Storage

/// SQL for nodes, quotas and metered usage.
enum ResourceStore {
    static func nodes(on sql: any SQLDatabase) async throws -> [GPUNode] {
        try await sql.select().column("*").from("gpu_nodes").orderBy("name").all(decoding: GPUNode.self)
    }

    static func node(_ id: UUID, on sql: any SQLDatabase) async throws -> GPUNode? {
        try await sql.select().column("*").from("gpu_nodes").where("id", .equal, id).first(decoding: GPUNode.self)
    }

    static func node(named name: String, on sql: any SQLDatabase) async throws -> GPUNode? {
        try await sql.select().column("*").from("gpu_nodes").where("name", .equal, name).first(decoding: GPUNode.self)
    }

    /// Registers or refreshes a node's inventory, keeping its id, status and totals. Only the inventory columns are
    /// written (and an offline node comes back available): a status an operator sets meanwhile (maintenance) is never
    /// overwritten by a refresh that read the row before.
    static func upsert(_ node: GPUNode, on sql: any SQLDatabase) async throws -> GPUNode {
        if let existing = try await self.node(named: node.name, on: sql) {
            try await sql.update("gpu_nodes")
                .set("node_type", to: node.nodeType).set("gpu_count", to: node.gpuCount).set("gpu_memory_gb", to: node.gpuMemoryGB)
                .set("cpu_cores", to: node.cpuCores).set("memory_mib", to: node.memoryMiB).set("labels", to: node.labelsJSON)
                .set("source", to: node.source).set("last_heartbeat_ms", to: node.lastHeartbeatMs)
                .where("id", .equal, existing.id).run()
            try await sql.update("gpu_nodes").set("status", to: NodeStatus.available.rawValue).where("id", .equal, existing.id)
                .where("status", .equal, NodeStatus.offline.rawValue).run()
            return try await self.node(named: node.name, on: sql) ?? existing
        }
        try await sql.insert(node, into: "gpu_nodes")
        return node
    }

    static func heartbeat(_ ids: [UUID], at ms: Int64, on sql: any SQLDatabase) async throws {
        guard !ids.isEmpty else { return }
        try await sql.update("gpu_nodes").set("last_heartbeat_ms", to: ms).where("id", .in, ids).run()
    }

    static func setStatus(_ status: NodeStatus, of id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.update("gpu_nodes").set("status", to: status.rawValue).where("id", .equal, id).run()
    }

    static func markOffline(heartbeatBefore ms: Int64, on sql: any SQLDatabase) async throws {
        try await sql.update("gpu_nodes").set("status", to: NodeStatus.offline.rawValue)
            .where("last_heartbeat_ms", .lessThan, ms).where("status", .notEqual, NodeStatus.offline.rawValue).run()
    }

    static func addTotals(node id: UUID, jobs: Int, gpuSeconds: Double, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            UPDATE gpu_nodes SET total_jobs = total_jobs + \(bind: jobs), total_gpu_seconds = total_gpu_seconds + \(bind: gpuSeconds)
            WHERE id = \(bind: id)
            """
        ).run()
    }

    // MARK: quotas

    static func quotas(orgIds: [UUID], on sql: any SQLDatabase) async throws -> [Quota] {
        guard !orgIds.isEmpty else { return [] }
        return try await sql.select().column("*").from("resource_quotas").where("org_id", .in, orgIds).all(decoding: Quota.self)
    }

    static func gpuSeconds(ofWorkloads ids: [UUID], on sql: any SQLDatabase) async throws -> [UUID: Double] {
        var seconds: [UUID: Double] = [:]
        for chunk in ids.chunked(500) {
            for row in try await sql.select().column("workload_id").column(SQLFunction("SUM", args: SQLColumn("gpu_seconds")), as: "seconds")
                .from("gpu_usage").where("workload_id", .in, chunk).groupBy("workload_id").all()
            {
                seconds[try row.uuid("workload_id")] = try row.decode(column: "seconds", as: Double.self)
            }
        }
        return seconds
    }

    static func allQuotas(on sql: any SQLDatabase) async throws -> [Quota] {
        try await sql.select().column("*").from("resource_quotas").all(decoding: Quota.self)
    }

    static func quota(orgId: UUID, scope: String, on sql: any SQLDatabase) async throws -> Quota? {
        try await sql.select().column("*").from("resource_quotas").where("org_id", .equal, orgId).where("scope", .equal, scope)
            .first(decoding: Quota.self)
    }

    static func save(_ quota: Quota, new: Bool, on sql: any SQLDatabase) async throws {
        if new {
            try await sql.insert(quota, into: "resource_quotas")
        } else {
            try await sql.updateRow(quota, in: "resource_quotas", id: quota.id)
        }
    }

    static func deleteQuota(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "resource_quotas").where("id", .equal, id).run()
    }

    // MARK: usage

    struct UsageRow: Codable, Sendable {
        var workloadId: UUID
        var day: String
        var gpuType: String
        var orgId: UUID
        var projectId: UUID
        var userId: UUID?
        var gpuSeconds: Double

        enum CodingKeys: String, CodingKey {
            case day
            case workloadId = "workload_id"
            case gpuType = "gpu_type"
            case orgId = "org_id"
            case projectId = "project_id"
            case userId = "user_id"
            case gpuSeconds = "gpu_seconds"
        }
    }

    /// Adds GPU-seconds to the (workload, day, type) row.
    static func meter(_ row: UsageRow, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            INSERT INTO gpu_usage (workload_id, day, gpu_type, org_id, project_id, user_id, gpu_seconds)
            VALUES (\(bind: row.workloadId), \(bind: row.day), \(bind: row.gpuType), \(bind: row.orgId), \(bind: row.projectId),
                    \(bind: row.userId), \(bind: row.gpuSeconds))
            ON CONFLICT (workload_id, day, gpu_type) DO UPDATE SET gpu_seconds = gpu_usage.gpu_seconds + excluded.gpu_seconds
            """
        ).run()
    }

    static func usage(orgIds: [UUID], fromDay: String, toDay: String, on sql: any SQLDatabase) async throws -> [UsageRow] {
        guard !orgIds.isEmpty else { return [] }
        return try await sql.select().column("*").from("gpu_usage").where("org_id", .in, orgIds)
            .where("day", .greaterThanOrEqual, fromDay).where("day", .lessThanOrEqual, toDay).all(decoding: UsageRow.self)
    }

    /// GPU-seconds per project and per organization since `fromDay` (the month's quota window).
    static func gpuSecondsSince(_ fromDay: String, on sql: any SQLDatabase) async throws -> (projects: [UUID: Double], orgs: [UUID: Double]) {
        let rows = try await sql.raw(
            """
            SELECT org_id, project_id, SUM(gpu_seconds) AS seconds FROM gpu_usage WHERE day >= \(bind: fromDay) GROUP BY org_id, project_id
            """
        ).all()
        var projects: [UUID: Double] = [:]
        var orgs: [UUID: Double] = [:]
        for row in rows {
            let seconds = try row.decode(column: "seconds", as: Double.self)
            let project = try row.uuid("project_id")
            let org = try row.uuid("org_id")
            projects[project, default: 0] += seconds
            orgs[org, default: 0] += seconds
        }
        return (projects, orgs)
    }
}
