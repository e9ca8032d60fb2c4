import AITIPCore
import Foundation
import Testing

@Suite("Roles, scopes and the policy function")
struct PolicyTests {
    let orgA = UUID()
    let orgB = UUID()
    let me = UUID()

    func session(_ role: Role) -> Principal {
        Principal(userId: me, username: "u", credential: .session(id: UUID()), memberships: [orgA: role])
    }

    @Test("each role holds exactly the rights design §6.1 gives it", arguments: Role.allCases)
    func roleMeanings(role: Role) {
        let granted = role.permissions
        #expect(granted.allSatisfy { Permission.all.contains($0) })
        #expect(granted.contains(.orgRead))
        switch role {
        case .owner:
            #expect(granted == Permission.all)
        case .admin:
            #expect(granted == Permission.all.subtracting([.orgDelete]))
        case .member:
            #expect(!granted.contains(.orgWrite) && !granted.contains(.membersWrite) && !granted.contains(.auditRead))
            #expect(granted.contains(Permission(.training, .write)) && granted.contains(Permission(.data, .delete)))
            #expect(!granted.contains(Permission(.release, .approve)))
        case .viewer:
            #expect(granted.allSatisfy { $0.action == .read || $0 == .apiKeysWrite })
            #expect(!granted.contains(.auditRead))
        }
    }

    @Test("roles are ordered viewer < member < admin < owner and each includes the rights below it")
    func ordering() {
        #expect(Role.viewer < .member && Role.member < .admin && Role.admin < .owner)
        for (lower, higher) in zip(Role.allCases, Role.allCases.dropFirst()) {
            #expect(lower.permissions.isSubset(of: higher.permissions), "\(lower) ⊄ \(higher)")
        }
    }

    @Test("another tenant's resource is not found, never forbidden")
    func tenantIsolation() {
        let resource = Policy.Resource(kind: "Project", orgId: orgB, createdBy: me)
        for role in Role.allCases {
            #expect(throws: AppError.notFound("Project")) { try Policy.authorize(session(role), .projectsRead, on: resource) }
        }
    }

    @Test("a member changes or deletes only the projects they created")
    func createdByRule() throws {
        let mine = Policy.Resource(kind: "Project", orgId: orgA, createdBy: me)
        let theirs = Policy.Resource(kind: "Project", orgId: orgA, createdBy: UUID())
        try Policy.authorize(session(.member), .projectsDelete, on: mine)
        try Policy.authorize(session(.member), .projectsWrite, on: mine)
        #expect(throws: AppError.self) { try Policy.authorize(session(.member), .projectsDelete, on: theirs) }
        #expect(throws: AppError.self) { try Policy.authorize(session(.member), .projectsWrite, on: theirs) }
        try Policy.authorize(session(.admin), .projectsDelete, on: theirs)
        try Policy.authorize(session(.member), .projectsWrite, inOrg: orgA) // creating is fine
    }

    @Test("an API key's rights are its scopes intersected with the owner's role, in its own organization only")
    func apiKeyScopes() throws {
        let key = Principal(
            userId: me, username: "u",
            credential: .apiKey(id: UUID(), orgId: orgA, scopes: [.projectsRead, .projectsWrite, .auditRead]),
            memberships: [orgA: .member, orgB: .owner])
        #expect(key.permissions(in: orgA) == [.projectsRead, .projectsWrite]) // audit:read is beyond the member role
        #expect(key.permissions(in: orgB).isEmpty)
        #expect(key.visibleOrgIds == [orgA])
        #expect(throws: AppError.notFound("Organization")) { try Policy.authorize(key, .orgRead, inOrg: orgB) }
        #expect(throws: AppError.self) { try Policy.authorize(key, .orgRead, inOrg: orgA) }
    }

    @Test(
        "permission strings parse only when they exist",
        arguments: [
            ("training:read", true), ("release:approve", true), ("training:approve", false), ("audit:write", false),
            ("training", false), ("nope:read", false), ("training:read:x", false),
        ])
    func parsing(text: String, valid: Bool) {
        #expect((Permission(text) != nil) == valid)
        if valid { #expect(Permission(text)?.description == text) }
    }
}

@Suite("Paging, slugs and validation")
struct CoreValueTests {
    @Test("cursors round-trip and reject garbage")
    func cursors() throws {
        let id = IDGenerator.uuidV7()
        let page = try PageRequest(limit: 10, cursor: Cursor(after: id).text)
        #expect(page.after == id)
        #expect(throws: AppError.self) { try PageRequest(limit: 10, cursor: "not-a-cursor") }
        #expect(throws: AppError.self) { try PageRequest(limit: 0, cursor: nil) }
        #expect(throws: AppError.self) { try PageRequest(limit: 501, cursor: nil) }
    }

    @Test("version 7 ids sort by creation time")
    func idsSortByTime() {
        let earlier = IDGenerator.uuidV7(at: Date(timeIntervalSince1970: 1_700_000_000))
        let later = IDGenerator.uuidV7(at: Date(timeIntervalSince1970: 1_700_000_001))
        #expect(earlier.lowercasedString < later.lowercasedString)
        #expect(earlier.lowercasedString.dropFirst(14).first == "7")
    }

    @Test("random ids are version 4, RFC 9562 variant, and differ")
    func randomIds() {
        let ids = (0..<1_000).map { _ in IDGenerator.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let text = id.lowercasedString
            #expect(text.dropFirst(14).first == "4")
            #expect("89ab".contains(text.dropFirst(19).first!))
            #expect(UUID(uuidString: text) == id)
        }
    }

    @Test("slugs", arguments: [("My Team (EU)", "my-team-eu"), ("  --Hello__World--  ", "hello-world"), ("Ünïcode ok", "n-code-ok")])
    func slugs(name: String, slug: String) {
        #expect(Slug.from(name) == slug)
        #expect(Slug.isValid(slug))
    }

    @Test("invalid slugs", arguments: ["", "-a", "a-", "A", "a--b", "a_b", String(repeating: "a", count: 64)])
    func invalidSlugs(slug: String) {
        #expect(!Slug.isValid(slug))
    }
}
