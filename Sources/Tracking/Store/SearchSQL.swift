import AITIPCore
import Foundation
import SQLKit

/// Compiles parsed filters and orderings to SQL with bound values. The same text runs on SQLite and PostgreSQL:
/// LIKE is case-sensitive on both (SQLite connections set `case_sensitive_like`), ILIKE becomes LOWER() LIKE LOWER().
enum SearchSQL {
    static func compare(_ column: String, _ comparator: SearchFilter.Comparator, _ value: SearchFilter.Value) -> SQLQueryString {
        switch (comparator, value) {
        case (.in, .list(let items)): return "\(unsafeRaw: column) IN (\(binds: items))"
        case (.notIn, .list(let items)): return "\(unsafeRaw: column) NOT IN (\(binds: items))"
        case (.ilike, .string(let text)): return "LOWER(\(unsafeRaw: column)) LIKE LOWER(\(bind: text))"
        case (_, .string(let text)): return "\(unsafeRaw: column) \(unsafeRaw: comparator.rawValue) \(bind: text)"
        case (_, .number(let number)): return "\(unsafeRaw: column) \(unsafeRaw: comparator.rawValue) \(bind: number)"
        default: return "1 = 0"
        }
    }

    /// `EXISTS (a row of <table> for this owner with this key whose value matches)`. As in MLflow, a run without the
    /// key matches no comparison, `!=` included.
    static func keyedExists(table: String, owner: String, ownerColumn: String, clause: SearchFilter.Clause) -> SQLQueryString {
        "EXISTS (SELECT 1 FROM \(unsafeRaw: table) x WHERE x.\(unsafeRaw: owner) = \(unsafeRaw: ownerColumn) AND x.key = \(bind: clause.key) AND "
            + compare("x.value", clause.comparator, clause.value) + ")"
    }

    static func runClause(_ clause: SearchFilter.Clause) -> SQLQueryString {
        switch clause.entity {
        case .metric:
            // NaN is stored as is_nan with value 0: it never satisfies a numeric comparison.
            return "EXISTS (SELECT 1 FROM latest_metrics x WHERE x.run_id = r.id AND x.key = \(bind: clause.key) AND x.is_nan = \(bind: false) AND "
                + compare("x.value", clause.comparator, clause.value) + ")"
        case .param:
            return keyedExists(table: "run_params", owner: "run_id", ownerColumn: "r.id", clause: clause)
        case .tag:
            return keyedExists(table: "run_tags", owner: "run_id", ownerColumn: "r.id", clause: clause)
        case .metadata:
            return "1 = 0" // runs have none; the parser's runs grammar refuses it
        case .attribute:
            let attribute = RunAttribute(clause.key)!
            if attribute == .runId {
                // Run ids compare as text: the filter's value may be any string, not necessarily a UUID.
                let ids: [UUID] =
                    switch clause.value {
                    case .list(let items): items.compactMap { UUID(uuidString: $0) }
                    case .string(let text): UUID(uuidString: text).map { [$0] } ?? []
                    case .number: []
                    }
                switch clause.comparator {
                case .equal, .in: return ids.isEmpty ? "1 = 0" : "r.id IN (\(binds: ids))"
                case .notEqual, .notIn: return ids.isEmpty ? "1 = 1" : "r.id NOT IN (\(binds: ids))"
                default: return "1 = 0"
                }
            }
            var value = clause.value
            if attribute == .lifecycleStage || attribute == .status, case .string(let text) = value {
                value = .string(attribute == .status ? text.uppercased() : text.lowercased())
            }
            return compare("r.\(attribute.rawValue)", clause.comparator, value)
        }
    }

    /// The page of runs matching `filter` in the given experiments, ordered as asked; ties broken by start time and id.
    static func searchRuns(
        experiments: [UUID], stages: [String], filter: SearchFilter, orderBy: [SearchOrder],
        offset: Int, limit: Int, on sql: any SQLDatabase
    ) async throws -> [Run] {
        var clauses = filter.clauses
        var from: SQLQueryString = "SELECT r.* FROM runs r"
        var conditions: [SQLQueryString] = []
        var ordering: [SQLQueryString] = []
        var orders = orderBy[...]
        // Ordered by a metric the filter also compares: only runs with a finite value of it can match, so walk
        // latest_metrics (experiment_id, key, value) in value order and stop at the page instead of sorting them all.
        if let first = orders.first, first.entity == .metric, clauses.contains(where: { $0.entity == .metric && $0.key == first.key }) {
            from = "SELECT r.* FROM latest_metrics d JOIN runs r ON r.id = d.run_id"
            conditions = ["d.experiment_id IN (\(binds: experiments))", "d.key = \(bind: first.key)", "d.is_nan = \(bind: false)"]
            for clause in clauses where clause.entity == .metric && clause.key == first.key {
                conditions.append(compare("d.value", clause.comparator, clause.value))
            }
            clauses.removeAll { $0.entity == .metric && $0.key == first.key }
            ordering.append("d.value \(unsafeRaw: first.ascending ? "ASC" : "DESC")")
            orders = orders.dropFirst()
        } else {
            conditions = ["r.experiment_id IN (\(binds: experiments))"]
        }
        for (index, order) in orders.enumerated() {
            let alias = "o\(index)"
            let direction = order.ascending ? "ASC" : "DESC"
            let table: String? =
                switch order.entity {
                case .metric: "latest_metrics"
                case .param: "run_params"
                case .tag: "run_tags"
                case .attribute, .metadata: nil
                }
            if let table {
                from +=
                    " LEFT JOIN \(unsafeRaw: table) \(unsafeRaw: alias) ON \(unsafeRaw: alias).run_id = r.id AND \(unsafeRaw: alias).key = \(bind: order.key)"
                // Runs without the key sort last in either direction, as in MLflow.
                ordering.append("CASE WHEN \(unsafeRaw: alias).value IS NULL THEN 1 ELSE 0 END")
                ordering.append("\(unsafeRaw: alias).value \(unsafeRaw: direction)")
            } else {
                ordering.append("r.\(unsafeRaw: RunAttribute(order.key)!.rawValue) \(unsafeRaw: direction)")
            }
        }
        ordering.append("r.start_ms DESC")
        ordering.append("r.id ASC")
        conditions.append("r.lifecycle_stage IN (\(binds: stages))")
        conditions += clauses.map(runClause)
        let query =
            from + " WHERE " + conditions.joined(separator: " AND ") + " ORDER BY " + ordering.joined(separator: ", ")
            + " LIMIT \(literal: limit) OFFSET \(literal: offset)"
        return try await sql.raw(query).all().map { try Run(row: $0) }
    }
}
