import AITIPCore
import Foundation
import SQLKit
import Storage

/// SQL for experiments, runs and their data. Callers authorize first; everything here trusts its arguments.
enum TrackingStore {
    // MARK: experiments

    static func experiment(_ id: UUID, on sql: any SQLDatabase) async throws -> Experiment? {
        try await sql.select().column("*").from("experiments").where("id", .equal, id).row(Experiment.self)
    }

    static func experiment(named name: String, project: UUID, on sql: any SQLDatabase) async throws -> Experiment? {
        try await sql.select().column("*").from("experiments").where("project_id", .equal, project).where("name", .equal, name)
            .row(Experiment.self)
    }

    static func deleteExperimentTag(_ key: String, experiment: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "experiment_tags").where("experiment_id", .equal, experiment).where("key", .equal, key).run()
    }

    /// Experiments of a project, newest first, with optional name/tag conditions (a subset of MLflow's grammar).
    static func experiments(
        project: UUID, stages: [String], filter: SearchFilter, orderBy: [String], offset: Int, limit: Int,
        on sql: any SQLDatabase
    ) async throws -> [Experiment] {
        var query: SQLQueryString = "SELECT e.* FROM experiments e WHERE e.project_id = \(bind: project) AND e.lifecycle_stage IN (\(binds: stages))"
        for clause in filter.clauses {
            switch (clause.entity, clause.key.lowercased()) {
            case (.attribute, "name"), (.attribute, "experiment_name"):
                query += " AND " + SearchSQL.compare("e.name", clause.comparator, clause.value)
            case (.tag, _):
                query += " AND " + SearchSQL.keyedExists(table: "experiment_tags", owner: "experiment_id", ownerColumn: "e.id", clause: clause)
            default:
                throw AppError.badRequest("Invalid experiment filter: only name and tags.<key> can be compared")
            }
        }
        var ordering: [SQLQueryString] = []
        for entry in orderBy {
            let order = try SearchOrder(entry)
            let direction = order.ascending ? "ASC" : "DESC"
            switch order.key.lowercased() {
            case "name", "experiment_name": ordering.append("e.name \(unsafeRaw: direction)")
            case "creation_time", "created": ordering.append("e.created_ms \(unsafeRaw: direction)")
            case "last_update_time": ordering.append("e.updated_ms \(unsafeRaw: direction)")
            case "experiment_id", "id": ordering.append("e.id \(unsafeRaw: direction)")
            default:
                throw AppError.badRequest("Invalid order_by '\(entry)': experiments sort by name, creation_time, last_update_time or experiment_id")
            }
        }
        ordering.append("e.created_ms DESC")
        ordering.append("e.id ASC")
        query += " ORDER BY " + ordering.joined(separator: ", ") + " LIMIT \(literal: limit) OFFSET \(literal: offset)"
        return try await sql.raw(query).all(decoding: Experiment.self)
    }

    // MARK: runs

    static func run(_ id: UUID, on sql: any SQLDatabase) async throws -> Run? {
        try await sql.select().column("*").from("runs").where("id", .equal, id).first().map { try Run(row: $0) }
    }

    /// Key-value rows that belong to an owner: experiment tags, run params and tags, registered model tags.
    enum PairTable: String {
        case experimentTags = "experiment_tags", runParams = "run_params", runTags = "run_tags", modelTags = "model_tags"

        var owner: String {
            switch self {
            case .experimentTags: "experiment_id"
            case .runParams, .runTags: "run_id"
            case .modelTags: "model_id"
            }
        }
    }

    static func pairs(in table: PairTable, owners: [UUID], on sql: any SQLDatabase) async throws -> [UUID: [KeyValue]] {
        guard !owners.isEmpty else { return [:] }
        let rows = try await sql.select().columns(SQLIdentifier(table.owner), SQLIdentifier("key"), SQLIdentifier("value"))
            .from(table.rawValue).where(SQLIdentifier(table.owner), .in, owners).orderBy("key").all()
        var result: [UUID: [KeyValue]] = [:]
        for row in rows {
            result[try row.uuid(table.owner), default: []].append(
                KeyValue(key: try row.decode(column: "key", as: String.self), value: try row.decode(column: "value", as: String.self)))
        }
        return result
    }

    /// Sets values, replacing those of keys that exist (params never reach here with a changed value: see `log`).
    static func upsert(_ pairs: [KeyValue], in table: PairTable, owner: UUID, on sql: any SQLDatabase) async throws {
        guard !pairs.isEmpty else { return }
        // One statement may not touch a row twice (PostgreSQL refuses): the last value of a repeated key wins.
        var latest: [String: String] = [:]
        var order: [String] = []
        for pair in pairs {
            if latest.updateValue(pair.value, forKey: pair.key) == nil { order.append(pair.key) }
        }
        var rows: [SQLQueryString] = []
        for pair in order.map({ KeyValue(key: $0, value: latest[$0]!) }) { rows.append("(\(bind: owner), \(bind: pair.key), \(bind: pair.value))") }
        try await sql.raw(
            "INSERT INTO \(ident: table.rawValue) (\(ident: table.owner), key, value) VALUES " + rows.joined(separator: ", ")
                + " ON CONFLICT (\(ident: table.owner), key) DO UPDATE SET value = excluded.value"
        ).run()
    }

    /// The runs with their params, tags and latest metrics, read in one statement: on PostgreSQL every statement is a
    /// round trip, and a search page paid three of them here. The metrics come first so that PostgreSQL, which types a
    /// UNION's columns from left to right, meets the typed columns before the NULLs.
    static func details(_ runs: [Run], on sql: any SQLDatabase) async throws -> [RunDetail] {
        guard !runs.isEmpty else { return [] }
        let ids = runs.map(\.id)
        let rows = try await sql.raw(
            """
            SELECT 2 AS part, run_id, key, NULL AS text, step, ts_ms, value AS number, is_nan FROM latest_metrics WHERE run_id IN (\(binds: ids))
            UNION ALL SELECT 0, run_id, key, value, NULL, NULL, NULL, NULL FROM run_params WHERE run_id IN (\(binds: ids))
            UNION ALL SELECT 1, run_id, key, value, NULL, NULL, NULL, NULL FROM run_tags WHERE run_id IN (\(binds: ids))
            ORDER BY part, key
            """
        ).all()
        var params: [UUID: [KeyValue]] = [:], tags: [UUID: [KeyValue]] = [:], metrics: [UUID: [MetricPoint]] = [:]
        for row in rows {
            let runId = try row.uuid("run_id")
            let key = try row.decode(column: "key", as: String.self)
            switch try row.decode(column: "part", as: Int.self) {
            case 0: params[runId, default: []].append(KeyValue(key: key, value: try row.decode(column: "text", as: String.self)))
            case 1: tags[runId, default: []].append(KeyValue(key: key, value: try row.decode(column: "text", as: String.self)))
            default:
                let isNaN = try row.decode(column: "is_nan", as: Bool.self)
                metrics[runId, default: []].append(
                    MetricPoint(
                        key: key, value: isNaN ? .nan : try row.decode(column: "number", as: Double.self),
                        timestampMs: try row.decode(column: "ts_ms", as: Int64.self),
                        step: try row.decode(column: "step", as: Int64.self)))
            }
        }
        return runs.map { RunDetail(run: $0, metrics: metrics[$0.id] ?? [], params: params[$0.id] ?? [], tags: tags[$0.id] ?? []) }
    }

    static func existingParams(_ keys: [String], run: UUID, on sql: any SQLDatabase) async throws -> [String: String] {
        guard !keys.isEmpty else { return [:] }
        let rows = try await sql.select().columns("key", "value").from("run_params").where("run_id", .equal, run)
            .where("key", .in, keys).all()
        var result: [String: String] = [:]
        for row in rows { result[try row.decode(column: "key", as: String.self)] = try row.decode(column: "value", as: String.self) }
        return result
    }

    /// Appends points as one packed chunk per key and moves each key's latest value forward, in the caller's transaction.
    /// A point identical to one the run already has (same key, step, timestamp and value) is stored once, as MLflow
    /// does: its client sends a run's metrics again when it logs a model.
    static func insertMetrics(_ points: [MetricPoint], run: UUID, experiment: UUID, on sql: any SQLDatabase) async throws {
        guard !points.isEmpty else { return }
        var byKey: [String: [MetricPoint]] = [:]
        for point in points { byKey[point.key, default: []].append(point) }
        byKey = try await withoutDuplicates(byKey, run: run, on: sql)
        guard !byKey.isEmpty else { return }
        var chunks = sql.insert(into: "metric_chunks").columns("run_id", "key", "min_step", "max_step", "point_count", "points")
        var latest: [SQLQueryString] = []
        for (key, series) in byKey {
            var minStep = Int64.max, maxStep = Int64.min
            var newest = series[0]
            for point in series {
                minStep = min(minStep, point.step)
                maxStep = max(maxStep, point.step)
                if (point.step, point.timestampMs) >= (newest.step, newest.timestampMs) { newest = point }
            }
            chunks = chunks.values(
                SQLBind(run), SQLBind(key), SQLBind(minStep), SQLBind(maxStep), SQLBind(series.count),
                SQLBind(MetricChunk.pack(series)))
            latest.append(
                "(\(bind: run), \(bind: experiment), \(bind: key), \(bind: newest.step), \(bind: newest.timestampMs), \(bind: newest.value.isNaN ? 0 : newest.value), \(bind: newest.value.isNaN))"
            )
        }
        try await chunks.run()
        try await sql.raw(
            "INSERT INTO latest_metrics (run_id, experiment_id, key, step, ts_ms, value, is_nan) VALUES " + latest.joined(separator: ", ") + """
                 ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, ts_ms = excluded.ts_ms, value = excluded.value, is_nan = excluded.is_nan
                WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.ts_ms >= latest_metrics.ts_ms)
                """
        ).run()
    }

    /// What makes two points the same point: step, timestamp and value (NaN equals NaN, 0 equals -0, as in SQL).
    struct PointIdentity: Hashable {
        let step: Int64
        let timestampMs: Int64
        let valueBits: UInt64

        init(_ point: MetricPoint) {
            step = point.step
            timestampMs = point.timestampMs
            valueBits = point.value.isNaN ? Double.nan.bitPattern : point.value == 0 ? 0 : point.value.bitPattern
        }
    }

    /// Each key's points less those repeated within the request or already stored; keys left with none are dropped.
    /// Points after the key's latest (by step, then timestamp) cannot repeat a stored one, so a run that logs forward
    /// (almost every call) costs one lookup of its latest points and no history read.
    static func withoutDuplicates(_ byKey: [String: [MetricPoint]], run: UUID, on sql: any SQLDatabase) async throws -> [String: [MetricPoint]] {
        let rows = try await sql.select().columns("key", "step", "ts_ms").from("latest_metrics").where("run_id", .equal, run)
            .where("key", .in, Array(byKey.keys)).all()
        var latest: [String: (step: Int64, timestampMs: Int64)] = [:]
        for row in rows {
            latest[try row.decode(column: "key", as: String.self)] = (
                try row.decode(column: "step", as: Int64.self), try row.decode(column: "ts_ms", as: Int64.self)
            )
        }
        var result: [String: [MetricPoint]] = [:]
        for (key, series) in byKey {
            var kept = series
            let increasing = !series.indices.dropFirst().contains { index in
                (series[index - 1].step, series[index - 1].timestampMs) >= (series[index].step, series[index].timestampMs)
            }
            if !increasing {
                var seen = Set<PointIdentity>()
                kept = series.filter { seen.insert(PointIdentity($0)).inserted }
            }
            if let newest = latest[key] {
                let old = kept.filter { ($0.step, $0.timestampMs) <= (newest.step, newest.timestampMs) }
                if let low = old.map(\.step).min(), let high = old.map(\.step).max() {
                    let stored = Set(try await history(run: run, key: key, steps: low...high, on: sql).map(PointIdentity.init))
                    kept.removeAll { stored.contains(PointIdentity($0)) }
                }
            }
            if !kept.isEmpty { result[key] = kept }
        }
        return result
    }

    /// All points of one metric (those within `steps` when given) in (step, timestamp) order, in the order they were
    /// logged where those tie. A step range reads only the chunks that overlap it.
    static func history(run: UUID, key: String, steps: ClosedRange<Int64>? = nil, on sql: any SQLDatabase) async throws -> [MetricPoint] {
        var query: SQLQueryString = "SELECT points FROM metric_chunks WHERE run_id = \(bind: run) AND key = \(bind: key)"
        if let steps { query = query + " AND max_step >= \(bind: steps.lowerBound) AND min_step <= \(bind: steps.upperBound)" }
        let rows = try await sql.raw(query + " ORDER BY min_step").all()
        var points: [MetricPoint] = []
        for row in rows {
            MetricChunk.unpack(try row.decode(column: "points", as: Data.self), key: key, into: &points)
        }
        if let steps { points.removeAll { !steps.contains($0.step) } }
        // Chunks are ordered by their first step, but may overlap (a client logging steps out of order): sort if needed.
        let sorted = !points.indices.dropFirst().contains { index in
            (points[index - 1].step, points[index - 1].timestampMs) > (points[index].step, points[index].timestampMs)
        }
        if !sorted {
            let indexed = points.enumerated().sorted {
                ($0.element.step, $0.element.timestampMs, $0.offset) < ($1.element.step, $1.element.timestampMs, $1.offset)
            }
            points = indexed.map(\.element)
        }
        return points
    }

    static func setRunStatus(_ run: Run, on sql: any SQLDatabase) async throws {
        var query = sql.update("runs").set("status", to: run.status.rawValue).set("name", to: run.name)
            .set("lifecycle_stage", to: run.lifecycleStage.rawValue)
        query = run.endMs.map { query.set("end_ms", to: $0) } ?? query.set("end_ms", to: SQLLiteral.null)
        try await query.where("id", .equal, run.id).run()
    }
}
