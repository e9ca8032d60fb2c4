import AITIPCore
import Foundation
import Identity
import SQLKit
import Workloads

/// Running a plan as a workload, reading its reports back from the log, and firing schedules.
extension TestPlanService {
    /// How the wrapper prints the command's exit status (its report files go through `LogFiles`).
    static let exitPrefix = "aitip.exit "

    /// The plan's command, then its reports printed for aitip. A run that wrote its JUnit report succeeded as a run
    /// (its failing cases are results, not a crash); one that wrote none ends with the command's status.
    static func entrypoint(_ config: TestPlan.Config) -> String {
        var script = "(\n\(config.command)\n)\nstatus=$?\necho \"\(exitPrefix)$status\"\n"
        var files = [("junit", config.junitPath)]
        if let coverage = config.coveragePath { files.append(("coverage", coverage)) }
        for (kind, path) in files {
            script += LogFiles.printing(kind, at: path) + "\n"
        }
        return script + "[ -f '\(config.junitPath)' ] && exit 0\nexit $status\n"
    }

    /// What an execution of the plan is submitted as.
    static func submission(for plan: TestPlan, trigger: TestExecution.Trigger) throws -> WorkloadService.Submission {
        guard let config = plan.decodedConfig else { throw AppError(.internalError, "test plan \(plan.id) has no readable config") }
        var submission = WorkloadService.Submission(
            name: "test-\(plan.name)", entrypoint: Self.entrypoint(config), env: config.env, codeArchive: config.codeArchive, cpu: config.cpu,
            memoryMiB: config.memoryMiB, maxRuntimeSeconds: config.maxRuntimeSeconds, maxRetries: 0)
        submission.systemEnv = ["AITIP_TEST_PLAN_ID": plan.id.lowercasedString, "AITIP_TEST_TRIGGER": trigger.rawValue]
        return submission
    }

    /// Checks, when a plan is created or changed, what its executions will be submitted with (resources, environment,
    /// code package), so that a run is not refused later for something its plan said from the start.
    func checkRunnable(_ plan: TestPlan, on sql: any SQLDatabase) async throws {
        _ = try await workloads.prepare(
            try Self.submission(for: plan, trigger: .manual), kind: Self.kind, in: ProjectScope(projectId: plan.projectId, orgId: plan.orgId),
            ownerId: plan.ownerId ?? UUID(), on: sql)
    }

    func start(_ plan: TestPlan, trigger: TestExecution.Trigger, by userId: UUID?, caller: Caller) async throws -> TestExecution {
        let prepared = try Self.submission(for: plan, trigger: trigger)
        let scope = ProjectScope(projectId: plan.projectId, orgId: plan.orgId)
        let execution: TestExecution = try await database.transaction { sql in
            let workload = try await workloads.prepare(prepared, kind: Self.kind, in: scope, ownerId: userId ?? plan.ownerId ?? UUID(), on: sql)
            let execution = TestExecution(
                id: workload.id, planId: plan.id, orgId: plan.orgId, projectId: plan.projectId, workloadId: workload.id,
                triggerType: trigger.rawValue, triggeredBy: userId, resultState: .pending, exitCode: nil, totalCases: 0, passedCases: 0,
                failedCases: 0, skippedCases: 0, coveragePercent: nil, durationSeconds: nil, resultError: nil, createdMs: workload.createdMs,
                completedMs: nil)
            try await workloads.insert(workload, caller: caller, on: sql)
            try await TestPlanStore.insert(execution, on: sql)
            return execution
        }
        workloads.wake()
        return execution
    }

