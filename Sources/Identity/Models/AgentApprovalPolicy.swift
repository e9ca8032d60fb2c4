import AITIPCore

/// An organization's rule for the agent API (`settings.agent_approval`, docs/agent.md "Approvals"): tools of these
/// risks, and these tools by name, run only once `required` people holding `agent:approve` in the organization — not
/// API keys, and not the one who asked — have approved the call.
package struct AgentApprovalPolicy: Sendable, Equatable {
    package var risks: Set<String>
    package var tools: Set<String>
    package var required: Int

    static let key = "agent_approval"
    static let knownRisks: Set<String> = ["write", "destructive", "costly"]

    /// The policy in an organization's settings; nil when there is none. A malformed one is refused, field by field.
    package init?(settings: JSONObject) throws {
        guard let value = settings[Self.key], value != .null else { return nil }
        guard case .object(let fields) = value else {
            throw AppError.validation([FieldError(field: "settings.\(Self.key)", message: "must be an object: {risks, tools, required}")])
        }
        var errors: [FieldError] = []
        func strings(_ name: String) -> [String] {
            guard let field = fields[name], field != .null else { return [] }
            guard case .array(let items) = field else {
                errors.append(FieldError(field: "settings.\(Self.key).\(name)", message: "must be a list of strings"))
                return []
            }
            return items.compactMap { item in
                guard case .string(let text) = item else {
                    errors.append(FieldError(field: "settings.\(Self.key).\(name)", message: "must be a list of strings"))
                    return nil
                }
                return text
            }
        }
        risks = Set(strings("risks"))
        tools = Set(strings("tools"))
        for risk in risks.subtracting(Self.knownRisks).sorted() {
            errors.append(FieldError(field: "settings.\(Self.key).risks", message: "'\(risk)' is not a risk: write, destructive or costly"))
        }
        switch fields["required"] {
        case nil, .null?: required = 1
        case .number(let count)? where count.rounded() == count && (1...10).contains(count): required = Int(count)
        default:
            required = 1
            errors.append(FieldError(field: "settings.\(Self.key).required", message: "must be a whole number from 1 to 10"))
        }
        for name in fields.keys.sorted() where !["risks", "tools", "required"].contains(name) {
            errors.append(FieldError(field: "settings.\(Self.key).\(name)", message: "is not a field of the policy: risks, tools, required"))
        }
        guard errors.isEmpty else { throw AppError.validation(errors) }
    }

    /// Whether a call of this tool waits for approvals.
    package func applies(tool: String, risk: String) -> Bool { risks.contains(risk) || tools.contains(tool) }
}
