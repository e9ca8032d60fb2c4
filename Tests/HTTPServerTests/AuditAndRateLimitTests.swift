import AITIPTestSupport
import Foundation
import HTTPTypes
import Testing

@Suite("Audit trail")
struct AuditTests {
    @Test("every mutation leaves exactly one audit entry, successful or not", arguments: DatabaseKind.available)
    func everyMutationIsAudited(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let owner = try await app.adminToken()
            let org = try await app.homeOrg(owner)
            let before = try await app.auditEntries(org: org, token: owner).count

            // Each mutation with the action its audit entry must carry, and the outcome.
            var expected: [(action: String, outcome: String)] = []
            func mutate(
                _ method: HTTPRequest.Method, _ path: String, json: Any? = nil, token: String? = nil,
                action: String, outcome: String = "success"
            ) async throws -> Reply {
                let reply = try await app.call(method, path, token: token ?? owner, json: json)
                expected.append((action, outcome))
                return reply
            }
            let project = try #require(try await mutate(.post, "/api/v1/projects", json: ["name": "Audited"], action: "project.create").string("id"))
            _ = try await mutate(.put, "/api/v1/projects/\(project)", json: ["description": "x"], action: "project.update")
            _ = try await mutate(.post, "/api/v1/projects", json: ["name": ""], action: "projects.post", outcome: "failure")
            let member = try #require(
                try await mutate(
                    .post, "/api/v1/orgs/\(org)/members",
                    json: [
                        "username": "carol", "email": "carol@example.test", "password": "password-carol", "role": "viewer",
                    ], action: "member.add"
                ).string("user_id"))
            _ = try await mutate(.put, "/api/v1/orgs/\(org)/members/\(member)", json: ["role": "member"], action: "member.update")
            let carol = try await app.login("carol", "password-carol").access
            expected.append(("auth.login", "success"))
            _ = try await mutate(.delete, "/api/v1/projects/\(project)", token: carol, action: "projects.delete", outcome: "denied")
            _ = try await mutate(.put, "/api/v1/orgs/\(org)", json: ["plan": "pro"], action: "org.update")
            let key = try #require(try await mutate(.post, "/api/v1/auth/api-keys", json: ["name": "k"], action: "api_key.create").string("id"))
            _ = try await mutate(.delete, "/api/v1/auth/api-keys/\(key)", action: "api_key.revoke")
            _ = try await mutate(.delete, "/api/v1/orgs/\(org)/members/\(member)", action: "member.remove")
            _ = try await mutate(.delete, "/api/v1/projects/\(project)", action: "project.delete")

            let entries = try await app.auditEntries(org: org, token: owner)
            let new = Array(entries.prefix(entries.count - before).reversed())
            #expect(new.map { $0["action"] as? String ?? "" } == expected.map(\.action))
            #expect(new.map { $0["outcome"] as? String ?? "" } == expected.map(\.outcome))
            for entry in new {
                #expect(entry["request_id"] as? String != nil && entry["created_at"] != nil)
                #expect(entry["actor_id"] != nil, "\(entry)")
            }
            let denied = try #require(new.first { $0["outcome"] as? String == "denied" })
            #expect(denied["status_code"] as? Int == 403)
            #expect(denied["target_id"] as? String == project)
        }
    }

    @Test("filters and paging", arguments: DatabaseKind.available)
    func filtersAndPaging(kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let owner = try await app.adminToken()
            let org = try await app.homeOrg(owner)
            for index in 0..<7 { try await app.call(.post, "/api/v1/projects", token: owner, json: ["name": "P\(index)"]) }
            let created = try await app.auditEntries(org: org, token: owner, query: "&action=project.create")
            #expect(created.count == 7)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let reply = try await app.call(
                    .get, "/api/v1/audit?org_id=\(org)&action=project.create&limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""),
                    token: owner)
                seen += reply.items.compactMap { $0["id"] as? String }
                cursor = reply.string("next_cursor")
            } while cursor != nil
            #expect(seen == created.compactMap { $0["id"] as? String })
            #expect(try await app.auditEntries(org: org, token: owner, query: "&outcome=denied").isEmpty)
            let future = ISO8601DateFormatter().string(from: app.clock.now().addingTimeInterval(60))
            #expect(try await app.auditEntries(org: org, token: owner, query: "&since=\(future)").isEmpty)
        }
    }
}

