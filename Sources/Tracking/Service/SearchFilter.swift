import AITIPCore
import Foundation

/// MLflow's search filter grammar: comparisons joined by AND, e.g.
/// `metrics.acc > 0.9 AND params.optimizer = 'adam' AND tags.\`team\` LIKE 'vision%' AND attributes.status IN ('FINISHED')`.
/// Parsed here, compiled to SQL by `SearchSQL`; nothing is filtered in memory. Trace searches use the same grammar
/// with their own names: `metadata.<key>`, and attributes such as `timestamp_ms` and `status` (`TraceAttribute`).
package struct SearchFilter: Sendable, Equatable {
    package enum Entity: String, Sendable, Equatable {
        case metric, param, tag, attribute, metadata
    }

    /// What is searched: runs (and the entities that share their names), or traces.
    package enum Grammar: Sendable {
        case runs, traces
    }

    package enum Comparator: String, Sendable, Equatable {
        case equal = "=", notEqual = "!=", greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<="
        case like = "LIKE", ilike = "ILIKE", `in` = "IN", notIn = "NOT IN"

        var isOrdering: Bool { [.greater, .greaterOrEqual, .less, .lessOrEqual].contains(self) }
    }

    package enum Value: Sendable, Equatable {
        case number(Double)
        case string(String)
        case list([String])
    }

    package struct Clause: Sendable, Equatable {
        package var entity: Entity
        package var key: String
        package var comparator: Comparator
        package var value: Value
    }

    package var clauses: [Clause]

    package init(_ text: String?, grammar: Grammar = .runs) throws(AppError) {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            clauses = []
            return
        }
        var parser = Parser(tokens: try Tokenizer.tokens(text), grammar: grammar)
        clauses = try parser.clauses()
    }

    /// `metrics.acc`, `params."learning rate"`, `tags.\`mlflow.runName\``, `start_time` (an attribute).
    static func identifier(_ text: String) throws(AppError) -> (Entity, String) {
        let entityNames: [(String, Entity)] = [
            ("metrics", .metric), ("metric", .metric), ("params", .param), ("param", .param), ("parameters", .param),
            ("tags", .tag), ("tag", .tag), ("attributes", .attribute), ("attribute", .attribute), ("attr", .attribute),
            ("run", .attribute), ("trace", .attribute), ("metadata", .metadata), ("request_metadata", .metadata),
        ]
        if let dot = text.firstIndex(of: "."), let entity = entityNames.first(where: { $0.0 == text[..<dot].lowercased() })?.1 {
            let key = unquote(String(text[text.index(after: dot)...]))
            guard !key.isEmpty else { throw AppError.badRequest("Invalid filter: '\(text)' names no key") }
            return (entity, key)
        }
        return (.attribute, unquote(text))
    }

    static func unquote(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, first == text.last, ["`", "\"", "'"].contains(first) else { return text }
        return String(text.dropFirst().dropLast())
    }
}

enum Token: Equatable {
    case identifier(String)
    case string(String)
    case number(Double)
    case comparator(String)
    case keyword(String)
    case open, close, comma
}

enum Tokenizer {
    static func tokens(_ text: String) throws(AppError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text)
        var index = 0
        func fail(_ message: String) -> AppError { AppError.badRequest("Invalid filter '\(text.prefix(200))': \(message)") }
        while index < chars.count {
            let char = chars[index]
            if char.isWhitespace { index += 1; continue }
            if char == "(" { tokens.append(.open); index += 1; continue }
            if char == ")" { tokens.append(.close); index += 1; continue }
            if char == "," { tokens.append(.comma); index += 1; continue }
            if "<>=!".contains(char) {
                var op = String(char)
                if index + 1 < chars.count, chars[index + 1] == "=" { op.append("="); index += 1 }
                index += 1
                guard ["=", "!=", ">", ">=", "<", "<="].contains(op) else { throw fail("unknown comparator '\(op)'") }
                tokens.append(.comparator(op))
                continue
            }
            if char == "'" || char == "\"" {
                var value = ""
                index += 1
                var closed = false
                while index < chars.count {
                    if chars[index] == char {
                        // A doubled quote inside a string stands for the quote itself.
                        if index + 1 < chars.count, chars[index + 1] == char { value.append(char); index += 2; continue }
                        closed = true
                        index += 1
                        break
                    }
                    value.append(chars[index])
                    index += 1
                }
                guard closed else { throw fail("unterminated string") }
                // A double-quoted word right after "entity." is a key, not a value: handled by gluing below.
                if char == "\"", case .identifier(let previous)? = tokens.last, previous.hasSuffix(".") {
                    tokens[tokens.count - 1] = .identifier(previous + "\"" + value + "\"")
                } else {
                    tokens.append(.string(value))
                }
                continue
            }
            if char.isNumber
                || ((char == "-" || char == "+" || char == ".") && index + 1 < chars.count && (chars[index + 1].isNumber || chars[index + 1] == "."))
            {
                var end = index + 1
                while end < chars.count,
                    chars[end].isNumber || ".eE".contains(chars[end])
                        || ((chars[end] == "-" || chars[end] == "+") && "eE".contains(chars[end - 1]))
                {
                    end += 1
                }
                let literal = String(chars[index..<end])
                guard let number = Double(literal) else { throw fail("'\(literal)' is not a number") }
                tokens.append(.number(number))
                index = end
                continue
            }
            // Identifiers: words, dots, and backtick-quoted parts (`metrics.\`my metric\``).
            var word = ""
            while index < chars.count {
                let current = chars[index]
                if current == "`" {
                    guard let close = chars[(index + 1)...].firstIndex(of: "`") else { throw fail("unterminated `quoted` key") }
                    word += String(chars[index...close])
                    index = close + 1
                    continue
                }
                guard current.isLetter || current.isNumber || "_.-:/".contains(current) else { break }
                word.append(current)
                index += 1
            }
            guard !word.isEmpty else { throw fail("unexpected '\(char)'") }
            switch word.uppercased() {
            case "AND", "LIKE", "ILIKE", "IN", "NOT", "IS", "NULL": tokens.append(.keyword(word.uppercased()))
            case "OR": throw fail("OR is not supported (MLflow's grammar joins comparisons with AND only)")
            default: tokens.append(.identifier(word))
            }
        }
        return tokens
    }
}

