import AITIPCore
import Foundation
import SQLKit
import Storage

/// The SQL on `test_plans`, `test_executions` and `test_case_results`.
enum TestPlanStore {
    static func insert(_ plan: TestPlan, on sql: any SQLDatabase) async throws {
        try await sql.insert(plan, into: "test_plans")
    }

    static func plan(_ id: UUID, on sql: any SQLDatabase) async throws -> TestPlan? {
        try await sql.select().column("*").from("test_plans").where("id", .equal, id).first(decoding: TestPlan.self)
    }

    /// The secret of the plan's webhook; nil when it has none (or there is no such plan).
    static func webhookSecret(of id: UUID, on sql: any SQLDatabase) async throws -> String? {
        try await sql.select().column("webhook_secret").from("test_plans").where("id", .equal, id).first()?
            .decode(column: "webhook_secret", as: String?.self)
    }

    static func setWebhookSecret(_ secret: String?, of id: UUID, atMs now: Int64, on sql: any SQLDatabase) async throws {
        try await sql.update("test_plans").set("webhook_secret", to: secret).set("updated_ms", to: now).where("id", .equal, id).run()
    }

    /// The plan's webhook-triggered execution that has not ended, if any (deliveries coalesce into it).
    static func pendingWebhookExecution(of plan: UUID, on sql: any SQLDatabase) async throws -> TestExecution? {
        try await sql.select().column("*").from("test_executions").where("plan_id", .equal, plan)
            .where("trigger_type", .equal, TestExecution.Trigger.webhook.rawValue).where("workload_id", .isNot, SQLLiteral.null)
            .where("result_state", .equal, TestExecution.ResultState.pending.rawValue).orderBy("created_ms", .descending)
            .first(decoding: TestExecution.self)
    }

    static func plan(named name: String, project: UUID, on sql: any SQLDatabase) async throws -> TestPlan? {
        try await sql.select().column("*").from("test_plans").where("project_id", .equal, project).where("name", .equal, name)
            .first(decoding: TestPlan.self)
    }

    static func plans(project: UUID, after: UUID?, limit: Int, on sql: any SQLDatabase) async throws -> [TestPlan] {
        let select = sql.select().column("*").from("test_plans").where("project_id", .equal, project)
        if let after { select.where("id", .lessThan, after) }
        return try await select.orderBy("id", .descending).limit(limit).all(decoding: TestPlan.self)
    }

    static func update(_ plan: TestPlan, on sql: any SQLDatabase) async throws {
        try await sql.update("test_plans").set(model: plan).where("id", .equal, plan.id).run()
    }

