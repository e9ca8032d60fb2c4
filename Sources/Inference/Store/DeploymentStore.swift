import AITIPCore
import Foundation
import SQLKit
import Storage

/// `inference_services` and `inference_replicas`.
enum DeploymentStore {
    static func insert(_ deployment: Deployment, on sql: any SQLDatabase) async throws {
        try await sql.insert(deployment, into: "inference_services")
    }

    static func save(_ deployment: Deployment, on sql: any SQLDatabase) async throws {
        try await sql.updateRow(deployment, in: "inference_services", id: deployment.id)
    }

    static func deployment(_ id: UUID, on sql: any SQLDatabase) async throws -> Deployment? {
        try await sql.select().column("*").from("inference_services").where("id", .equal, id).first(decoding: Deployment.self)
    }

    static func deployment(named name: String, project: UUID, on sql: any SQLDatabase) async throws -> Deployment? {
        try await sql.select().column("*").from("inference_services").where("project_id", .equal, project).where("name", .equal, name)
            .first(decoding: Deployment.self)
    }

    /// Newest first (ids are UUIDv7).
    static func deployments(project: UUID, page: PageRequest, on sql: any SQLDatabase) async throws -> Page<Deployment> {
        let select = sql.select().column("*").from("inference_services").where("project_id", .equal, project)
        if let after = page.after { select.where("id", .lessThan, after) }
        let rows = try await select.orderBy("id", .descending).limit(page.limit + 1).all(decoding: Deployment.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    static func children(of parent: UUID, on sql: any SQLDatabase) async throws -> [Deployment] {
        try await sql.select().column("*").from("inference_services").where("parent_service_id", .equal, parent).orderBy("id")
            .all(decoding: Deployment.self)
    }

    /// Every deployment the reconciler looks after: those that want replicas, and those that still have some.
    static func reconcilable(on sql: any SQLDatabase) async throws -> [Deployment] {
        try await sql.raw(
            """
            SELECT * FROM inference_services WHERE status IN ('pending', 'deploying', 'running')
            OR id IN (SELECT service_id FROM inference_replicas WHERE ended_ms IS NULL)
            ORDER BY id
            """
        ).all(decoding: Deployment.self)
    }

    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "inference_services").where("id", .equal, id).run()
    }

    // MARK: replicas

    static func insert(_ replica: Replica, on sql: any SQLDatabase) async throws {
        try await sql.insert(replica, into: "inference_replicas")
    }

    /// The replicas that have not ended.
    static func replicas(of services: [UUID], on sql: any SQLDatabase) async throws -> [Replica] {
        guard !services.isEmpty else { return [] }
        return try await sql.select().column("*").from("inference_replicas").where("service_id", .in, services)
            .where("ended_ms", .is, SQLLiteral.null).orderBy("workload_id").all(decoding: Replica.self)
    }

    /// Replicas old and new, newest first.
    static func history(of service: UUID, limit: Int, on sql: any SQLDatabase) async throws -> [Replica] {
        try await sql.select().column("*").from("inference_replicas").where("service_id", .equal, service).orderBy("workload_id", .descending)
            .limit(limit).all(decoding: Replica.self)
    }

    static func markReady(_ workloadId: UUID, at ms: Int64, on sql: any SQLDatabase) async throws {
        try await sql.update("inference_replicas").set("ready_ms", to: ms).where("workload_id", .equal, workloadId).where(
            "ready_ms", .is, SQLLiteral.null
        )
        .run()
    }

    /// The replica has ended; its row and workload stay for its log (they go with the service).
    static func markEnded(_ workloadId: UUID, at ms: Int64, on sql: any SQLDatabase) async throws {
        try await sql.update("inference_replicas").set("ended_ms", to: ms).where("workload_id", .equal, workloadId).run()
    }
}