    /// Reads the results of every execution whose workload has ended; returns how many it recorded.
    package func collectPending() async throws -> Int {
        let pending = try await database.read { sql in try await TestPlanStore.pending(limit: 50, on: sql) }.filter { $0.workloadId != nil }
        guard !pending.isEmpty else { return 0 }
        let states = Dictionary(uniqueKeysWithValues: try await workloads.summaries(pending.compactMap(\.workloadId)).map { ($0.id, $0) })
        var recorded = 0
        for var execution in pending {
            guard let workloadId = execution.workloadId, let summary = states[workloadId], summary.state.isFinal else { continue }
            var files: [String: Data] = [:]
            var unreadable: String?
            do {
                try await readReports(of: workloadId, into: &files, exitCode: &execution.exitCode)
            } catch {
                unreadable = "its log could not be read: \(error)"
            }
            var cases: [CaseResult] = []
            do {
                if let unreadable { throw AppError.badRequest(unreadable) }
                guard let junit = files["junit"] else {
                    let how = summary.state == .succeeded ? "ended" : "\(summary.state.rawValue) (\(summary.reason))"
                    throw AppError.badRequest(
                        "the run \(how) without writing its JUnit report (\(execution.exitCode.map { "exit status \($0)" } ?? "no exit status"))")
                }
                cases = try TestReports.junit(Array(junit))
                execution.coveragePercent = try files["coverage"].map { data throws(AppError) in try TestReports.coveragePercent(Array(data)) }
                let totals = CaseTotals(cases)
                (execution.totalCases, execution.passedCases, execution.failedCases, execution.skippedCases) =
                    (totals.total, totals.passed, totals.failed, totals.skipped)
                execution.durationSeconds = Double(cases.reduce(0) { $0 + $1.durationMs }) / 1_000
                execution.resultState = .ready
            } catch let error as AppError {
                cases = []
                execution.resultState = .failed
                execution.resultError = error.fieldErrors.first.map { "\($0.field): \($0.message)" } ?? error.detail
            }
            execution.completedMs = clock.now().epochMilliseconds
            let (outcome, results) = (execution, cases)
            if try await database.transaction({ sql in try await TestPlanStore.complete(outcome, cases: results, on: sql) }) { recorded += 1 }
        }
        return recorded
    }

    /// Starts one execution of every plan whose schedule is due, and moves its next run past now. Runs missed while
    /// no server ran are not replayed one by one: a plan that missed any number of times runs once, then keeps its
    /// schedule.
    package func fireSchedules() async throws -> Int {
        let now = clock.now()
        let due = try await database.read { sql in try await TestPlanStore.due(nowMs: now.epochMilliseconds, on: sql) }
        var fired = 0
        for plan in due {
            guard let schedule = plan.schedule, let current = plan.nextRunMs else { continue }
            let next = try? CronSchedule(schedule).next(after: now)
            let claimed = try await database.transaction { sql in
                try await TestPlanStore.advance(plan.id, from: current, to: next?.epochMilliseconds, on: sql)
            }
            guard claimed else { continue }
            do {
                _ = try await start(plan, trigger: .scheduled, by: nil, caller: Caller(principal: nil, origin: .system))
            } catch let error as AppError {
                // A run the scheduler refuses (its resources fit no node any more) is recorded, so the plan shows why.
                try await recordUnstarted(plan, reason: error.fieldErrors.first.map { "\($0.field): \($0.message)" } ?? error.detail)
            }
            fired += 1
        }
        return fired
    }

    private func recordUnstarted(_ plan: TestPlan, reason: String) async throws {
        let now = clock.now()
        let execution = TestExecution(
            id: IDGenerator.uuidV7(at: now), planId: plan.id, orgId: plan.orgId, projectId: plan.projectId, workloadId: nil,
            triggerType: TestExecution.Trigger.scheduled.rawValue, triggeredBy: nil, resultState: .failed, exitCode: nil, totalCases: 0,
            passedCases: 0, failedCases: 0, skippedCases: 0, coveragePercent: nil, durationSeconds: nil,
            resultError: "the scheduled run could not start: \(reason)", createdMs: now.epochMilliseconds, completedMs: now.epochMilliseconds)
        try await database.transaction { sql in try await TestPlanStore.insert(execution, on: sql) }
    }

    /// The exit status and the report files the wrapped command printed to the log.
    private func readReports(of workloadId: UUID, into files: inout [String: Data], exitCode: inout Int?) async throws {
        var status: Int?
        // A report over 48 MiB is not read (docs/testing.md): the execution says it wrote none.
        let found = try await LogFiles.read(from: workloads.logs, of: workloadId, names: ["junit", "coverage"], maxBytes: 48 << 20) { chunk in
            for line in chunk.split(separator: 0x0A) where line.starts(with: Self.exitPrefix.utf8) {
                status = Int(String(decoding: line.dropFirst(Self.exitPrefix.utf8.count), as: UTF8.self))
            }
        }
        (files, exitCode) = (found.files, status)
    }
}