    static func delete(_ id: UUID, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "test_plans").where("id", .equal, id).run()
    }

    /// Plans whose schedule is due at `nowMs`.
    static func due(nowMs: Int64, on sql: any SQLDatabase) async throws -> [TestPlan] {
        try await sql.select().column("*").from("test_plans").where("next_run_ms", .lessThanOrEqual, nowMs).limit(100)
            .all(decoding: TestPlan.self)
    }

    /// Moves a plan's next run from `from` to `to`; false when another server moved it first.
    static func advance(_ id: UUID, from: Int64, to: Int64?, on sql: any SQLDatabase) async throws -> Bool {
        try await !sql.update("test_plans").set("next_run_ms", to: to).where("id", .equal, id).where("next_run_ms", .equal, from)
            .returning("id").all().isEmpty
    }

    // MARK: executions

    static func insert(_ execution: TestExecution, on sql: any SQLDatabase) async throws {
        try await sql.insert(execution, into: "test_executions")
    }

    static func execution(_ id: UUID, on sql: any SQLDatabase) async throws -> TestExecution? {
        try await sql.select().column("*").from("test_executions").where("id", .equal, id).first(decoding: TestExecution.self)
    }

    static func executions(plans: [UUID], after: (Int64, UUID)?, limit: Int, on sql: any SQLDatabase) async throws -> [TestExecution] {
        guard !plans.isEmpty else { return [] }
        let select = sql.select().column("*").from("test_executions").where("plan_id", .in, plans)
        if let (ms, id) = after {
            select.where { $0.where("created_ms", .lessThan, ms).orWhere { $0.where("created_ms", .equal, ms).where("id", .lessThan, id) } }
        }
        return try await select.orderBy("created_ms", .descending).orderBy("id", .descending).limit(limit).all(decoding: TestExecution.self)
    }

    static func pending(limit: Int, on sql: any SQLDatabase) async throws -> [TestExecution] {
        try await sql.select().column("*").from("test_executions").where("result_state", .equal, TestExecution.ResultState.pending.rawValue)
            .orderBy("created_ms").limit(limit).all(decoding: TestExecution.self)
    }

    /// Records an execution's outcome once: false when another server recorded it first.
    static func complete(_ execution: TestExecution, cases: [CaseResult], on sql: any SQLDatabase) async throws -> Bool {
        let updated = try await sql.update("test_executions")
            .set("result_state", to: execution.resultState.rawValue).set("exit_code", to: execution.exitCode)
            .set("total_cases", to: execution.totalCases).set("passed_cases", to: execution.passedCases)
            .set("failed_cases", to: execution.failedCases).set("skipped_cases", to: execution.skippedCases)
            .set("coverage_percent", to: execution.coveragePercent).set("duration_seconds", to: execution.durationSeconds)
            .set("result_error", to: execution.resultError).set("completed_ms", to: execution.completedMs)
            .where("id", .equal, execution.id).where("result_state", .equal, TestExecution.ResultState.pending.rawValue)
            .returning("id").all()
        guard !updated.isEmpty else { return false }
        try await insertCases(cases, of: execution, on: sql)
        return true
    }

    static func insertCases(_ cases: [CaseResult], of execution: TestExecution, on sql: any SQLDatabase) async throws {
        for (chunkIndex, chunk) in cases.chunked(500).enumerated() {
            let insert = sql.insert(into: "test_case_results")
                .columns("execution_id", "plan_id", "position", "suite", "classname", "name", "status", "duration_ms", "message", "created_ms")
            for (offset, item) in chunk.enumerated() {
                insert.values(
                    SQLBind(execution.id), SQLBind(execution.planId), SQLBind(chunkIndex * 500 + offset), SQLBind(item.suite),
                    SQLBind(item.classname), SQLBind(item.name), SQLBind(item.status.rawValue), SQLBind(item.durationMs), SQLBind(item.message),
                    SQLBind(execution.createdMs))
            }
            try await insert.run()
        }
    }

    static func cases(of execution: UUID, on sql: any SQLDatabase) async throws -> [CaseResult] {
        try await sql.select().columns("suite", "classname", "name", "status", "duration_ms", "message").from("test_case_results")
            .where("execution_id", .equal, execution).orderBy("position").all(decoding: CaseResult.self)
    }

    /// Every case of the plan's newest `executions` executions, oldest first, with the execution it belongs to.
    static func history(plan: UUID, executions: Int, on sql: any SQLDatabase) async throws -> [(
        execution: UUID, createdMs: Int64, result: CaseResult
    )] {
        let recent = try await sql.select().columns("id", "created_ms").from("test_executions").where("plan_id", .equal, plan)
            .where("result_state", .equal, TestExecution.ResultState.ready.rawValue).orderBy("created_ms", .descending).orderBy("id", .descending)
            .limit(executions).all()
        let ids = try recent.map { try $0.decode(column: "id", as: UUID.self) }
        guard !ids.isEmpty else { return [] }
        let rows = try await sql.select().columns("execution_id", "created_ms", "suite", "classname", "name", "status", "duration_ms", "message")
            .from("test_case_results").where("execution_id", .in, ids).orderBy("created_ms").orderBy("execution_id").orderBy("position").all()
        return try rows.map {
            (
                try $0.decode(column: "execution_id", as: UUID.self), try $0.decode(column: "created_ms", as: Int64.self),
                try $0.decode(model: CaseResult.self)
            )
        }
    }
}
