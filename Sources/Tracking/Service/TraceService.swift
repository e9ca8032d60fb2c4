import AITIPCore
import Foundation
import Identity
import ObjectStore
import SQLKit
import Storage

/// MLflow 3 traces: the client records a trace's spans locally and, when the root span ends, sends the trace's
/// summary here (`start`) and then uploads the spans as `traces.json` to the artifact location this service names in
/// the trace's `mlflow.artifactLocation` tag. Summaries, tags and metadata are rows (searched in SQL); spans are read
/// back from the store for the console's span tree. Authorized through the trace's experiment, like its runs.
package struct TraceService: Sendable {
    /// The largest `traces.json` the server parses for the span tree (the client writes one file per trace; parsed, a
    /// file takes several times its size in memory, so the bound keeps a hostile one from exhausting the server).
    package static let maxSpanFileBytes = 16 << 20
    static let maxPreviewCharacters = 10_000
    static let maxEntries = 200

    let database: Database
    let store: any ObjectStore
    let audit: AuditLog
    let clock: any Clock

    package init(database: Database, store: any ObjectStore, audit: AuditLog, clock: any Clock) {
        self.database = database
        self.store = store
        self.audit = audit
        self.clock = clock
    }

    /// Records a finished trace. The client may send the same trace again (it retries on timeouts): the second call
    /// replaces the first, in the same experiment only.
    package func start(_ input: TraceInfo, caller: Caller) async throws -> TraceInfo {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        Self.checkId(input.id, into: &validator)
        if !TraceInfo.states.contains(input.state) {
            validator.add("state", "must be one of \(TraceInfo.states.sorted().joined(separator: ", "))")
        }
        if input.requestTimeMs < 0 { validator.add("request_time", "must not be before 1970") }
        if input.executionMs < 0 { validator.add("execution_duration", "must not be negative") }
        for (field, preview) in [("request_preview", input.requestPreview), ("response_preview", input.responsePreview)] {
            if let preview, preview.count > Self.maxPreviewCharacters {
                validator.add(field, "has \(preview.count) characters; the limit is \(Self.maxPreviewCharacters)")
            }
        }
        for (field, pairs) in [("tags", input.tags), ("trace_metadata", input.metadata)] {
            if pairs.count > Self.maxEntries { validator.add(field, "has \(pairs.count) entries; the limit is \(Self.maxEntries)") }
            var checked = Validator()
            Limits.checkTags(pairs, into: &checked)
            for error in checked.errors { validator.add(field, error.message) }
        }
        try validator.finish()
        return try await database.transaction { sql in
            let experiment = try await TrackingService.authorizedExperiment(input.experimentId, principal, .experimentsWrite, on: sql)
            var trace = input
            trace.tags.removeAll { $0.key == TraceInfo.artifactLocationTag }
            trace.tags.append(KeyValue(key: TraceInfo.artifactLocationTag, value: "\(experiment.artifactLocation)/traces/\(input.id)/artifacts"))
            let existing = try await sql.select().column("experiment_id").from("traces").where("id", .equal, input.id).first()
            if let existing {
                guard try existing.uuid("experiment_id") == experiment.id else {
                    throw AppError(.conflict, "Trace '\(input.id)' already exists in another experiment")
                }
                try await sql.delete(from: "traces").where("id", .equal, input.id).run()
            }
            try await sql.insert(into: "traces").model(TraceRow(trace)).run()
            try await Self.insertEntries(of: trace, on: sql)
            try await audit.record(
                on: sql, caller, orgId: experiment.orgId, action: existing == nil ? "trace.create" : "trace.update", targetType: "trace",
                targetId: input.id)
            return trace
        }
    }

    package func trace(_ id: String, caller: Caller) async throws -> TraceInfo {
        let principal = try caller.requirePrincipal()
        return try await database.read { sql in try await Self.authorized(id, principal, .experimentsRead, on: sql).trace }
    }

    /// Sets (`value` non-nil) or removes a tag. The artifact location is the server's: it cannot be changed.
    package func changeTag(_ key: String, to value: String?, of id: String, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        var validator = Validator()
        Limits.checkTags([KeyValue(key: key, value: value ?? "")], into: &validator)
        if key == TraceInfo.artifactLocationTag { validator.add("key", "'\(key)' is set by the server") }
        try validator.finish()
        try await database.transaction { sql in
            let (trace, experiment) = try await Self.authorized(id, principal, .experimentsWrite, on: sql)
            try await sql.delete(from: "trace_tags").where("trace_id", .equal, trace.id).where("kind", .equal, "tag").where("key", .equal, key).run()
            if let value {
                try await sql.insert(into: "trace_tags").columns("trace_id", "kind", "key", "value")
                    .values(SQLBind(trace.id), SQLBind("tag"), SQLBind(key), SQLBind(value)).run()
            }
            try await audit.record(on: sql, caller, orgId: experiment.orgId, action: "trace.update", targetType: "trace", targetId: id)
        }
    }

    /// MLflow's DeleteTraces: the named traces of the experiment, or those older than `olderThanMs` (at most
    /// `maxTraces`, oldest first). Their span files go too. Returns how many traces were deleted.
    package func delete(in experimentId: UUID, ids: [String], olderThanMs: Int64?, maxTraces: Int?, caller: Caller) async throws -> Int {
        let principal = try caller.requirePrincipal()
        guard ids.isEmpty != (olderThanMs == nil) else {
            throw AppError.badRequest("Name either request_ids or max_timestamp_millis (with max_traces), not both")
        }
        if let maxTraces, maxTraces < 1 { throw AppError.badRequest("max_traces must be positive") }
        let deleted: [String] = try await database.transaction { sql in
            let experiment = try await TrackingService.authorizedExperiment(experimentId, principal, .experimentsDelete, on: sql)
            var query = sql.select().column("id").from("traces").where("experiment_id", .equal, experimentId)
            if let olderThanMs {
                query = query.where("request_time_ms", .lessThanOrEqual, olderThanMs).orderBy("request_time_ms").orderBy("id")
                if let maxTraces { query = query.limit(maxTraces) }
            } else {
                query = query.where("id", .in, ids)
            }
            let found = try await query.all().map { try $0.decode(column: "id", as: String.self) }
            guard !found.isEmpty else { return [] }
            try await sql.delete(from: "traces").where("id", .in, found).run()
            try await audit.record(
                on: sql, caller, orgId: experiment.orgId, action: "trace.delete", targetType: "experiment",
                targetId: experimentId.lowercasedString, detail: "\(found.count) trace(s): \(found.prefix(20).joined(separator: ", "))")
            return found
        }
        // After the commit: a failed file removal leaves an orphan file, never a trace without its spans.
        for id in deleted {
            let prefix = try ObjectKey("mlflow/\(experimentId.lowercasedString)/traces/\(id)")
            for key in try await store.list(prefix: prefix) where key.path.hasPrefix(prefix.path + "/") {
                try? await store.delete(key)
            }
        }
        return deleted.count
    }

    /// A page of traces of the given experiments matching `filter` (MLflow's grammar with trace names), newest first
    /// unless `orderBy` says otherwise.
    package func search(
        experimentIds: [UUID], filter: String?, orderBy: [String], maxResults: Int, offset: Int, caller: Caller
    ) async throws -> (traces: [TraceInfo], nextOffset: Int?) {
        let principal = try caller.requirePrincipal()
        let parsed = try SearchFilter(filter, grammar: .traces)
        let ordering = try orderBy.map(Self.orderColumn)
        let limit = min(max(maxResults, 1), 1_000)
        return try await database.read { sql in
            for id in Set(experimentIds) { _ = try await TrackingService.authorizedExperiment(id, principal, .experimentsRead, on: sql) }
            guard !experimentIds.isEmpty else { return ([], nil) }
            var query: SQLQueryString = "SELECT t.* FROM traces t WHERE t.experiment_id IN (\(binds: experimentIds))"
            for clause in parsed.clauses { query += " AND " + Self.condition(clause) }
            let order = (ordering.isEmpty ? ["t.request_time_ms DESC"] : ordering) + ["t.id"]
            query += " ORDER BY \(unsafeRaw: order.joined(separator: ", ")) LIMIT \(literal: limit + 1) OFFSET \(literal: offset)"
            let rows = try await sql.raw(query).all(decoding: TraceRow.self)
            let page = Array(rows.prefix(limit))
            return (try await Self.withEntries(page, on: sql), rows.count > limit ? offset + limit : nil)
        }
    }

    /// The trace and its spans, parsed from the `traces.json` the client uploaded; nil spans when there is no such file
    /// (the client failed or is still uploading).
    package func spans(_ id: String, caller: Caller) async throws -> (trace: TraceInfo, spans: [TraceSpan]?) {
        let trace = try await self.trace(id, caller: caller)
        let key = try ObjectKey("mlflow/\(trace.experimentId.lowercasedString)/traces/\(id)/artifacts/traces.json")
        guard let size = try await store.size(key) else { return (trace, nil) }
        guard size <= Self.maxSpanFileBytes else {
            throw AppError.validation([
                FieldError(
                    field: "traces.json",
                    message: "has \(size) bytes; the server shows at most \(Self.maxSpanFileBytes) (the file is in the trace's artifact location)")
            ])
        }
        return (trace, try TraceSpanFile.parse(try await store.get(key)))
    }

    // MARK: - SQL

    static func checkId(_ id: String, into validator: inout Validator) {
        let allowed = id.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
        if id.isEmpty || id.count > 128 || !allowed {
            validator.add("trace_id", "'\(id.prefix(50))' must have 1 to 128 letters, digits, '-' or '_'")
        }
    }

    static func authorized(_ id: String, _ principal: Principal, _ permission: Permission, on sql: any SQLDatabase) async throws
        -> (trace: TraceInfo, experiment: Experiment)
    {
        guard let row = try await sql.select().column("*").from("traces").where("id", .equal, id).first(decoding: TraceRow.self),
            let experiment = try await TrackingStore.experiment(row.experimentId, on: sql)
        else {
            throw AppError(.notFound, "Trace with ID '\(id.prefix(128))' not found.")
        }
        try Policy.authorize(principal, permission, on: experiment.policyResource)
        return (try await withEntries([row], on: sql)[0], experiment)
    }

    static func insertEntries(of trace: TraceInfo, on sql: any SQLDatabase) async throws {
        let entries = trace.tags.map { ("tag", $0) } + trace.metadata.map { ("meta", $0) }
        guard !entries.isEmpty else { return }
        var insert = sql.insert(into: "trace_tags").columns("trace_id", "kind", "key", "value")
        for (kind, pair) in entries { insert = insert.values(SQLBind(trace.id), SQLBind(kind), SQLBind(pair.key), SQLBind(pair.value)) }
        try await insert.run()
    }

    static func withEntries(_ rows: [TraceRow], on sql: any SQLDatabase) async throws -> [TraceInfo] {
        guard !rows.isEmpty else { return [] }
        var tags: [String: [KeyValue]] = [:]
        var metadata: [String: [KeyValue]] = [:]
        let entries = try await sql.select().columns("trace_id", "kind", "key", "value").from("trace_tags")
            .where("trace_id", .in, rows.map(\.id)).orderBy("key").all()
        for entry in entries {
            let pair = KeyValue(key: try entry.decode(column: "key", as: String.self), value: try entry.decode(column: "value", as: String.self))
            let id = try entry.decode(column: "trace_id", as: String.self)
            if try entry.decode(column: "kind", as: String.self) == "tag" {
                tags[id, default: []].append(pair)
            } else {
                metadata[id, default: []].append(pair)
            }
        }
        return rows.map { $0.info(tags: tags[$0.id] ?? [], metadata: metadata[$0.id] ?? []) }
    }

    static func condition(_ clause: SearchFilter.Clause) -> SQLQueryString {
        func entry(_ kind: String, _ key: String) -> SQLQueryString {
            "EXISTS (SELECT 1 FROM trace_tags x WHERE x.trace_id = t.id AND x.kind = \(bind: kind) AND x.key = \(bind: key) AND "
                + SearchSQL.compare("x.value", clause.comparator, clause.value) + ")"
        }
        switch clause.entity {
        case .tag: return entry("tag", clause.key)
        case .metadata: return entry("meta", clause.key)
        case .metric, .param: return "1 = 0" // refused by the trace grammar
        case .attribute:
            switch TraceAttribute(clause.key)! {
            case .traceId: return SearchSQL.compare("t.id", clause.comparator, clause.value)
            case .name: return entry("tag", "mlflow.traceName")
            case .runId: return entry("meta", "mlflow.sourceRun")
            case .clientRequestId: return SearchSQL.compare("t.client_request_id", clause.comparator, clause.value)
            case .requestTime: return SearchSQL.compare("t.request_time_ms", clause.comparator, clause.value)
            case .executionTime: return SearchSQL.compare("t.execution_ms", clause.comparator, clause.value)
            case .state:
                let value: SearchFilter.Value =
                    switch clause.value {
                    case .string(let text): .string(text.uppercased())
                    case .list(let items): .list(items.map { $0.uppercased() })
                    case .number(let number): .number(number)
                    }
                return SearchSQL.compare("t.state", clause.comparator, value)
            }
        }
    }

    /// `timestamp_ms DESC`, `execution_time_ms`, `status ASC`, `trace_id`: a column of `traces` and a direction.
    static func orderColumn(_ text: String) throws(AppError) -> String {
        var words = text.trimmingCharacters(in: .whitespaces)
        var direction = "ASC"
        if words.uppercased().hasSuffix(" DESC") {
            direction = "DESC"; words = String(words.dropLast(5))
        } else if words.uppercased().hasSuffix(" ASC") {
            words = String(words.dropLast(4))
        }
        let (entity, key) = try SearchFilter.identifier(words.trimmingCharacters(in: .whitespaces))
        let column: String? =
            switch (entity, TraceAttribute(key)) {
            case (.attribute, .traceId?): "t.id"
            case (.attribute, .state?): "t.state"
            case (.attribute, .requestTime?): "t.request_time_ms"
            case (.attribute, .executionTime?): "t.execution_ms"
            case (.attribute, .clientRequestId?): "t.client_request_id"
            default: nil
            }
        guard let column else {
            throw AppError.badRequest("Invalid order_by '\(text.prefix(100))': traces sort by timestamp_ms, execution_time_ms, status or trace_id")
        }
        return "\(column) \(direction)"
    }
}

