import AITIPCore
import Foundation
import SQLKit
import Storage

/// Filters of `GET /api/v1/audit`. `orgIds` is decided by the service (the organizations the caller may audit).
package struct AuditFilter: Sendable, Equatable {
    package var orgId: UUID?
    package var actorId: UUID?
    package var action: String?
    package var targetType: String?
    package var targetId: String?
    package var outcome: AuditEntry.Outcome?
    package var since: Date?
    package var until: Date?

    package init(
        orgId: UUID? = nil, actorId: UUID? = nil, action: String? = nil, targetType: String? = nil,
        targetId: String? = nil, outcome: AuditEntry.Outcome? = nil, since: Date? = nil, until: Date? = nil
    ) {
        self.orgId = orgId
        self.actorId = actorId
        self.action = action
        self.targetType = targetType
        self.targetId = targetId
        self.outcome = outcome
        self.since = since
        self.until = until
    }
}

enum AuditStore {
    static func insert(_ entry: AuditEntry, on sql: any SQLDatabase) async throws {
        try await sql.insert(entry, into: "audit_log")
    }

    /// Newest first; the cursor is the id of the last (oldest) entry of the previous page.
    static func list(orgIds: [UUID], filter: AuditFilter, page: PageRequest, on sql: any SQLDatabase) async throws -> Page<AuditEntry> {
        guard !orgIds.isEmpty else { return Page(items: [], nextCursor: nil) }
        var query = sql.select().column("*").from("audit_log").where("org_id", .in, orgIds)
        if let value = filter.actorId { query = query.where("actor_id", .equal, value) }
        if let value = filter.action { query = query.where("action", .equal, value) }
        if let value = filter.targetType { query = query.where("target_type", .equal, value) }
        if let value = filter.targetId { query = query.where("target_id", .equal, value) }
        if let value = filter.outcome { query = query.where("outcome", .equal, value.rawValue) }
        if let value = filter.since { query = query.where("created_ms", .greaterThanOrEqual, value.epochMilliseconds) }
        if let value = filter.until { query = query.where("created_ms", .lessThan, value.epochMilliseconds) }
        if let after = page.after { query = query.where("id", .lessThan, after) }
        let rows = try await query.orderBy("id", .descending).limit(page.limit + 1).rows(AuditEntry.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }
}
