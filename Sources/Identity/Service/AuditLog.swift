import AITIPCore
import Foundation
import Logging
import SQLKit
import Storage

/// Writes and reads the audit trail. Successful mutations are recorded by their use case inside the same
/// transaction as the change; failed or refused mutations are recorded by the HTTP layer with `recordFailure`.
package struct AuditLog: Sendable {
    let database: Database
    let clock: any Clock
    let logger: Logger

    package init(database: Database, clock: any Clock, logger: Logger) {
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    package func record(
        on sql: any SQLDatabase, _ caller: Caller, orgId: UUID?, action: String, targetType: String,
        targetId: String?, detail: String? = nil, actorOverride: (id: UUID, name: String)? = nil
    ) async throws {
        try await AuditStore.insert(
            entry(
                caller, orgId: orgId, action: action, targetType: targetType, targetId: targetId,
                outcome: .success, statusCode: nil, detail: detail, actorOverride: actorOverride), on: sql)
    }

    /// Records a refused or failed mutation in its own transaction. Never throws: a failed audit write of a failed
    /// request is logged, not turned into a second error.
    package func recordFailure(
        _ caller: Caller, orgId: UUID?, action: String, targetType: String, targetId: String?,
        outcome: AuditEntry.Outcome, statusCode: Int, detail: String?
    ) async {
        let entry = entry(
            caller, orgId: orgId, action: action, targetType: targetType, targetId: targetId,
            outcome: outcome, statusCode: statusCode, detail: detail, actorOverride: nil)
        do {
            try await database.transaction { sql in try await AuditStore.insert(entry, on: sql) }
        } catch {
            (caller.logger ?? logger).error(
                "could not write audit entry", metadata: ["action": "\(action)", "error": "\(String(reflecting: error))"])
        }
    }

    /// Entries of the organizations where the caller holds `audit:read` (or of the one asked for).
    package func list(_ caller: Caller, filter: AuditFilter, page: PageRequest) async throws -> Page<AuditEntry> {
        let principal = try caller.requirePrincipal()
        let orgIds: [UUID]
        if let orgId = filter.orgId {
            try Policy.authorize(principal, .auditRead, inOrg: orgId)
            orgIds = [orgId]
        } else {
            orgIds = principal.visibleOrgIds.filter { principal.permissions(in: $0).contains(.auditRead) }
            if orgIds.isEmpty {
                throw AppError.forbidden("You need the 'audit:read' permission (admin or owner) in an organization")
            }
        }
        return try await database.read { sql in try await AuditStore.list(orgIds: orgIds, filter: filter, page: page, on: sql) }
    }

    private func entry(
        _ caller: Caller, orgId: UUID?, action: String, targetType: String, targetId: String?,
        outcome: AuditEntry.Outcome, statusCode: Int?, detail: String?,
        actorOverride: (id: UUID, name: String)?
    ) -> AuditEntry {
        AuditEntry(
            orgId: orgId, actorId: actorOverride?.id ?? caller.principal?.userId,
            actorName: actorOverride?.name ?? caller.principal?.username, apiKeyId: caller.principal?.apiKeyId,
            action: action, targetType: targetType, targetId: targetId, requestId: caller.origin.requestId,
            clientAddress: caller.origin.clientAddress, outcome: outcome, statusCode: statusCode, detail: detail,
            createdMs: clock.now().epochMilliseconds)
    }
}