extension ArtifactService {
    /// Traces keep their spans in the artifact store, so the trace service is built from the same parts.
    package var traces: TraceService { TraceService(database: database, store: store, audit: audit, clock: clock) }
}

/// `traces.json` as the MLflow client writes it: `{"spans": [{span_id, parent_span_id, name, start_time_unix_nano,
/// end_time_unix_nano, status: {code, message}, attributes, events}]}`, ids base64 (shown as hex, as MLflow's UI does).
enum TraceSpanFile {
    static func parse(_ data: Data) throws(AppError) -> [TraceSpan] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let spans = object["spans"] as? [[String: Any]] else {
            throw AppError.validation([FieldError(field: "traces.json", message: "is not the span file the MLflow client writes")])
        }
        return spans.map { span in
            TraceSpan(
                spanId: hex(span["span_id"]) ?? "", parentSpanId: hex(span["parent_span_id"]), name: span["name"] as? String ?? "",
                startNs: nanos(span["start_time_unix_nano"]) ?? 0, endNs: nanos(span["end_time_unix_nano"]),
                statusCode: (span["status"] as? [String: Any])?["code"] as? String ?? "STATUS_CODE_UNSET",
                statusMessage: (span["status"] as? [String: Any])?["message"] as? String ?? "",
                attributes: pairs(span["attributes"]),
                events: (span["events"] as? [[String: Any]] ?? []).map { event in
                    TraceSpan.Event(
                        name: event["name"] as? String ?? "", timeNs: nanos(event["time_unix_nano"]) ?? 0, attributes: pairs(event["attributes"]))
                })
        }
    }

    private static func hex(_ value: Any?) -> String? {
        guard let text = value as? String, !text.isEmpty else { return nil }
        guard let bytes = Data(base64Encoded: text) else { return text }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func nanos(_ value: Any?) -> Int64? {
        switch value {
        case let number as NSNumber: number.int64Value
        case let text as String: Int64(text)
        default: nil
        }
    }

    /// Attribute values as text: strings as they are (the client stores JSON text), anything else as JSON.
    private static func pairs(_ value: Any?) -> [KeyValue] {
        guard let object = value as? [String: Any] else { return [] }
        return object.keys.sorted().map { key in
            let raw = object[key]!
            if let text = raw as? String { return KeyValue(key: key, value: text) }
            let data = (try? JSONSerialization.data(withJSONObject: raw, options: [.fragmentsAllowed, .sortedKeys])) ?? Data()
            return KeyValue(key: key, value: String(decoding: data, as: UTF8.self))
        }
    }
}
