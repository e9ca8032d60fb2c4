import Foundation

/// The one authorization decision of aitip. Every service calls it before reading or changing a resource.
///
/// - A principal that cannot see the resource's organization gets `notFound`, never `forbidden`, so ids of other
///   tenants do not leak.
/// - A principal that can see it but lacks the right gets `forbidden`.
/// - `projects:write` and `projects:delete` held through the member role apply to existing projects only when the
///   member created them (design §6.1 attribute `created_by`).
package enum Policy {
    package struct Resource: Sendable {
        package var kind: String
        package var orgId: UUID
        package var projectId: UUID?
        package var createdBy: UUID?

        package init(kind: String, orgId: UUID, projectId: UUID? = nil, createdBy: UUID? = nil) {
            self.kind = kind
            self.orgId = orgId
            self.projectId = projectId
            self.createdBy = createdBy
        }
    }

    /// Permissions a member holds only on what they created themselves.
    static let ownerOnlyForMembers: Set<Permission> = [.projectsWrite, .projectsDelete]

    /// For an existing resource: reading, changing or deleting it.
    package static func authorize(_ principal: Principal, _ permission: Permission, on resource: Resource) throws(AppError) {
        try authorize(principal, permission, resource, checkCreator: true)
    }

    /// For actions on an organization itself or inside it with no resource yet (e.g. creating a project).
    package static func authorize(_ principal: Principal, _ permission: Permission, inOrg orgId: UUID) throws(AppError) {
        try authorize(principal, permission, Resource(kind: "Organization", orgId: orgId), checkCreator: false)
    }

    private static func authorize(
        _ principal: Principal, _ permission: Permission, _ resource: Resource,
        checkCreator: Bool
    ) throws(AppError) {
        guard principal.visibleOrgIds.contains(resource.orgId) else {
            throw AppError.notFound(resource.kind)
        }
        let granted = principal.permissions(in: resource.orgId)
        guard granted.contains(permission) else {
            throw AppError.forbidden("You need the '\(permission)' permission in this organization for this action")
        }
        if checkCreator, ownerOnlyForMembers.contains(permission), principal.memberships[resource.orgId] == .member,
            resource.createdBy != principal.userId
        {
            throw AppError.forbidden("Members may only use '\(permission)' on what they created; ask an admin")
        }
    }

    package static func allows(_ principal: Principal, _ permission: Permission, on resource: Resource) -> Bool {
        do { try authorize(principal, permission, on: resource); return true } catch { return false }
    }
}