struct Parser {
    let tokens: [Token]
    let grammar: SearchFilter.Grammar
    var position = 0

    init(tokens: [Token], grammar: SearchFilter.Grammar) {
        self.tokens = tokens
        self.grammar = grammar
    }

    mutating func clauses() throws(AppError) -> [SearchFilter.Clause] {
        var result: [SearchFilter.Clause] = []
        while true {
            result.append(try clause())
            if position == tokens.count { return result }
            guard next() == .keyword("AND") else { throw AppError.badRequest("Invalid filter: expected AND between comparisons") }
        }
    }

    private mutating func next() -> Token? {
        guard position < tokens.count else { return nil }
        defer { position += 1 }
        return tokens[position]
    }

    private mutating func clause() throws(AppError) -> SearchFilter.Clause {
        guard case .identifier(let name)? = next() else {
            throw AppError.badRequest("Invalid filter: each comparison starts with a name such as metrics.acc or params.lr")
        }
        let (entity, key) = try SearchFilter.identifier(name)
        let comparator: SearchFilter.Comparator
        switch next() {
        case .comparator(let op)?: comparator = SearchFilter.Comparator(rawValue: op)!
        case .keyword("LIKE")?: comparator = .like
        case .keyword("ILIKE")?: comparator = .ilike
        case .keyword("IN")?: comparator = .in
        case .keyword("NOT")?:
            guard next() == .keyword("IN") else { throw AppError.badRequest("Invalid filter: expected IN after NOT") }
            comparator = .notIn
        default:
            throw AppError.badRequest("Invalid filter: expected a comparator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN) after '\(name)'")
        }
        let value: SearchFilter.Value
        switch next() {
        case .number(let number)?: value = .number(number)
        case .string(let text)?: value = .string(text)
        case .open?:
            var items: [String] = []
            loop: while true {
                switch next() {
                case .string(let text)?: items.append(text)
                case .number(let number)?: items.append(Self.format(number))
                default: throw AppError.badRequest("Invalid filter: IN takes a list of quoted values, e.g. ('a', 'b')")
                }
                switch next() {
                case .comma?: continue
                case .close?: break loop
                default: throw AppError.badRequest("Invalid filter: expected ',' or ')' in the IN list")
                }
            }
            value = .list(items)
        default:
            throw AppError.badRequest("Invalid filter: '\(name)' needs a value: a number or a quoted string")
        }
        let clause = SearchFilter.Clause(entity: entity, key: key, comparator: comparator, value: value)
        switch grammar {
        case .runs: try Self.check(clause)
        case .traces: try Self.checkTraceClause(clause)
        }
        return clause
    }

    static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    private static func check(_ clause: SearchFilter.Clause) throws(AppError) {
        let isList = if case .list = clause.value { true } else { false }
        if (clause.comparator == .in || clause.comparator == .notIn) != isList {
            throw AppError.badRequest("Invalid filter: IN and NOT IN take a parenthesized list, other comparators one value")
        }
        switch clause.entity {
        case .metadata:
            throw AppError.badRequest("Invalid filter: metadata.\(clause.key) can only be compared in trace searches")
        case .metric:
            guard case .number = clause.value, !clause.comparator.isLikePattern, !isList else {
                throw AppError.badRequest("Invalid filter: metrics compare with numbers using =, !=, >, >=, <, <=")
            }
        case .param, .tag:
            try checkString(clause, "\(clause.entity.rawValue) values")
        case .attribute:
            guard let attribute = RunAttribute(clause.key) else {
                throw AppError.badRequest(
                    "Invalid filter: unknown attribute '\(clause.key)'; use run_id, run_name, status, user_id, start_time, end_time, artifact_uri or lifecycle_stage"
                )
            }
            if attribute.isNumeric { try checkNumber(clause) } else { try checkString(clause, clause.key) }
        }
    }

