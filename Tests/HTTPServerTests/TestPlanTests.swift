import AITIPCore
import AITIPTestSupport
import App
import Foundation
import Testing

/// Test plans through the API: schedules on the server's clock, reports posted from outside (hostile XML
/// included), flaky cases, and executions run by the workload engine.
@Suite("Test plans")
struct TestPlanTests {
    static let alternating = """
        <testsuite name="s"><testcase classname="c" name="steady"/><testcase classname="c" name="broken"><failure message="no"/></testcase>
        <testcase classname="c" name="wobbly">%@</testcase></testsuite>
        """

    @Test(
        "a schedule fires on the server's clock, once for any number of missed runs; bad cron, bad XML and entity bombs are refused with nothing created; an alternating case is flaky",
        arguments: DatabaseKind.available)
    func schedulesAndReports(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            var token = try await app.adminToken()
            let project = try #require(try await app.call(.get, "/api/v1/projects", token: token).items.first?["id"] as? String)
            let service = app.parts.dependencies.testPlans
            let bad = try await app.call(
                .post, "/api/v1/test/plans", token: token,
                json: ["project_id": project, "name": "nightly", "config": ["command": "true"], "schedule": "61 * * * *"])
            #expect(bad.status == 422 && bad.text.contains("minute '61'"), "\(bad.text)")
            #expect(try await app.call(.get, "/api/v1/test/plans?project_id=\(project)", token: token).items.isEmpty)

            let created = try await app.call(
                .post, "/api/v1/test/plans", token: token,
                json: [
                    "project_id": project, "name": "nightly", "config": ["command": "true"], "schedule": "*/15 * * * *", "test_type": "regression",
                ])
            #expect(created.status == 201, "\(created.text)")
            let plan = try #require(created.string("id"))
            let firstRunText = try #require(created.string("next_run_at"))
            let firstRun = try Date(firstRunText, strategy: .iso8601)
            #expect(firstRun > app.clock.now() && firstRun.timeIntervalSince(app.clock.now()) <= 15 * 60)
            #expect(try await service.fireSchedules() == 0)
            app.clock.advance(by: firstRun.timeIntervalSince(app.clock.now()) + 1)
            #expect(try await service.fireSchedules() == 1)
            #expect(try await service.fireSchedules() == 0, "the run is claimed once")
            // Three hours down: the plan runs once, not twelve times, and keeps its schedule.
            app.clock.advance(by: 3 * 3_600)
            #expect(try await service.fireSchedules() == 1)
            token = try await app.adminToken() // the clock moved past the old token's lifetime
            let executions = try await app.call(.get, "/api/v1/test/executions?plan_id=\(plan)", token: token).items
            #expect(executions.count == 2 && executions.allSatisfy { $0["trigger_type"] as? String == "scheduled" }, "\(executions)")
            let after = try await app.call(.get, "/api/v1/test/plans/\(plan)", token: token)
            let nextText = try #require(after.string("next_run_at"))
            #expect(try Date(nextText, strategy: .iso8601) > app.clock.now())
            let cleared = try await app.call(.put, "/api/v1/test/plans/\(plan)", token: token, json: ["schedule": ""])
            #expect(cleared.status == 200 && cleared.string("schedule") == nil && cleared.string("next_run_at") == nil, "\(cleared.text)")

            // Reports from outside: refused before anything is stored when they are not JUnit, or hostile.
            let hostile: [(String, String)] = [
                ("<testsuites><testsuite>", "not closed"),
                (
                    "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><testsuite name=\"&b;\"/>",
                    "document type declaration"
                ),
                ("<html><body/></html>", "not <testsuites> or <testsuite>"),
                ("<testsuite><testcase classname=\"c\" name=\"x\"/></testsuite>", "coverage_xml"),
            ]
            for (index, (junit, words)) in hostile.enumerated() {
                var body: [String: Any] = ["junit_xml": junit]
                if index == 3 { body["coverage_xml"] = "<coverage><oops" }
                let reply = try await app.call(.post, "/api/v1/test/plans/\(plan)/results", token: token, json: body)
                #expect(reply.status == 422 && reply.text.contains(words), "\(junit): \(reply.text)")
            }
            let before = try await app.call(.get, "/api/v1/test/executions?plan_id=\(plan)", token: token).items.count
            #expect(before == 2)

            // wobbly passes, fails, passes; broken always fails.
            for wobble in ["", "<failure message=\"flaked\"/>", ""] {
                let reply = try await app.call(
                    .post, "/api/v1/test/plans/\(plan)/results", token: token,
                    json: ["junit_xml": String(format: Self.alternating, wobble), "coverage_xml": "<coverage line-rate=\"0.5\"/>"])
                #expect(reply.status == 201, "\(reply.text)")
                #expect(reply["total_cases"] as? Int == 3 && reply.string("trigger_type") == "webhook" && reply["coverage_percent"] as? Double == 50)
                #expect(reply.string("status") == "completed")
            }
            let history = try await app.call(.get, "/api/v1/test/plans/\(plan)/cases", token: token).items
            let flaky = Dictionary(
                uniqueKeysWithValues: history.compactMap { item in (item["name"] as? String).map { ($0, item["flaky"] as? Bool) } })
            #expect(flaky == ["steady": false, "broken": false, "wobbly": true], "\(history)")
            let onlyFlaky = try await app.call(.get, "/api/v1/test/plans/\(plan)/cases?flaky=true", token: token).items
            #expect(onlyFlaky.map { $0["name"] as? String } == ["wobbly"])
            let newest = try #require(history.first.flatMap { ($0["outcomes"] as? [[String: Any]])?.last?["execution_id"] as? String })
            let report = try await app.call(.get, "/api/v1/test/executions/\(newest)/report?format=html", token: token)
            #expect(
                report.status == 200 && report.text.contains("1 of 3 cases failed") && report.text.contains("default-src 'none'"),
                "\(report.text.prefix(300))")
        }
    }

    @Test(
        "an execution runs as a workload: its JUnit report is read back (cases, failures, exit status); a run that writes none has no results, and says why",
        arguments: DatabaseKind.available)
    func executions(_ kind: DatabaseKind) async throws {
        try await withEngine(kind) { app, token, project in
            let junit =
                "<testsuite name='s'><testcase classname='c' name='ok' time='0.25'/><testcase classname='c' name='bad'><failure message='nope'>1 != 2</failure></testcase></testsuite>"
            let plan = try await app.call(
                .post, "/api/v1/test/plans", token: token,
                json: ["project_id": project, "name": "unit", "config": ["command": "printf \"%s\" \"\(junit)\" > junit.xml; exit 1", "cpu": 0.1]])
            #expect(plan.status == 201, "\(plan.text)")
            let planId = try #require(plan.string("id"))
            let started = try await app.call(.post, "/api/v1/test/plans/\(planId)/execute", token: token)
            #expect(started.status == 201 && started.string("trigger_type") == "manual", "\(started.text)")
            let execution = try #require(started.string("id"))
            let service = app.parts.dependencies.testPlans
            try await eventually("the execution's report is read") {
                _ = try await service.collectPending()
                return try await app.call(.get, "/api/v1/test/executions/\(execution)", token: token).string("status") == "completed"
            }
            let done = try await app.call(.get, "/api/v1/test/executions/\(execution)", token: token)
            #expect(done["total_cases"] as? Int == 2 && done["failed_cases"] as? Int == 1 && done["exit_code"] as? Int == 1, "\(done.text)")
            #expect(done["passed"] as? Bool == false && done.string("workload_status") == "succeeded")
            let cases = try await app.call(.get, "/api/v1/test/executions/\(execution)/results", token: token).items
            #expect(cases.map { $0["status"] as? String } == ["passed", "failed"])
            #expect(cases.last?["message"] as? String == "nope\n1 != 2" && cases.first?["duration_ms"] as? Int == 250)

            let silent = try await app.call(
                .post, "/api/v1/test/plans", token: token, json: ["project_id": project, "name": "silent", "config": ["command": "echo hi"]])
            let silentId = try #require(silent.string("id"))
            let run = try #require(try await app.call(.post, "/api/v1/test/plans/\(silentId)/execute", token: token).string("id"))
            try await eventually("the silent run ends without results") {
                _ = try await service.collectPending()
                return try await app.call(.get, "/api/v1/test/executions/\(run)", token: token).string("status") == "failed"
            }
            let failed = try await app.call(.get, "/api/v1/test/executions/\(run)", token: token)
            #expect(failed.string("result_error")?.contains("without writing its JUnit report (exit status 0)") == true, "\(failed.text)")
            #expect(try await app.call(.delete, "/api/v1/test/plans/\(planId)", token: token).status == 204)
            #expect(try await app.call(.get, "/api/v1/test/executions/\(execution)", token: token).status == 404)
        }
    }
}
