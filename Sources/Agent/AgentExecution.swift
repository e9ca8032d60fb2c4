import Foundation
import Storage

/// One call of a tool by an agent (design §4.2 `agent/execute`): what was asked, by whom, and what came of it.
package struct AgentExecution: Sendable, Codable, Equatable {
    package enum Status: String, Sendable, Codable, CaseIterable {
        /// A destructive or costly call waiting for the caller to confirm it with its token.
        case awaitingConfirmation = "awaiting_confirmation"
        /// A call the organization's policy holds until people approve it (then it awaits confirmation).
        case awaitingApproval = "awaiting_approval"
        case queued, running, succeeded, failed, rejected

        package var isFinal: Bool { [.succeeded, .failed, .rejected].contains(self) }
    }

    /// One approver's decision.
    package struct Approval: Sendable, Codable, Equatable {
        package var userId: UUID
        package var username: String
        package var approved: Bool
        package var comment: String
        package var atMs: Int64

        enum CodingKeys: String, CodingKey {
            case username, approved, comment
            case userId = "user_id"
            case atMs = "at_ms"
        }
    }

    package var id: UUID
    /// The caller's organization when the call was made (nil: none).
    package var orgId: UUID?
    package var userId: UUID
    package var apiKeyId: UUID?
    package var tool: String
    /// The arguments as JSON (canonical: sorted keys), as the tool received them.
    package var arguments: String
    package var status: Status
    /// The operation's HTTP status and answer (JSON, at most `AgentService.maxResultBytes`).
    package var httpStatus: Int?
    package var result: String?
    package var error: String?
    /// SHA-256 of the confirmation token a destructive or costly call waits for, until `confirmBeforeMs`.
    package var confirmationHash: String?
    package var confirmBeforeMs: Int64?
    package var asynchronous: Bool
    package var callbackURL: String?
    /// The callback's HMAC key; never returned.
    package var callbackSecret: String?
    package var callbackStatus: String?
    /// Approvals the organization's policy asked for (0: none), and the decisions so far (JSON list of `Approval`).
    package var approvalsRequired: Int = 0
    package var approvals: String = "[]"
    package var createdMs: Int64
    package var updatedMs: Int64
    package var finishedMs: Int64?

    package var decisions: [Approval] { (try? JSONDecoder().decode([Approval].self, from: Data(approvals.utf8))) ?? [] }

    enum CodingKeys: String, CodingKey {
        case id, tool, arguments, status, result, error, asynchronous
        case orgId = "org_id"
        case userId = "user_id"
        case apiKeyId = "api_key_id"
        case httpStatus = "http_status"
        case confirmationHash = "confirmation_hash"
        case confirmBeforeMs = "confirm_before_ms"
        case callbackURL = "callback_url"
        case callbackSecret = "callback_secret"
        case callbackStatus = "callback_status"
        case approvalsRequired = "approvals_required"
        case approvals
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
        case finishedMs = "finished_ms"
    }
}

/// The agent's executions (numbers continue the global sequence, see App).
package enum AgentMigrations {
    package static let all: [Migration] = [
        Migration(43, "create_agent_executions") { t in
            [
                """
                CREATE TABLE agent_executions (
                    id \(t.uuid) PRIMARY KEY,
                    org_id \(t.uuid),
                    user_id \(t.uuid) NOT NULL,
                    api_key_id \(t.uuid),
                    tool \(t.text) NOT NULL,
                    arguments \(t.json) NOT NULL,
                    status \(t.text) NOT NULL,
                    http_status \(t.integer),
                    result \(t.text),
                    error \(t.text),
                    confirmation_hash \(t.text),
                    confirm_before_ms \(t.bigint),
                    asynchronous \(t.bool) NOT NULL,
                    callback_url \(t.text),
                    callback_secret \(t.text),
                    callback_status \(t.text),
                    created_ms \(t.bigint) NOT NULL,
                    updated_ms \(t.bigint) NOT NULL,
                    finished_ms \(t.bigint)
                )
                """,
                "CREATE INDEX agent_executions_user ON agent_executions (user_id, created_ms)",
                "CREATE UNIQUE INDEX agent_executions_confirmation ON agent_executions (confirmation_hash)",
            ]
        },
        Migration(44, "agent_execution_approvals") { t in
            [
                "ALTER TABLE agent_executions ADD COLUMN approvals_required \(t.integer) NOT NULL DEFAULT 0",
                "ALTER TABLE agent_executions ADD COLUMN approvals \(t.json) NOT NULL DEFAULT '[]'",
                "CREATE INDEX agent_executions_approvals ON agent_executions (status, org_id)",
            ]
        },
    ]
}
