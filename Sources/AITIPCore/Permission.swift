/// A right of the form `area:action` (design §6.1), e.g. `training:read`. API keys carry a list of them as scopes;
/// roles grant sets of them.
public struct Permission: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let area: Area
    public let action: Action

    public init(_ area: Area, _ action: Action) {
        self.area = area
        self.action = action
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let area = Area(rawValue: String(parts[0])),
              let action = Action(rawValue: String(parts[1])),
              Self.all.contains(Permission(area, action)) else { return nil }
        self.init(area, action)
    }

    public var description: String { "\(area.rawValue):\(action.rawValue)" }

    public static func < (lhs: Permission, rhs: Permission) -> Bool { lhs.description < rhs.description }

    public enum Area: String, Sendable, CaseIterable {
        case org, members, projects, apiKeys = "api_keys", audit
        case data, experiments, training, evaluation, inference, testing, release, simulation, resources, agent
    }

    public enum Action: String, Sendable, CaseIterable {
        case read, write, delete, approve
    }

    /// Every permission that exists. `approve` exists only for releases; `delete` not for audit or api_keys.
    public static let all: Set<Permission> = {
        var result = Set<Permission>()
        for area in Area.allCases {
            result.insert(Permission(area, .read))
            if area != .audit { result.insert(Permission(area, .write)) }
            if ![.audit, .apiKeys, .members, .resources, .agent].contains(area) {
                result.insert(Permission(area, .delete))
            }
        }
        result.insert(Permission(.release, .approve))
        return result
    }()

    public static let orgRead = Permission(.org, .read)
    public static let orgWrite = Permission(.org, .write)
    public static let orgDelete = Permission(.org, .delete)
    public static let membersRead = Permission(.members, .read)
    public static let membersWrite = Permission(.members, .write)
    public static let projectsRead = Permission(.projects, .read)
    public static let projectsWrite = Permission(.projects, .write)
    public static let projectsDelete = Permission(.projects, .delete)
    public static let apiKeysRead = Permission(.apiKeys, .read)
    public static let apiKeysWrite = Permission(.apiKeys, .write)
    public static let auditRead = Permission(.audit, .read)
    public static let experimentsRead = Permission(.experiments, .read)
    public static let experimentsWrite = Permission(.experiments, .write)
    public static let experimentsDelete = Permission(.experiments, .delete)
    public static let releaseRead = Permission(.release, .read)
    public static let releaseWrite = Permission(.release, .write)
    public static let releaseDelete = Permission(.release, .delete)
    public static let trainingRead = Permission(.training, .read)
    public static let trainingWrite = Permission(.training, .write)
    public static let trainingDelete = Permission(.training, .delete)
    public static let resourcesRead = Permission(.resources, .read)
    public static let resourcesWrite = Permission(.resources, .write)
}

/// A member's role in one organization (design §6.1).
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer, member, admin, owner

    /// owner: everything. admin: everything but deleting the organization. member: standard development work
    /// (read everything, write and delete work items; a project only if they created it, see `Policy`).
    /// viewer: read only. Every role may manage its own API keys, whose scopes never exceed the role.
    public var permissions: Set<Permission> {
        switch self {
        case .owner:
            return Permission.all
        case .admin:
            return Permission.all.subtracting([.orgDelete])
        case .member:
            let workAreas: [Permission.Area] = [.data, .experiments, .training, .evaluation, .inference, .testing,
                                                .release, .simulation, .agent]
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
    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
