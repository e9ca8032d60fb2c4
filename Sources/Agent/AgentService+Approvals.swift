import AITIPCore
import Foundation
import Identity
import SQLKit
import Storage

/// Approvals (design §8, "strict permissions + approval + audit"): an organization's `settings.agent_approval` holds
/// the calls of some tools until people approve them. The call is recorded `awaiting_approval` with its confirmation
/// token; approvers — people holding `agent:approve` in the organization, never an API key and never the one who
/// asked — approve or reject it; once enough have approved, it awaits confirmation, and the caller runs it by sending
/// the same tool and arguments with the token, as for any confirmation. No credential is kept meanwhile: the call runs
/// with the caller's own, when the caller sends it.
extension AgentService {
    /// How long a call may wait for its approvals, and then for its confirmation once approved.
    static let approvalSeconds: Int64 = 86_400
    static let confirmationAfterApprovalSeconds: Int64 = 3_600

    /// The organization a call acts in: the `org_id` it names, the organization of the `project_id` it names (read as
    /// the caller), else the caller's own (an API key's, or a person's only or home organization).
    func organization(of arguments: [String: JSONValue], principal: Principal, bearer: String) async -> UUID? {
        if case .string(let text)? = arguments["org_id"], let id = UUID(uuidString: text) { return id }
        if case .string(let text)? = arguments["project_id"], let id = UUID(uuidString: text),
            let (status, body) = try? await dispatch("GET", "/api/v1/projects/\(id.lowercasedString)", nil, bearer), status == 200,
            case .object(let project)? = try? JSONDecoder().decode(JSONValue.self, from: body), case .string(let org)? = project["org_id"]
        {
            return UUID(uuidString: org)
        }
        return principal.defaultOrgId
    }

    /// The approvals a call of `tool` needs in `orgId` (0: none).
    func approvalsRequired(for tool: AgentTool, in orgId: UUID?) async throws -> Int {
        guard let orgId, let policy = try await organizations.agentApprovalPolicy(of: orgId) else { return 0 }
        return policy.applies(tool: tool.name, risk: tool.risk.rawValue) ? policy.required : 0
    }

    /// Calls waiting for approvals the caller may give, oldest first: in the organizations where the caller holds
    /// `agent:approve`, asked by someone else.
    package func pendingApprovals(page: PageRequest, caller: Caller) async throws -> Page<AgentExecution> {
        let principal = try caller.requirePrincipal()
        let orgs = principal.visibleOrgIds.filter { principal.permissions(in: $0).contains(.agentApprove) }
        guard !orgs.isEmpty else { throw AppError(.forbidden, "Approving agents' calls needs agent:approve (owners and admins)") }
        let rows = try await database.read { sql in
            let select = sql.select().column("*").from("agent_executions").where("status", .equal, AgentExecution.Status.awaitingApproval.rawValue)
                .where("org_id", .in, orgs).where("user_id", .notEqual, principal.userId)
            if let after = page.after { select.where("id", .greaterThan, after) }
            return try await select.orderBy("id").limit(page.limit + 1).all(decoding: AgentExecution.self)
        }
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    /// Approves or rejects a call waiting for approvals. Enough approvals let the caller confirm it (within an hour);
    /// one rejection ends it.
    package func decide(_ id: UUID, approve: Bool, comment: String?, caller: Caller) async throws -> AgentExecution {
        let principal = try caller.requirePrincipal()
        let comment = comment ?? ""
        guard comment.count <= 5_000 else { throw AppError.validation([FieldError(field: "comment", message: "is longer than 5,000 characters")]) }
        let now = clock.now().epochMilliseconds
        let decided = try await database.transaction { sql -> AgentExecution in
            // The row is held until the decision is written: two approvers at once both count.
            guard
                var execution = try await sql.select().column("*").from("agent_executions").where("id", .equal, id).for(.update)
                    .first(decoding: AgentExecution.self),
                let orgId = execution.orgId, principal.visibleOrgIds.contains(orgId)
            else { throw AppError.notFound("Execution") }
            guard principal.permissions(in: orgId).contains(.agentApprove) else {
                throw AppError(.forbidden, "Approving an agent's call needs agent:approve in its organization (owners and admins)")
            }
            guard execution.status == .awaitingApproval, (execution.confirmBeforeMs ?? 0) >= now else {
                throw AppError.conflict(
                    "This call is \(execution.status == .awaitingApproval ? "expired" : execution.status.rawValue): it takes no decision")
            }
            guard principal.userId != execution.userId else { throw AppError(.forbidden, "You asked for this call: someone else must approve it") }
            guard principal.apiKeyId == nil else {
                throw AppError(.forbidden, "An agent's call needs a person's approval: sign in to decide (an API key cannot)")
            }
            var decisions = execution.decisions
            guard !decisions.contains(where: { $0.userId == principal.userId }) else {
                throw AppError.conflict("You have decided on this call already")
            }
            decisions.append(.init(userId: principal.userId, username: principal.username, approved: approve, comment: comment, atMs: now))
            execution.approvals = Self.encoded(decisions)
            execution.updatedMs = now
            if !approve {
                execution.status = .rejected
                execution.finishedMs = now
                execution.error = "rejected by \(principal.username)\(comment.isEmpty ? "" : ": \(comment)")"
            } else if decisions.filter(\.approved).count >= execution.approvalsRequired {
                execution.status = .awaitingConfirmation
                execution.confirmBeforeMs = now + Self.confirmationAfterApprovalSeconds * 1_000
            }
            try await sql.updateRow(execution, in: "agent_executions", id: execution.id)
            try await audit.record(
                on: sql, caller, orgId: orgId, action: approve ? "agent.approve" : "agent.reject", targetType: "agent_execution",
                targetId: id.lowercasedString, detail: "\(execution.tool)\(comment.isEmpty ? "" : ": \(comment.prefix(500))")")
            return execution
        }
        if decided.status == .rejected, decided.callbackURL != nil {
            // The caller may be waiting for a callback: a rejection is this call's outcome.
            Task {
                var told = decided
                told.callbackStatus = await callBack(decided)
                let recorded = told
                try? await database.transaction { sql in try await sql.updateRow(recorded, in: "agent_executions", id: recorded.id) }
            }
        }
        return decided
    }

    static func encoded(_ decisions: [AgentExecution.Approval]) -> String {
        (try? String(decoding: JSONEncoder().encode(decisions), as: UTF8.self)) ?? "[]"
    }
}
