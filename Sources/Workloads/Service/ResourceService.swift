import AITIPCore
import Foundation
import Identity
import SQLKit
import Storage

/// GPU nodes, quotas, usage and costs (design §4.1 `/resources/gpu|quota|usage|costs`).
///
/// Nodes are shared by every organization: anyone with `resources:read` sees the pool. Changing a node or a quota
/// is an operator's job: it needs `resources:write` in the operator organization (`operator_org`, the organization
/// created at first start by default) — an organization admin must not raise their own quota.
package struct ResourceService: Sendable {
    package struct Configuration: Sendable {
        /// Price of one GPU-hour by GPU type, in `currency`; types not listed cost `defaultPricePerGPUHour`.
        package var pricePerGPUHour: [String: Double]
        package var defaultPricePerGPUHour: Double
        package var currency: String
        package var operatorOrgSlug: String

        package init(
            pricePerGPUHour: [String: Double] = [:], defaultPricePerGPUHour: Double = 0, currency: String = "USD",
            operatorOrgSlug: String = "default"
        ) {
            self.pricePerGPUHour = pricePerGPUHour
            self.defaultPricePerGPUHour = defaultPricePerGPUHour
            self.currency = currency
            self.operatorOrgSlug = operatorOrgSlug
        }

        package func price(_ gpuType: String) -> Double { pricePerGPUHour[gpuType] ?? defaultPricePerGPUHour }
    }

    let database: Database
    let clock: any Clock
    let audit: AuditLog
    package let configuration: Configuration

    package init(database: Database, clock: any Clock, audit: AuditLog, configuration: Configuration = .init()) {
        self.database = database
        self.clock = clock
        self.audit = audit
        self.configuration = configuration
    }

    // MARK: nodes

    package func nodes(caller: Caller) async throws -> [NodeView] {
        try requireAnywhere(.resourcesRead, caller)
        return try await database.read { sql in
            let nodes = try await ResourceStore.nodes(on: sql)
            let active = try await WorkloadStore.workloads(states: [.admitted, .starting, .running], on: sql)
            var gpus: [UUID: Int] = [:]
            var counts: [UUID: Int] = [:]
            for workload in active {
                for placement in workload.placements {
                    gpus[placement.nodeId, default: 0] += placement.gpuIndices.count
                    counts[placement.nodeId, default: 0] += 1
                }
            }
            return nodes.map { node in
                let used = gpus[node.id] ?? 0
                let status: NodeStatus = node.status == .available && node.gpuCount > 0 && used >= node.gpuCount ? .busy : node.status
                return NodeView(node: node, gpusInUse: used, runningWorkloads: counts[node.id] ?? 0, effectiveStatus: status)
            }
        }
    }

    /// Drains a node (`maintenance`: running work finishes, nothing new starts) or returns it (`available`).
    package func setNodeStatus(_ id: UUID, _ status: NodeStatus, caller: Caller) async throws -> GPUNode {
        guard status == .available || status == .maintenance else {
            throw AppError.badRequest("A node's status can be set to 'available' or 'maintenance'; 'busy' and 'offline' are observed")
        }
        let operatorOrg = try await requireOperator(caller)
        return try await database.transaction { sql in
            guard var node = try await ResourceStore.node(id, on: sql) else { throw AppError.notFound("GPU node") }
            try await ResourceStore.setStatus(status, of: id, on: sql)
            node.status = status
            try await audit.record(
                on: sql, caller, orgId: operatorOrg, action: "node.\(status == .maintenance ? "drain" : "undrain")",
                targetType: "gpu_node", targetId: node.name)
            return node
        }
    }

    // MARK: quotas

    /// Quotas of the organizations the caller may read resources in (or of one), with what is used now.
    package func quotas(orgId: UUID?, caller: Caller) async throws -> [QuotaView] {
        let orgIds = try readableOrgs(orgId, caller)
        let monthStart = Self.monthStart(clock.now())
        return try await database.read { sql in
            let quotas = try await ResourceStore.quotas(orgIds: orgIds, on: sql)
            let used = try await ResourceStore.gpuSecondsSince(Self.day(monthStart), on: sql)
            let active = try await WorkloadStore.workloads(states: [.admitted, .starting, .running], on: sql)
            return quotas.map { quota in
                let seconds = quota.projectId.map { used.projects[$0] ?? 0 } ?? (used.orgs[quota.orgId] ?? 0)
                let running = active.filter { workload in
                    if let project = quota.projectId { return workload.projectId == project }
                    return workload.orgId == quota.orgId
                }.count
                return QuotaView(quota: quota, usedGPUHoursMonth: seconds / 3_600, runningJobs: running)
            }
        }
    }

    package struct QuotaInput: Sendable {
        package var orgId: UUID
        package var projectId: UUID?
        package var maxGPUHoursMonth: Double?
        package var maxStorageGB: Int?
        package var maxConcurrentJobs: Int?
        package var maxModels: Int?

        package init(orgId: UUID, projectId: UUID?, maxGPUHoursMonth: Double?, maxStorageGB: Int?, maxConcurrentJobs: Int?, maxModels: Int?) {
            self.orgId = orgId
            self.projectId = projectId
            self.maxGPUHoursMonth = maxGPUHoursMonth
            self.maxStorageGB = maxStorageGB
            self.maxConcurrentJobs = maxConcurrentJobs
            self.maxModels = maxModels
        }
    }

    // MARK: read functions for other modules (no caller: they authorize themselves)

    /// The storage limits (`max_storage_gb`) that apply to a project: its organization's and its own, when set.
    package func storageLimitsGB(org orgId: UUID, project projectId: UUID) async throws -> (org: Int?, project: Int?) {
        try await database.read { sql in
            let quotas = try await ResourceStore.quotas(orgIds: [orgId], on: sql)
            return (quotas.first { $0.scope == "org" }?.maxStorageGB, quotas.first { $0.projectId == projectId }?.maxStorageGB)
        }
    }

    /// GPU-seconds metered so far per workload.
    package func gpuSeconds(ofWorkloads ids: [UUID]) async throws -> [UUID: Double] {
        guard !ids.isEmpty else { return [:] }
        return try await database.read { sql in try await ResourceStore.gpuSeconds(ofWorkloads: ids, on: sql) }
    }

    /// Sets (replaces) the quota of an organization or of one of its projects. nil limits mean unlimited.
    package func setQuota(_ input: QuotaInput, caller: Caller) async throws -> Quota {
        let operatorOrg = try await requireOperator(caller)
        var validator = Validator()
        if let hours = input.maxGPUHoursMonth {
            validator.check(hours >= 0 && hours <= 10_000_000, "max_gpu_hours_month", "must be between 0 and 10,000,000")
        }
        if let storage = input.maxStorageGB { validator.check(storage >= 0, "max_storage_gb", "must not be negative") }
        if let jobs = input.maxConcurrentJobs {
            validator.check(jobs >= 0 && jobs <= 1_000_000, "max_concurrent_jobs", "must be between 0 and 1,000,000")
        }
        if let models = input.maxModels { validator.check(models >= 0, "max_models", "must not be negative") }
        try validator.finish()
        let now = clock.now().epochMilliseconds
        guard try await Directory(database: database).exists(org: input.orgId, project: input.projectId) else {
            throw AppError.notFound(input.projectId == nil ? "Organization" : "Project")
        }
        return try await database.transaction { sql in
            let scope = input.projectId?.lowercasedString ?? "org"
            let existing = try await ResourceStore.quota(orgId: input.orgId, scope: scope, on: sql)
            let quota = Quota(
                id: existing?.id ?? IDGenerator.uuidV7(), orgId: input.orgId, projectId: input.projectId, scope: scope,
                maxGPUHoursMonth: input.maxGPUHoursMonth, maxStorageGB: input.maxStorageGB,
                maxConcurrentJobs: input.maxConcurrentJobs, maxModels: input.maxModels,
                createdMs: existing?.createdMs ?? now, updatedMs: now)
            try await ResourceStore.save(quota, new: existing == nil, on: sql)
            try await audit.record(
                on: sql, caller, orgId: input.orgId, action: "quota.set", targetType: "quota", targetId: scope,
                detail: "set by the operator organization \(operatorOrg.lowercasedString)")
            return quota
        }
    }

    // MARK: usage and costs

    package enum Grouping: String, Sendable, CaseIterable {
        case organization, project, user, day, gpuType = "gpu_type"
    }

    package struct UsageReport: Sendable {
        package var from: String
        package var to: String
        package var groupBy: Grouping
        package var currency: String
        package var lines: [UsageLine]
        package var totalGPUHours: Double
        package var totalCost: Double
    }

    /// GPU usage (and its cost at the configured prices) between two UTC days, summed by `groupBy`.
    package func usage(orgId: UUID?, fromDay: String?, toDay: String?, groupBy: Grouping, caller: Caller) async throws -> UsageReport {
        let orgIds = try readableOrgs(orgId, caller)
        let now = clock.now()
        let from = fromDay ?? Self.day(Self.monthStart(now))
        let to = toDay ?? Self.day(now)
        guard Self.isDay(from), Self.isDay(to) else { throw AppError.badRequest("from and to are UTC days written YYYY-MM-DD") }
        guard from <= to else { throw AppError.badRequest("from (\(from)) is after to (\(to))") }
        let rows = try await database.read { sql in try await ResourceStore.usage(orgIds: orgIds, fromDay: from, toDay: to, on: sql) }
        var sums: [String: (type: String, seconds: Double, cost: Double)] = [:]
        for row in rows {
            let key: String
            switch groupBy {
            case .organization: key = row.orgId.lowercasedString
            case .project: key = row.projectId.lowercasedString
            case .user: key = row.userId?.lowercasedString ?? "unknown"
            case .day: key = row.day
            case .gpuType: key = row.gpuType
            }
            let cost = row.gpuSeconds / 3_600 * configuration.price(row.gpuType)
            var sum = sums["\(key)|\(row.gpuType)"] ?? (row.gpuType, 0, 0)
            sum.seconds += row.gpuSeconds
            sum.cost += cost
            sums["\(key)|\(row.gpuType)"] = sum
        }
        let lines = sums.map { entry in
            UsageLine(
                key: String(entry.key.split(separator: "|")[0]), gpuType: entry.value.type, gpuSeconds: entry.value.seconds, cost: entry.value.cost)
        }.sorted { ($0.key, $0.gpuType) < ($1.key, $1.gpuType) }
        return UsageReport(
            from: from, to: to, groupBy: groupBy, currency: configuration.currency, lines: lines,
            totalGPUHours: lines.reduce(0) { $0 + $1.gpuSeconds } / 3_600, totalCost: lines.reduce(0) { $0 + $1.cost })
    }

    // MARK: helpers

    private func requireAnywhere(_ permission: Permission, _ caller: Caller) throws {
        let principal = try caller.requirePrincipal()
        guard principal.visibleOrgIds.contains(where: { principal.permissions(in: $0).contains(permission) }) else {
            throw AppError.forbidden("You need the '\(permission)' permission in an organization")
        }
    }

    private func readableOrgs(_ orgId: UUID?, _ caller: Caller) throws -> [UUID] {
        let principal = try caller.requirePrincipal()
        if let orgId {
            try Policy.authorize(principal, .resourcesRead, inOrg: orgId)
            return [orgId]
        }
        let orgs = principal.visibleOrgIds.filter { principal.permissions(in: $0).contains(.resourcesRead) }
        guard !orgs.isEmpty else { throw AppError.forbidden("You need the 'resources:read' permission in an organization") }
        return orgs
    }

    /// The operator organization's id, when the caller holds `resources:write` there.
    private func requireOperator(_ caller: Caller) async throws -> UUID {
        let principal = try caller.requirePrincipal()
        let slug = configuration.operatorOrgSlug
        let id = try await Directory(database: database).organization(slug: slug)
        guard let id, principal.permissions(in: id).contains(.resourcesWrite) else {
            throw AppError.forbidden("Nodes and quotas are changed by operators: you need 'resources:write' in the operator organization '\(slug)'")
        }
        return id
    }

    static func monthStart(_ date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
    }

    static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }

    static func isDay(_ text: String) -> Bool {
        text.count == 10 && day(dayDate(text) ?? .distantPast) == text
    }

    static func dayDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.date(from: text)
    }
}
