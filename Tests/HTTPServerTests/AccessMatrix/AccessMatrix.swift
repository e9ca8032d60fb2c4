import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import Storage
import Testing

/// The access matrix: every route the server declares × every kind of caller. What each caller should get is derived
/// from the route's declared permission (openapi.yaml's `x-aitip-permission`, `MLflowRoutePermissions`) and the roles'
/// grants (`Role.permissions`); the only hand-written parts are how to make a valid request for each route (a recipe)
/// and the few documented rules a permission alone does not express (`AccessMatrix.exceptions`). A route without a
/// recipe fails the matrix, so a route added later is covered or the suite says why not.
enum AccessMatrix {
    /// Who calls: the four roles of organization A, the owner of another organization, organization A owner's API keys
    /// with and without the permission the route needs, and nobody.
    enum Who: String, CaseIterable, Sendable {
        case owner, admin, member, viewer, stranger, keyWithScope = "key with the scope", keyWithoutScope = "key without the scope"
        case anonymous

        var role: Role? {
            switch self {
            case .owner: .owner
            case .admin: .admin
            case .member: .member
            case .viewer: .viewer
            default: nil
            }
        }
        var isKey: Bool { self == .keyWithScope || self == .keyWithoutScope }
    }

    /// One route as declared.
    struct Operation: Sendable {
        /// The operationId, or the MLflow route and the prefix it is called under.
        var name: String
        var method: HTTPRequest.Method
        /// The path as declared: `{name}` (OpenAPI) or `:name` and `**` (Hummingbird) for parameters.
        var template: String
        /// Public (`security: []`): anyone gets the success status.
        var isPublic: Bool
        /// A permission (`area:action`), `authenticated` or `session`.
        var permission: String
        var success: Int
        /// Changes something: audited, and a refused call must leave the database as it was.
        var isMutation: Bool
        /// The operation acts in the caller's own default project when the path names none (MLflow's unscoped
        /// prefixes): a member of another organization gets an answer about their own project, not a 404.
        var actsInCallersProject = false

        /// Whether a recipe's concrete path (query aside) is one this operation's template matches.
        func reaches(_ path: String) -> Bool {
            let concrete = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
            let pattern =
                "^"
                + template.split(separator: "/", omittingEmptySubsequences: false).map { segment in
                    if segment == "**" { return ".+" }
                    if segment.hasPrefix(":") || (segment.hasPrefix("{") && segment.hasSuffix("}")) { return "[^/]+" }
                    return NSRegularExpression.escapedPattern(for: String(segment))
                }.joined(separator: "/") + "$"
            return concrete.range(of: pattern, options: .regularExpression) != nil
        }
    }

    /// A request a recipe made for one caller.
    struct Request {
        var path: String
        var body: Body = .none
        var headers: HTTPFields = [:]
        /// The credential to send instead of the caller's usual one (a fresh session, a key of another organization).
        var token: String?? = .none
        /// The user the audit entry names when the request is made as someone standing in for the caller.
        var actor: String?

        enum Body {
            case none
            case json(Any)
            case bytes(Data, contentType: String)
        }
    }

    /// Rules of single operations that a permission alone does not express, each documented at the operation.
    /// Values: the status a caller gets instead of the one its role and the permission imply.
    static let exceptions: [String: [Who: Int]] = [
        // x-aitip-permission-note: revoking another member's key needs members:write (the recipe's key is the owner's).
        "revokeApiKey": [.member: 403, .viewer: 403],
        // Policy: a member changes and deletes only the projects they created (the recipe's project is the owner's).
        "updateProject": [.member: 403],
        "deleteProject": [.member: 403],
        // x-aitip-permission-note: a signed-in user lists their own keys, wherever they are a member.
        "listApiKeys": [.stranger: 200],
        // GPU nodes belong to the cluster, not to an organization: resources:read anywhere shows them.
        "listGpuNodes": [.stranger: 200],
        // Operator routes: they need resources:write in the operator organization, whose slug is configuration, not a
        // secret; everyone outside it is refused rather than told it does not exist.
        "updateGpuNode": [.stranger: 403],
        // Evaluating a model reads it: a key scoped to evaluation:write alone may not (experiments:read is asked too).
        "createEvaluationJob": [.keyWithScope: 403],
        // The benchmark catalog belongs to no project: every signed-in caller with evaluation:read reads it.
        "listBenchmarks": [.stranger: 200],
        // Playing a model reads it: a key scoped to simulation:write alone may not start a run.
        "createSimulationRun": [.keyWithScope: 403],
        "startSimulationEnvironment": [.keyWithScope: 403],
        // The template catalog belongs to no project, as the benchmark catalog.
        "listSimulationTemplates": [.stranger: 200],
        "setQuota": [.stranger: 403],
        // The recipe's release is the owner's: its creator may not approve it, through their key neither.
        "approveRelease": [.owner: 403, .keyWithScope: 403],
        // An agent execution is its caller's alone (the recipe's is the owner's, whose keys are the owner too).
        "getAgentExecution": [.admin: 404, .member: 404, .viewer: 404, .stranger: 404],
        // Whoever may approve somewhere gets the list of there (none): another organization's owner, and A's member
        // and viewer, who own the organizations createOrg's recipe made them. Only a person decides on an agent's call
        // (the recipe's is the member's, in A).
        "listAgentApprovals": [.stranger: 200, .member: 200, .viewer: 200],
        "approveAgentExecution": [.keyWithScope: 403],
        "rejectAgentExecution": [.keyWithScope: 403],
    ]