@Suite("Rate limiting")
struct RateLimitTests {
    @Test("a principal over its budget gets 429 with Retry-After; others are unaffected")
    func perPrincipal() async throws {
        try await withApp(.sqlite, settings: ["rate_limit": "0.05", "rate_limit_burst": "3"]) { app in
            let owner = try await app.adminToken()
            var statuses: [Int] = []
            for _ in 0..<5 { statuses.append(try await app.call(.get, "/api/v1/projects", token: owner).status) }
            #expect(statuses.prefix(3).allSatisfy { $0 == 200 })
            let limited = try await app.call(.get, "/api/v1/projects", token: owner)
            #expect(limited.status == 429)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            let tenant = try await app.newTenant()
            #expect(try await app.call(.get, "/api/v1/projects", token: tenant.token).status == 200)
        }
    }

    @Test("at the default budgets a training loop is never throttled; other routes keep their per-second budget")
    func trackingIsSparedTheRateBudget() async throws {
        try await withApp(.sqlite, settings: ["rate_limit": "100", "rate_limit_burst": "200"]) { app in
            let owner = try await app.adminToken()
            let key = try #require(try await app.call(.post, "/api/v1/auth/api-keys", token: owner, json: ["name": "loop"]).string("key"))
            let experiment = try #require(
                try await app.call(.post, "/api/2.0/mlflow/experiments/create", token: key, json: ["name": "loop"]).string("experiment_id"))
            let run = try await app.call(.post, "/api/2.0/mlflow/runs/create", token: key, json: ["experiment_id": experiment])
            let runId = try #require((run["run"] as? [String: Any]).flatMap { ($0["info"] as? [String: Any])?["run_id"] as? String })
            // 1,000 calls as fast as one loop sends them: five times the burst, far past 100 a second.
            var throttled = 0
            for step in 0..<1_000 {
                let reply = try await app.call(
                    .post, "/api/2.0/mlflow/runs/log-metric", token: key,
                    json: ["run_id": runId, "key": "loss", "value": 1.0 / Double(step + 1), "timestamp": 1, "step": step])
                if reply.status == 429 { throttled += 1 } else { #expect(reply.status == 200, "\(reply.text)") }
            }
            #expect(throttled == 0)
            let history = try await app.call(.get, "/api/2.0/mlflow/metrics/get-history?run_id=\(runId)&metric_key=loss&max_results=5000", token: key)
            #expect((history["metrics"] as? [Any])?.count == 1_000)
            // The same pace on an ordinary route meets the budget: the burst passes, and past it no more calls than the
            // bucket refilled while they ran (however slow the machine, so the bound is the bucket's, not a timing guess).
            var statuses: [Int] = []
            let started = ContinuousClock.now
            for _ in 0..<1_000 { statuses.append(try await app.call(.get, "/api/v1/projects", token: key).status) }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let allowed = statuses.filter { $0 == 200 }.count
            #expect(statuses.prefix(200).allSatisfy { $0 == 200 })
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 429 })
            #expect(Double(allowed) <= 200 + 100 * seconds + 1, "\(allowed) calls allowed in \(seconds) s")
        }
    }

    @Test("sign-in attempts are limited per client address")
    func perAddressOnLogin() async throws {
        try await withApp(.sqlite, settings: ["login_rate_limit": "4"]) { app in
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(try await app.call(.post, "/api/v1/auth/login", json: ["username": "admin", "password": "guess-guess"]).status)
            }
            #expect(statuses.allSatisfy { $0 == 401 }, "\(statuses)")
            let limited = try await app.call(.post, "/api/v1/auth/login", json: ["username": "admin", "password": TestApp.adminPassword])
            #expect(limited.status == 429)
            #expect(limited.headers[.retryAfter] != nil)
        }
    }

    @Test("refreshes spend the address's sign-in budget only when they fail (a browser refreshes on every page load)")
    func refreshSpendsOnFailure() async throws {
        try await withApp(.sqlite, settings: ["login_rate_limit": "3"]) { app in
            var refresh = try await app.login("admin", TestApp.adminPassword).refresh
            for _ in 0..<6 {
                let rotated = try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": refresh])
                #expect(rotated.status == 200)
                refresh = rotated.string("refresh_token") ?? ""
            }
            #expect(
                try await app.call(
                    .post, "/api/v1/auth/refresh", json: ["refresh_token": "01a2491f-be01-73ac-9951-a752ae56b0be.not-a-secret-of-this-server"]
                ).status == 401)
            #expect(
                try await app.call(
                    .post, "/api/v1/auth/refresh", json: ["refresh_token": "01a2491f-be01-73ac-9951-a752ae56b0be.not-a-secret-of-this-server"]
                ).status == 401)
            #expect(
                try await app.call(.post, "/api/v1/auth/refresh", json: ["refresh_token": refresh]).status == 429, "the budget is spent by failures")
        }
    }
}