    /// Trace searches compare tags, metadata and the trace's own attributes; runs' metrics and params are not there.
    static func checkTraceClause(_ clause: SearchFilter.Clause) throws(AppError) {
        let isList = if case .list = clause.value { true } else { false }
        if (clause.comparator == .in || clause.comparator == .notIn) != isList {
            throw AppError.badRequest("Invalid filter: IN and NOT IN take a parenthesized list, other comparators one value")
        }
        switch clause.entity {
        case .metric, .param:
            throw AppError.badRequest("Invalid filter: traces have no \(clause.entity.rawValue)s; compare tags, metadata or trace attributes")
        case .tag, .metadata:
            try checkString(clause, "\(clause.entity.rawValue) values")
        case .attribute:
            guard let attribute = TraceAttribute(clause.key) else {
                throw AppError.badRequest(
                    "Invalid filter: unknown trace attribute '\(clause.key)'; use trace_id, name, status, timestamp_ms, execution_time_ms, run_id or client_request_id"
                )
            }
            if attribute.isNumeric { try checkNumber(clause) } else { try checkString(clause, clause.key) }
        }
    }

    private static func checkNumber(_ clause: SearchFilter.Clause) throws(AppError) {
        guard case .number = clause.value, !clause.comparator.isLikePattern else {
            throw AppError.badRequest("Invalid filter: \(clause.key) compares with a number (milliseconds)")
        }
    }

    private static func checkString(_ clause: SearchFilter.Clause, _ what: String) throws(AppError) {
        if case .number = clause.value {
            throw AppError.badRequest("Invalid filter: \(what) are strings; quote '\(clause.key)' values")
        }
        if clause.comparator.isOrdering {
            throw AppError.badRequest("Invalid filter: \(what) support =, !=, LIKE, ILIKE, IN, NOT IN")
        }
    }
}

/// What a trace search may compare besides tags and metadata, and where each lives.
package enum TraceAttribute {
    case traceId, name, state, requestTime, executionTime, runId, clientRequestId

    init?(_ name: String) {
        switch name.lowercased() {
        case "trace_id", "request_id": self = .traceId
        case "name": self = .name
        case "status", "state": self = .state
        case "timestamp_ms", "timestamp", "request_time": self = .requestTime
        case "execution_time_ms", "execution_time": self = .executionTime
        case "run_id": self = .runId
        case "client_request_id": self = .clientRequestId
        default: return nil
        }
    }

    var isNumeric: Bool { self == .requestTime || self == .executionTime }
}

extension SearchFilter.Comparator {
    var isLikePattern: Bool { self == .like || self == .ilike }
}

/// Run columns that filters and order_by may name.
enum RunAttribute: String {
    case runId = "id", runName = "name", status, userId = "user_id", startTime = "start_ms", endTime = "end_ms"
    case artifactURI = "artifact_uri", lifecycleStage = "lifecycle_stage"

    init?(_ name: String) {
        switch name.lowercased() {
        case "run_id", "run_uuid", "id": self = .runId
        case "run_name", "name": self = .runName
        case "status": self = .status
        case "user_id": self = .userId
        case "start_time", "created": self = .startTime
        case "end_time": self = .endTime
        case "artifact_uri": self = .artifactURI
        case "lifecycle_stage": self = .lifecycleStage
        default: return nil
        }
    }

    var isNumeric: Bool { self == .startTime || self == .endTime }
}

/// One `order_by` entry: `metrics.acc DESC`, `attributes.start_time`, `params.lr ASC`.
package struct SearchOrder: Sendable, Equatable {
    package var entity: SearchFilter.Entity
    package var key: String
    package var ascending: Bool

    package init(_ text: String) throws(AppError) {
        var words = text.trimmingCharacters(in: .whitespaces)
        var ascending = true
        let upper = words.uppercased()
        if upper.hasSuffix(" DESC") {
            ascending = false; words = String(words.dropLast(5))
        } else if upper.hasSuffix(" ASC") {
            words = String(words.dropLast(4))
        }
        words = words.trimmingCharacters(in: .whitespaces)
        guard !words.isEmpty else { throw AppError.badRequest("Invalid order_by '\(text)': name a column, e.g. 'metrics.acc DESC'") }
        let (entity, key) = try SearchFilter.identifier(words)
        if entity == .metadata {
            throw AppError.badRequest("Invalid order_by '\(text)': runs have no metadata")
        }
        if entity == .attribute, RunAttribute(key) == nil {
            throw AppError.badRequest("Invalid order_by '\(text)': unknown attribute '\(key)'")
        }
        self.entity = entity
        self.key = key
        self.ascending = ascending
    }
}