    /// Success statuses other than the operation's lowest 2xx. On the matrix's server (local disk, no S3) a presigned
    /// URL cannot be made, and whoever may read the file is told to download it instead (DatasetAPITests covers the S3
    /// answer). A webhook delivery that starts a run answers 202; 200 is for one that joins a run already going.
    static let successOnThisServer: [String: Int] = ["getDatasetFileURL": 400, "triggerTestPlan": 202]

    /// The status `who` should get.
    static func expected(_ operation: Operation, _ who: Who) -> Int {
        var operation = operation
        operation.success = successOnThisServer[operation.name] ?? operation.success
        if operation.isPublic { return operation.success }
        if who == .anonymous { return 401 }
        if let status = exceptions[operation.name]?[who] { return status }
        switch operation.permission {
        case "authenticated":
            return operation.success
        case "session":
            return who.isKey ? 403 : operation.success
        default:
            let permission = Permission(operation.permission)!
            switch who {
            case .stranger: return operation.actsInCallersProject ? operation.success : 404
            case .keyWithScope: return operation.success
            case .keyWithoutScope: return 403
            default: return who.role!.permissions.contains(permission) ? operation.success : 403
            }
        }
    }
}

/// What a test sees of the database: every table's rows as text, to prove a refused write changed nothing.
struct DatabaseFingerprint {
    /// Written by refused calls on purpose: the audit trail of denials, and when a key was last presented.
    static let ignoredTables: Set<String> = ["audit_log", "schema_migrations"]
    static let ignoredColumns: Set<String> = ["api_keys.last_used_ms"]

    let query: String

    static func make(_ database: Database) async throws -> DatabaseFingerprint {
        let isPostgres = database.dialect == .postgres
        let columns: [(table: String, column: String)] = try await database.read { sql in
            let rows =
                isPostgres
                ? try await sql.raw(
                    "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
                ).all()
                : try await sql.raw(
                    "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
                ).all()
            return try rows.map { (try $0.decode(column: "t", as: String.self), try $0.decode(column: "c", as: String.self)) }
        }
        var byTable: [String: [String]] = [:]
        for (table, column) in columns where !ignoredTables.contains(table) && !ignoredColumns.contains("\(table).\(column)") {
            byTable[table, default: []].append(column)
        }
        let parts = byTable.keys.sorted().map { table in
            let row =
                isPostgres
                ? byTable[table]!.map { "coalesce(\"\($0)\"::text, '~')" }.joined(separator: " || ',' || ")
                : byTable[table]!.map { "quote(\"\($0)\")" }.joined(separator: " || ',' || ")
            let aggregate =
                isPostgres
                ? "coalesce(md5(string_agg(r, '|' ORDER BY r)), '')"
                : "coalesce(group_concat(r, '|'), '')"
            let ordered = isPostgres ? "" : " ORDER BY r"
            return "SELECT '\(table)' AS t, (SELECT \(aggregate) FROM (SELECT \(row) AS r FROM \"\(table)\"\(ordered)) x) AS h"
        }
        return DatabaseFingerprint(query: parts.joined(separator: " UNION ALL "))
    }

    /// Each table's content (a digest on PostgreSQL).
    func take(_ database: Database) async throws -> [String: String] {
        let query = self.query
        return try await database.read { sql in
            var result: [String: String] = [:]
            for row in try await sql.raw(SQLQueryString(stringLiteral: query)).all() {
                result[try row.decode(column: "t", as: String.self)] = try row.decode(column: "h", as: String.self)
            }
            return result
        }
    }

    static func changedTables(_ before: [String: String], _ after: [String: String]) -> [String] {
        Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
    }
}
