import AITIPCore
import Foundation
import SQLKit
import Storage

package struct OrganizationInput: Sendable {
    package var name: String?
    package var slug: String?
    package var plan: String?
    package var settings: JSONObject?
    package var quota: JSONObject?

    package init(name: String? = nil, slug: String? = nil, plan: String? = nil, settings: JSONObject? = nil, quota: JSONObject? = nil) {
        self.name = name
        self.slug = slug
        self.plan = plan
        self.settings = settings
        self.quota = quota
    }
}

/// How a member is named when added: an existing account by id, username or email; with a password, a new
/// account is created (the way admins add people when self-registration is closed).
package struct MemberInput: Sendable {
    package var userId: UUID?
    package var username: String?
    package var email: String?
    package var password: String?
    package var role: String?

    package init(userId: UUID? = nil, username: String? = nil, email: String? = nil, password: String? = nil, role: String? = nil) {
        self.userId = userId
        self.username = username
        self.email = email
        self.password = password
        self.role = role
    }
}

/// Organizations and their members.
package struct OrganizationService: Sendable {
    static let plans: Set<String> = ["free", "pro", "enterprise"]

    let database: Database
    let hasher: PasswordHasher
    let clock: any Clock
    let audit: AuditLog
    let cache: PrincipalCache

    package init(database: Database, hasher: PasswordHasher, clock: any Clock, audit: AuditLog, cache: PrincipalCache) {
        self.database = database
        self.hasher = hasher
        self.clock = clock
        self.audit = audit
        self.cache = cache
    }

    package func list(_ caller: Caller, page: PageRequest) async throws -> Page<Organization> {
        let principal = try caller.requirePrincipal()
        let ids = principal.visibleOrgIds.filter { principal.permissions(in: $0).contains(.orgRead) }
        return try await database.read { sql in try await OrganizationStore.list(ids: ids, page: page, on: sql) }
    }

    package func get(_ id: UUID, caller: Caller) async throws -> Organization {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .orgRead, inOrg: id)
        guard let org = try await database.read({ sql in try await OrganizationStore.find(id, on: sql) }) else {
            throw AppError.notFound("Organization")
        }
        return org
    }

    /// The organization's agent approval policy (`settings.agent_approval`), whoever asks: the platform's own rule,
    /// read by the agent API before it runs a tool. Nil without one (or without the organization).
    package func agentApprovalPolicy(of id: UUID) async throws -> AgentApprovalPolicy? {
        guard let org = try await database.read({ sql in try await OrganizationStore.find(id, on: sql) }) else { return nil }
        let settings = (try? JSONDecoder().decode(JSONObject.self, from: Data(org.settings.utf8))) ?? [:]
        return try AgentApprovalPolicy(settings: settings)
    }

    package func create(_ input: OrganizationInput, caller: Caller) async throws -> Organization {
        let principal = try caller.requirePrincipal()
        guard case .session = principal.credential else {
            throw AppError.forbidden("API keys belong to one organization and cannot create organizations; sign in as a user")
        }
        var validator = Validator()
        let name = validator.requireText(input.name, "name", maxLength: 255)
        let slug = input.slug ?? Slug.from(name)
        if input.slug != nil || !name.isEmpty { validator.checkSlug(slug, "slug") }
        if let plan = input.plan { validator.check(Self.plans.contains(plan), "plan", "must be one of free, pro, enterprise") }
        try validator.finish()
        if let settings = input.settings { _ = try AgentApprovalPolicy(settings: settings) }
        let now = clock.now()
        defer { cache.forget(userId: principal.userId) }
        return try await database.transaction { sql in
            if try await OrganizationStore.slugExists(slug, on: sql) {
                throw AppError.conflict("An organization with the slug '\(slug)' already exists")
            }
            var org = try await Self.insertOrganization(name: name, preferredSlug: slug, exactSlug: true, now: now, on: sql)
            if input.plan != nil || input.settings != nil || input.quota != nil {
                org.plan = input.plan ?? org.plan
                org.settings = (input.settings ?? [:]).jsonText()
                org.quota = (input.quota ?? [:]).jsonText()
                try await OrganizationStore.update(org, on: sql)
            }
            try await sql.insert(
                Membership(orgId: org.id, userId: principal.userId, role: .owner, createdMs: now.epochMilliseconds), into: "org_members")
            try await audit.record(
                on: sql, caller, orgId: org.id, action: "org.create", targetType: "organization", targetId: org.id.lowercasedString)
            return org
        }
    }

    package func update(_ id: UUID, _ input: OrganizationInput, caller: Caller) async throws -> Organization {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .orgWrite, inOrg: id)
        var validator = Validator()
        if input.name != nil { validator.requireText(input.name, "name", maxLength: 255) }
        if let slug = input.slug { validator.checkSlug(slug, "slug") }
        if let plan = input.plan { validator.check(Self.plans.contains(plan), "plan", "must be one of free, pro, enterprise") }
        try validator.finish()
        if let settings = input.settings { _ = try AgentApprovalPolicy(settings: settings) }
        let now = clock.now()
        return try await database.transaction { sql in
            guard var org = try await OrganizationStore.find(id, on: sql) else { throw AppError.notFound("Organization") }
            if let slug = input.slug, slug != org.slug {
                if try await OrganizationStore.slugExists(slug, on: sql) {
                    throw AppError.conflict("An organization with the slug '\(slug)' already exists")
                }
                org.slug = slug
            }
            if let name = input.name { org.name = name.trimmingCharacters(in: .whitespacesAndNewlines) }
            if let plan = input.plan { org.plan = plan }
            if let settings = input.settings { org.settings = settings.jsonText() }
            if let quota = input.quota { org.quota = quota.jsonText() }
            org.updatedMs = now.epochMilliseconds
            try await OrganizationStore.update(org, on: sql)
            try await audit.record(on: sql, caller, orgId: id, action: "org.update", targetType: "organization", targetId: id.lowercasedString)
            return org
        }
    }

    /// Deletes the organization and everything in it (owners only); `confirmingSlug` must repeat its slug, so that an id alone,
    /// picked up by mistake or by a script looping over ids, deletes nothing.
    package func delete(_ id: UUID, confirmingSlug: String, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .orgDelete, inOrg: id)
        defer { cache.forgetAll() }
        try await database.transaction { sql in
            guard let org = try await OrganizationStore.find(id, on: sql) else { throw AppError.notFound("Organization") }
            guard confirmingSlug == org.slug else {
                throw AppError.validation([
                    FieldError(
                        field: "confirm",
                        message: "must be the organization's slug, '\(org.slug)': deleting it removes every project, run and dataset in it")
                ])
            }
            try await OrganizationStore.delete(id, on: sql)
            try await audit.record(on: sql, caller, orgId: id, action: "org.delete", targetType: "organization", targetId: id.lowercasedString)
        }
    }

    // MARK: members

    package func members(of orgId: UUID, caller: Caller, page: PageRequest) async throws -> Page<Member> {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .membersRead, inOrg: orgId)
        return try await database.read { sql in try await OrganizationStore.members(of: orgId, page: page, on: sql) }
    }

    /// What adding someone did: made a new account (the admin gave a password) and its membership, or invited an
    /// existing account, which joins only when its owner accepts.
    package enum Addition: Sendable {
        case created(Member)
        case invited(Invitation)
    }

    /// With a password: creates the account and its membership at once (how admins add people when registration is
    /// closed). Without: invites the account named by user id, username or email, with the same answer whether or
    /// not such an account exists.
    package func addMember(to orgId: UUID, _ input: MemberInput, caller: Caller) async throws -> Addition {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .membersWrite, inOrg: orgId)
        var validator = Validator()
        let role = Role(rawValue: input.role ?? "member")
        validator.check(role != nil, "role", "must be one of owner, admin, member, viewer")
        validator.check(
            input.userId != nil || input.username != nil || input.email != nil, "user_id",
            "name the person with user_id, username or email")
        var newAccount: (email: String, username: String, password: String)?
        if input.password != nil {
            let checked = UserValidation.check(email: input.email, username: input.username, password: input.password, into: &validator)
            newAccount = (checked.0, checked.1, checked.2)
        }
        try validator.finish()
        guard let role else { throw AppError.validation(validator.errors) }
        try Self.checkMayGrant(role, principal: principal, orgId: orgId)
        guard let newAccount else {
            let invitee = (input.userId?.lowercasedString ?? input.username ?? input.email ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            return .invited(try await invite(invitee, to: orgId, role: role, caller: caller))
        }
        let passwordHash = try await hasher.hash(newAccount.password)
        let now = clock.now()
        let added = try await database.transaction { sql in
            let taken = try await UserStore.exists(username: newAccount.username, email: newAccount.email, on: sql)
            if taken.username || taken.email {
                throw AppError.conflict("The username or email is taken; to add an existing account, invite it (send it without a password)")
            }
            let user = User(
                id: IDGenerator.uuidV7(at: now), orgId: orgId, email: newAccount.email, username: newAccount.username,
                passwordHash: passwordHash, settings: "{}", lastLoginMs: nil, createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
            try await sql.insert(user, into: "users")
            try await sql.insert(Membership(orgId: orgId, userId: user.id, role: role, createdMs: now.epochMilliseconds), into: "org_members")
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "member.add", targetType: "user",
                targetId: user.id.lowercasedString, detail: "new account, role=\(role.rawValue)")
            return Member(userId: user.id, username: user.username, email: user.email, role: role, createdMs: now.epochMilliseconds)
        }
        cache.forget(userId: added.userId)
        return .created(added)
    }

    package func updateMember(in orgId: UUID, userId: UUID, role roleText: String?, caller: Caller) async throws -> Member {
        let principal = try caller.requirePrincipal()
        try Policy.authorize(principal, .membersWrite, inOrg: orgId)
        guard let role = roleText.flatMap(Role.init(rawValue:)) else {
            throw AppError.validation([FieldError(field: "role", message: "must be one of owner, admin, member, viewer")])
        }
        defer { cache.forget(userId: userId) } // after the commit: no request can cache the old role again
        return try await database.transaction { sql in
            guard let membership = try await OrganizationStore.membership(org: orgId, user: userId, on: sql),
                let user = try await UserStore.find(userId, on: sql)
            else { throw AppError.notFound("Member") }
            try Self.checkMayGrant(role, principal: principal, orgId: orgId)
            try Self.checkMayGrant(membership.role, principal: principal, orgId: orgId)
            if membership.role == .owner, role != .owner, try await OrganizationStore.countOwners(of: orgId, on: sql) <= 1 {
                throw AppError.conflict("An organization needs at least one owner; make someone else owner first")
            }
            try await OrganizationStore.setRole(org: orgId, user: userId, role: role, on: sql)
            try await audit.record(
                on: sql, caller, orgId: orgId, action: "member.update", targetType: "user",
                targetId: userId.lowercasedString, detail: "role \(membership.role.rawValue)→\(role.rawValue)")
            return Member(userId: userId, username: user.username, email: user.email, role: role, createdMs: membership.createdMs)
        }
    }

    /// Removes a member (admins), or lets a member leave. The last owner cannot leave.
    package func removeMember(from orgId: UUID, userId: UUID, caller: Caller) async throws {
        let principal = try caller.requirePrincipal()
        if userId != principal.userId {
            try Policy.authorize(principal, .membersWrite, inOrg: orgId)
        } else {
            // Leaving is the person's own choice, as joining is: not something an API key does for them.
            guard case .session = principal.credential else {
                throw AppError.forbidden("Leave an organization signed in as yourself, not with an API key")
            }
            try Policy.authorize(principal, .orgRead, inOrg: orgId)
        }
        defer { cache.forget(userId: userId) }
        try await database.transaction { sql in
            guard let membership = try await OrganizationStore.membership(org: orgId, user: userId, on: sql) else {
                throw AppError.notFound("Member")
            }
            if userId != principal.userId { try Self.checkMayGrant(membership.role, principal: principal, orgId: orgId) }
            if membership.role == .owner, try await OrganizationStore.countOwners(of: orgId, on: sql) <= 1 {
                throw AppError.conflict("An organization needs at least one owner; make someone else owner first")
            }
            try await OrganizationStore.removeMember(org: orgId, user: userId, on: sql)
            try await audit.record(on: sql, caller, orgId: orgId, action: "member.remove", targetType: "user", targetId: userId.lowercasedString)
        }
    }

    /// Only owners grant, change or remove the owner role.
    static func checkMayGrant(_ role: Role, principal: Principal, orgId: UUID) throws(AppError) {
        if role == .owner, principal.memberships[orgId] != .owner {
            throw AppError.forbidden("Only owners can grant, change or remove the owner role")
        }
    }

    /// Inserts an organization; without `exactSlug`, a taken slug gets a short random suffix.
    static func insertOrganization(
        name: String, preferredSlug: String, exactSlug: Bool = false, now: Date,
        on sql: any SQLDatabase
    ) async throws -> Organization {
        var slug = preferredSlug.isEmpty ? "org" : preferredSlug
        if !exactSlug, try await OrganizationStore.slugExists(slug, on: sql) {
            slug = String(slug.prefix(54)) + "-" + SecretToken.random(bytes: 6).lowercased().filter { $0.isLetter || $0.isNumber }.prefix(8)
        }
        let org = Organization(
            id: IDGenerator.uuidV7(at: now), name: name, slug: slug, plan: "free", settings: "{}", quota: "{}",
            createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
        try await sql.insert(org, into: "organizations")
        return org
    }
}
