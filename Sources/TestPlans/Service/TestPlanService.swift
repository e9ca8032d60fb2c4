import AITIPCore
import Foundation
import Identity
import Storage
import Workloads

/// Test plans and their executions (design §1–2 test service): plans with a command, an environment and a cron
/// schedule; executions run as workloads of the kind `test`, or reported from outside by posting a JUnit report;
/// results read from JUnit XML (cases, durations, failures) and Cobertura XML (coverage); flaky cases found across
/// executions; HTML and PDF reports.
package struct TestPlanService: Sendable {
    /// Test executions as a workload kind: App registers it with WorkloadService.
    package static let kind = WorkloadKind(
        name: "test", title: "Test execution", read: Permission(.testing, .read), write: Permission(.testing, .write),
        delete: Permission(.testing, .delete))
    static let read = Permission(.testing, .read)
    static let write = Permission(.testing, .write)
    static let delete = Permission(.testing, .delete)

    let database: Database
    let clock: any Clock
    let audit: AuditLog
    package let workloads: WorkloadService
    let projects: ProjectScopes
    /// Chromium for PDF reports; nil: PDF reports are refused with the reason.
    let chromium: String?
    /// Rings when a test workload may have ended or a schedule may be due.
    package let wakeup = Wakeup()

    package init(database: Database, clock: any Clock, audit: AuditLog, workloads: WorkloadService, chromium: String?) {
        self.database = database
        self.clock = clock
        self.audit = audit
        self.workloads = workloads
        self.chromium = chromium
        projects = ProjectScopes(database: database)
    }

    package struct Input: Sendable {
        package var name: String?
        package var description: String?
        package var testType: String?
        package var config: TestPlan.Config?
        /// Some(nil) clears the schedule.
        package var schedule: String??

        package init(name: String?, description: String?, testType: String?, config: TestPlan.Config?, schedule: String??) {
            self.name = name
            self.description = description
            self.testType = testType
            self.config = config
            self.schedule = schedule
        }
    }

    // MARK: plans

    package func create(_ input: Input, project projectId: UUID, caller: Caller) async throws -> TestPlan {
        let scope = try await projects.scope(.id(projectId), permission: Self.write, caller: caller)
        let principal = try caller.requirePrincipal()
        guard let name = input.name, let config = input.config else {
            throw AppError.validation(
                [
                    input.name == nil ? FieldError(field: "name", message: "is required") : nil,
                    input.config == nil ? FieldError(field: "config", message: "is required (config.command at least)") : nil,
                ].compactMap { $0 })
        }
        let now = clock.now()
        var plan = TestPlan(
            id: IDGenerator.uuidV7(at: now), orgId: scope.orgId, projectId: scope.projectId, ownerId: principal.userId, name: name,
            description: input.description ?? "", testType: input.testType ?? "unit", config: "{}", schedule: nil, nextRunMs: nil,
            createdMs: now.epochMilliseconds, updatedMs: now.epochMilliseconds)
        try apply(config: config, schedule: input.schedule ?? nil, to: &plan, now: now)
        try validate(plan)
        let checked = plan
        try await database.transaction { sql in
            if try await TestPlanStore.plan(named: name, project: scope.projectId, on: sql) != nil {
                throw AppError.conflict("This project already has a test plan named '\(name)'")
            }
            try await checkRunnable(checked, on: sql)
            try await TestPlanStore.insert(checked, on: sql)
            try await audit.record(
                on: sql, caller, orgId: scope.orgId, action: "test.plan.create", targetType: "test_plan", targetId: checked.id.lowercasedString)
        }
        wakeup.signal()
        return checked
    }

    package func plan(_ id: UUID, caller: Caller) async throws -> TestPlan {
        try await authorized(id, Self.read, caller: caller)
    }

    package func plans(project projectId: UUID, page: PageRequest, caller: Caller) async throws -> Page<TestPlan> {
        let scope = try await projects.scope(.id(projectId), permission: Self.read, caller: caller)
        let rows = try await database.read { sql in
            try await TestPlanStore.plans(project: scope.projectId, after: page.after, limit: page.limit + 1, on: sql)
        }
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    package func update(_ id: UUID, _ input: Input, caller: Caller) async throws -> TestPlan {
        var plan = try await authorized(id, Self.write, caller: caller)
        let now = clock.now()
        if let name = input.name { plan.name = name }
        if let description = input.description { plan.description = description }
        if let testType = input.testType { plan.testType = testType }
        try apply(config: input.config ?? plan.decodedConfig, schedule: input.schedule ?? plan.schedule, to: &plan, now: now)
        plan.updatedMs = now.epochMilliseconds
        try validate(plan)
        let changed = plan
        try await database.transaction { sql in
            if let other = try await TestPlanStore.plan(named: changed.name, project: changed.projectId, on: sql), other.id != changed.id {
                throw AppError.conflict("This project already has a test plan named '\(changed.name)'")
            }
            try await checkRunnable(changed, on: sql)
            try await TestPlanStore.update(changed, on: sql)
            try await audit.record(
                on: sql, caller, orgId: changed.orgId, action: "test.plan.update", targetType: "test_plan", targetId: changed.id.lowercasedString)
        }
        wakeup.signal()
        return changed
    }

    /// Deletes the plan with its executions (their results and logs); refused while one still runs.
    package func delete(_ id: UUID, caller: Caller) async throws {
        let plan = try await authorized(id, Self.delete, caller: caller)
        let executions = try await database.read { sql in try await TestPlanStore.executions(plans: [plan.id], after: nil, limit: 100_000, on: sql) }
        if executions.contains(where: { $0.resultState == .pending && $0.workloadId != nil }) {
            throw AppError.conflict("An execution of this plan is still running: stop it (or wait for it) before deleting the plan")
        }
        for workloadId in executions.compactMap(\.workloadId) {
            try await workloads.delete(workloadId, of: Self.kind, caller: caller)
        }
        try await database.transaction { sql in
            try await TestPlanStore.delete(plan.id, on: sql)
            try await audit.record(
                on: sql, caller, orgId: plan.orgId, action: "test.plan.delete", targetType: "test_plan", targetId: plan.id.lowercasedString)
        }
    }

    // MARK: executions

    /// Runs the plan now, as a workload (queued, scheduled and sandboxed like any job).
    package func execute(_ planId: UUID, caller: Caller) async throws -> TestExecution {
        let plan = try await authorized(planId, Self.write, caller: caller)
        let principal = try caller.requirePrincipal()
        return try await start(plan, trigger: .manual, by: principal.userId, caller: caller)
    }

    /// An execution run somewhere else, reported by its JUnit XML (and Cobertura XML): parsed before anything is
    /// stored, so a malformed report creates nothing.
    package func report(_ planId: UUID, junit: String, coverage: String?, caller: Caller) async throws -> TestExecution {
        let plan = try await authorized(planId, Self.write, caller: caller)
        let principal = try caller.requirePrincipal()
        let cases = try TestReports.junit(Array(junit.utf8))
        let percent = try coverage.map { text throws(AppError) in try TestReports.coveragePercent(Array(text.utf8)) }
        let now = clock.now().epochMilliseconds
        let totals = CaseTotals(cases)
        let execution = TestExecution(
            id: IDGenerator.uuidV7(at: clock.now()), planId: plan.id, orgId: plan.orgId, projectId: plan.projectId, workloadId: nil,
            triggerType: TestExecution.Trigger.webhook.rawValue, triggeredBy: principal.userId, resultState: .ready, exitCode: nil,
            totalCases: totals.total, passedCases: totals.passed, failedCases: totals.failed, skippedCases: totals.skipped, coveragePercent: percent,
            durationSeconds: Double(cases.reduce(0) { $0 + $1.durationMs }) / 1_000, resultError: nil, createdMs: now, completedMs: now)
        try await database.transaction { sql in
            try await TestPlanStore.insert(execution, on: sql)
            try await TestPlanStore.insertCases(cases, of: execution, on: sql)
            try await audit.record(
                on: sql, caller, orgId: plan.orgId, action: "test.execution.report", targetType: "test_execution",
                targetId: execution.id.lowercasedString,
                detail: "\(totals.total) cases, \(totals.failed) failed")
        }
        return execution
    }

    package func execution(_ id: UUID, caller: Caller) async throws -> (TestExecution, TestPlan, Workload?) {
        let principal = try caller.requirePrincipal()
        guard let execution = try await database.read({ sql in try await TestPlanStore.execution(id, on: sql) }),
            principal.visibleOrgIds.contains(execution.orgId)
        else { throw AppError.notFound("Test execution") }
        let plan = try await authorized(execution.planId, Self.read, caller: caller)
        let workload = try await execution.workloadId.asyncMap { try await workloads.workload($0, of: Self.kind, caller: caller) }
        return (execution, plan, workload)
    }

    /// Executions, newest first, of one plan or of every plan of a project.
    package func executions(plan planId: UUID?, project projectId: UUID?, limit: Int, cursor: String?, caller: Caller) async throws
        -> Page<TestExecution>
    {
        let planIds: [UUID]
        if let planId {
            planIds = [try await authorized(planId, Self.read, caller: caller).id]
        } else if let projectId {
            let scope = try await projects.scope(.id(projectId), permission: Self.read, caller: caller)
            planIds = try await database.read { sql in try await TestPlanStore.plans(project: scope.projectId, after: nil, limit: 100_000, on: sql) }
                .map(\.id)
        } else {
            throw AppError.validation([FieldError(field: "plan_id", message: "give plan_id or project_id")])
        }
        let after = try Cursor.parse(cursor).map { cursor throws(AppError) in (try cursor.int64(0), try cursor.uuid(1)) }
        let rows = try await database.read { sql in try await TestPlanStore.executions(plans: planIds, after: after, limit: limit + 1, on: sql) }
        let items = Array(rows.prefix(limit))
        let next = rows.count > limit ? items.last.map { Cursor(String($0.createdMs), $0.id.lowercasedString).text } : nil
        return Page(items: items, nextCursor: next)
    }

    package func cases(of executionId: UUID, caller: Caller) async throws -> (TestExecution, [CaseResult]) {
        let (execution, _, _) = try await execution(executionId, caller: caller)
        return (execution, try await database.read { sql in try await TestPlanStore.cases(of: execution.id, on: sql) })
    }

    /// Each case of the plan over its newest executions: outcomes oldest first, and whether it is flaky.
    package struct CaseHistory: Sendable {
        package var suite: String
        package var classname: String
        package var name: String
        package var outcomes: [(execution: UUID, status: CaseResult.Status, message: String?)]
        package var flaky: Bool
        package var flips: Int
    }

    package func caseHistory(plan planId: UUID, executions count: Int, caller: Caller) async throws -> [CaseHistory] {
        let plan = try await authorized(planId, Self.read, caller: caller)
        let rows = try await database.read { sql in try await TestPlanStore.history(plan: plan.id, executions: max(1, min(count, 100)), on: sql) }
        var order: [String] = []
        var byKey: [String: CaseHistory] = [:]
        for row in rows {
            let key = "\(row.result.classname)\u{1F}\(row.result.name)"
            if byKey[key] == nil {
                order.append(key)
                byKey[key] = CaseHistory(
                    suite: row.result.suite, classname: row.result.classname, name: row.result.name, outcomes: [], flaky: false, flips: 0)
            }
            byKey[key]!.outcomes.append((row.execution, row.result.status, row.result.message))
        }
        return order.map { key in
            var history = byKey[key]!
            let statuses = history.outcomes.map(\.status)
            history.flips = Flakiness.flips(statuses)
            history.flaky = Flakiness.isFlaky(statuses)
            return history
        }
    }

    // MARK: helpers

    func authorized(_ id: UUID, _ permission: Permission, caller: Caller) async throws -> TestPlan {
        let principal = try caller.requirePrincipal()
        guard let plan = try await database.read({ sql in try await TestPlanStore.plan(id, on: sql) }), principal.visibleOrgIds.contains(plan.orgId)
        else { throw AppError.notFound("Test plan") }
        try Policy.authorize(principal, permission, on: Policy.Resource(kind: "Test plan", orgId: plan.orgId, projectId: plan.projectId))
        return plan
    }

    private func apply(config: TestPlan.Config?, schedule: String?, to plan: inout TestPlan, now: Date) throws {
        if let config { plan.config = String(decoding: try JSONEncoder.sorted.encode(config), as: UTF8.self) }
        let cleaned = schedule.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) }
        if cleaned != plan.schedule || (cleaned != nil && plan.nextRunMs == nil) {
            plan.schedule = cleaned
            plan.nextRunMs = try cleaned.map { text throws(AppError) in try CronSchedule(text).next(after: now).map { $0.epochMilliseconds } } ?? nil
            if cleaned != nil && plan.nextRunMs == nil {
                throw AppError.validation([FieldError(field: "schedule", message: "'\(cleaned!)' never fires (no such date in five years)")])
            }
        }
    }

    private func validate(_ plan: TestPlan) throws {
        var validator = Validator()
        validator.check((1...255).contains(plan.name.count), "name", "must be 1-255 characters")
        validator.check(plan.description.count <= 10_000, "description", "is longer than 10,000 characters")
        validator.check(TestPlan.testTypes.contains(plan.testType), "test_type", "must be one of \(TestPlan.testTypes.joined(separator: ", "))")
        if let config = plan.decodedConfig {
            validator.check(!config.command.trimmingCharacters(in: .whitespaces).isEmpty, "config.command", "is required")
            validator.check(config.command.utf8.count <= 16_384, "config.command", "is longer than 16 KiB")
            for (field, path) in [("config.junit_path", config.junitPath), ("config.coverage_path", config.coveragePath)] {
                guard let path else { continue }
                validator.check(Self.isPlainRelativePath(path), field, "must be a relative path of letters, digits, '.', '_', '-' and '/' (no '..')")
            }
        }
        try validator.finish()
    }

    static func isPlainRelativePath(_ path: String) -> Bool {
        !path.isEmpty && path.count <= 255 && !path.hasPrefix("/") && !path.split(separator: "/").contains("..")
            && path.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-/".unicodeScalars.contains($0) }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
