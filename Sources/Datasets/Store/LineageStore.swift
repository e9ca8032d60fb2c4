import AITIPCore
import Foundation
import SQLKit
import Storage

/// SQL for the explicit lineage edges and the dataset-version nodes they join. Edges name their ends by kind and id
/// without foreign keys (most ends live in other modules' tables), so removing a version's edges is explicit.
enum LineageStore {
    static func insert(_ edge: LineageEdge, on sql: any SQLDatabase) async throws {
        try await sql.insert(edge, into: "lineage_edges")
    }

    /// The edge with these ends and relation, if it was recorded already.
    static func edge(
        from source: (LineageKind, UUID), to target: (LineageKind, UUID), relation: String, on sql: any SQLDatabase
    ) async throws -> LineageEdge? {
        try await sql.select().column("*").from("lineage_edges").where("source_id", .equal, source.1)
            .where("target_id", .equal, target.1).where("source_kind", .equal, source.0.rawValue)
            .where("target_kind", .equal, target.0.rawValue).where("relation", .equal, relation).first(decoding: LineageEdge.self)
    }

    /// Edges out of nodes with these ids (`downstream`) or into them, whatever the nodes' kind: callers match kinds.
    /// 500 ids a statement.
    static func edges(of ids: [UUID], downstream: Bool, on sql: any SQLDatabase) async throws -> [LineageEdge] {
        let column = downstream ? "source_id" : "target_id"
        var result: [LineageEdge] = []
        for chunk in ids.chunked(500) {
            result += try await sql.select().column("*").from("lineage_edges").where(SQLIdentifier(column), .in, chunk).all(
                decoding: LineageEdge.self)
        }
        return result
    }

    /// Removes every edge into or out of these ids, 500 ids a statement.
    static func deleteEdges(touching ids: [UUID], on sql: any SQLDatabase) async throws {
        for chunk in ids.chunked(500) {
            try await sql.delete(from: "lineage_edges").where { $0.where("source_id", .in, chunk).orWhere("target_id", .in, chunk) }.run()
        }
    }

    /// Where each dataset version lives and its label (`dataset:version`), by id; unknown ids are left out.
    static func versionNodes(_ ids: [UUID], on sql: any SQLDatabase) async throws -> [UUID: LineageNodeFacts] {
        var result: [UUID: LineageNodeFacts] = [:]
        for chunk in ids.chunked(500) {
            for row in try await sql.select().columns(
                SQLColumn("id", table: "dataset_versions"), SQLColumn("version", table: "dataset_versions"), SQLColumn("name", table: "datasets"),
                SQLColumn("org_id", table: "datasets"), SQLColumn("project_id", table: "datasets")
            )
            .from("dataset_versions").join("datasets", on: "datasets.id = dataset_versions.dataset_id")
            .where(SQLColumn("id", table: "dataset_versions"), .in, SQLBind.group(chunk)).all() {
                result[try row.uuid("id")] = LineageNodeFacts(
                    orgId: try row.uuid("org_id"), projectId: try row.uuid("project_id"),
                    label: "\(try row.decode(column: "name", as: String.self)):\(try row.decode(column: "version", as: String.self))")
            }
        }
        return result
    }

    /// For each of these datasets, the versions its latest version was derived from directly (edges between dataset
    /// versions only).
    static func upstreamOfLatest(_ datasets: [UUID], on sql: any SQLDatabase) async throws -> [UUID: [UUID]] {
        var result: [UUID: [UUID]] = [:]
        for row in try await sql.select().columns(
            SQLColumn("dataset_id", table: "dataset_versions"), SQLColumn("source_id", table: "lineage_edges")
        ).from("lineage_edges")
            .join("dataset_versions", on: "dataset_versions.id = lineage_edges.target_id")
            .join("datasets", on: "datasets.id = dataset_versions.dataset_id AND datasets.version = dataset_versions.version")
            .where(SQLColumn("source_kind", table: "lineage_edges"), .equal, SQLBind(LineageKind.datasetVersion.rawValue))
            .where(SQLColumn("target_kind", table: "lineage_edges"), .equal, SQLBind(LineageKind.datasetVersion.rawValue))
            .where(SQLColumn("dataset_id", table: "dataset_versions"), .in, SQLBind.group(datasets)).all()
        {
            result[try row.uuid("dataset_id"), default: []].append(try row.uuid("source_id"))
        }
        return result
    }
}
