/// A right of the form `area:action` (design §6.1), e.g. `training:read`. API keys carry a list of them as scopes;
/// roles grant sets of them.
package struct Permission: Hashable, Sendable, Comparable, CustomStringConvertible {
    package let area: Area
    package let action: Action

    package init(_ area: Area, _ action: Action) {
        self.area = area
        self.action = action
    }

    package init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let area = Area(rawValue: String(parts[0])),
            let action = Action(rawValue: String(parts[1])),
            Self.all.contains(Permission(area, action))
        else { return nil }
        self.init(area, action)
    }

    package var description: String { "\(area.rawValue):\(action.rawValue)" }

    package static func < (lhs: Permission, rhs: Permission) -> Bool { lhs.description < rhs.description }

    package enum Area: String, Sendable, CaseIterable {
        case org, members, projects, apiKeys = "api_keys", audit
        case data, experiments, training, evaluation, inference, testing, release, simulation, resources, agent
    }

    package enum Action: String, Sendable, CaseIterable {
        case read, write, delete, approve, invoke
    }

    /// Every permission that exists. `approve` exists only for releases and agent actions (docs/agent.md,
    /// "Approvals"), `invoke` (calling a model through the gateway) only for inference; `delete` not for audit or
    /// api_keys.
    package static let all: Set<Permission> = {
        var result = Set<Permission>()
        for area in Area.allCases {
            result.insert(Permission(area, .read))
            if area != .audit { result.insert(Permission(area, .write)) }
            if ![.audit, .apiKeys, .members, .resources, .agent].contains(area) {
                result.insert(Permission(area, .delete))
            }
        }
        result.insert(Permission(.release, .approve))
        result.insert(Permission(.agent, .approve))
        result.insert(Permission(.inference, .invoke))
        return result
    }()

    package static let orgRead = Permission(.org, .read)
    package static let orgWrite = Permission(.org, .write)
    package static let orgDelete = Permission(.org, .delete)
    package static let membersRead = Permission(.members, .read)
    package static let membersWrite = Permission(.members, .write)
    package static let projectsRead = Permission(.projects, .read)
    package static let projectsWrite = Permission(.projects, .write)
    package static let projectsDelete = Permission(.projects, .delete)
    package static let apiKeysRead = Permission(.apiKeys, .read)
    package static let apiKeysWrite = Permission(.apiKeys, .write)
    package static let auditRead = Permission(.audit, .read)
    package static let experimentsRead = Permission(.experiments, .read)
    package static let experimentsWrite = Permission(.experiments, .write)
    package static let experimentsDelete = Permission(.experiments, .delete)
    package static let releaseRead = Permission(.release, .read)
    package static let releaseWrite = Permission(.release, .write)
    package static let releaseDelete = Permission(.release, .delete)
    package static let trainingRead = Permission(.training, .read)
    package static let trainingWrite = Permission(.training, .write)
    package static let trainingDelete = Permission(.training, .delete)
    package static let inferenceRead = Permission(.inference, .read)
    package static let inferenceWrite = Permission(.inference, .write)
    package static let inferenceDelete = Permission(.inference, .delete)
    package static let inferenceInvoke = Permission(.inference, .invoke)
    package static let resourcesRead = Permission(.resources, .read)
    package static let resourcesWrite = Permission(.resources, .write)
    package static let agentApprove = Permission(.agent, .approve)
}

/// A member's role in one organization (design §6.1).
package enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer, member, admin, owner

    /// owner: everything. admin: everything but deleting the organization. member: standard development work
    /// (read everything, write and delete work items; a project only if they created it, see `Policy`).
    /// viewer: read only. Every role may manage its own API keys, whose scopes never exceed the role.
    package var permissions: Set<Permission> {
        switch self {
        case .owner:
            return Permission.all
        case .admin:
            return Permission.all.subtracting([.orgDelete])
        case .member:
            let workAreas: [Permission.Area] = [
                .data, .experiments, .training, .evaluation, .inference, .testing,
                .release, .simulation, .agent,
            ]
            var granted = Role.viewer.permissions
            for area in workAreas {
                granted.formUnion(Permission.all.filter { $0.area == area && $0.action != .approve })
            }
            granted.insert(.projectsWrite)
            granted.insert(.projectsDelete)
            return granted
        case .viewer:
            var granted = Set(Permission.all.filter { $0.action == .read && $0.area != .audit })
            granted.insert(.apiKeysWrite)
            return granted
        }
    }

    private var rank: Int { Role.allCases.firstIndex(of: self)! }
    package static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
