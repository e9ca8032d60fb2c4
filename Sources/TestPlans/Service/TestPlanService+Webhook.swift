import AITIPCore
import Crypto
import Foundation
import Identity
import Workloads

/// A plan's webhook: a URL that a forge (GitHub, Gitea, GitLab) or any CI calls without an aitip credential, to run
/// the plan. A delivery is trusted only when it is signed with the plan's secret: GitHub's and Gitea's
/// `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`, or GitLab's `X-Gitlab-Token: <secret>`. Whatever the
/// delivery says, the plan runs its own command as its owner: the body chooses nothing.
extension TestPlanService {
    package struct Webhook: Sendable {
        package var path: String
        /// Shown once, when it is made.
        package var secret: String
    }

    /// Gives the plan a webhook with a new secret; the old secret, if any, stops working at once.
    package func rotateWebhook(_ planId: UUID, caller: Caller) async throws -> Webhook {
        let plan = try await authorized(planId, Self.write, caller: caller)
        let secret = SecretToken.random()
        try await database.transaction { sql in
            try await TestPlanStore.setWebhookSecret(secret, of: plan.id, atMs: clock.now().epochMilliseconds, on: sql)
            try await audit.record(
                on: sql, caller, orgId: plan.orgId, action: "test.plan.webhook.rotate", targetType: "test_plan", targetId: plan.id.lowercasedString)
        }
        return Webhook(path: Self.webhookPath(plan.id), secret: secret)
    }

    /// Turns the plan's webhook off: deliveries are refused from now on.
    package func removeWebhook(_ planId: UUID, caller: Caller) async throws {
        let plan = try await authorized(planId, Self.write, caller: caller)
        try await database.transaction { sql in
            try await TestPlanStore.setWebhookSecret(nil, of: plan.id, atMs: clock.now().epochMilliseconds, on: sql)
            try await audit.record(
                on: sql, caller, orgId: plan.orgId, action: "test.plan.webhook.remove", targetType: "test_plan", targetId: plan.id.lowercasedString)
        }
    }

    static func webhookPath(_ planId: UUID) -> String { "/api/v1/test/plans/\(planId.lowercasedString)/trigger" }

    /// What a delivery carries that proves it: the signature headers' values, as sent.
    package struct Delivery: Sendable {
        package var body: Data
        package var hubSignature: String?
        package var gitlabToken: String?

        package init(body: Data, hubSignature: String?, gitlabToken: String?) {
            self.body = body
            self.hubSignature = hubSignature
            self.gitlabToken = gitlabToken
        }
    }

    /// Runs the plan for a signed delivery. While an execution a delivery started has not ended, further deliveries
    /// answer that one (`started` false) instead of queueing more: a burst of pushes, or a replayed delivery, runs the
    /// plan once (two arriving at the same instant may both start one). Every refusal is the same 401, whether the plan
    /// exists, has no webhook, the signature is wrong or the plan's owner has left its organization. Refusals are not
    /// throttled by address: the secret is 256 random bits, and an address budget would let anyone who points a
    /// webhook of their own at the plan spend the budget of a forge's shared delivery addresses.
    package func trigger(
        _ planId: UUID, _ delivery: Delivery, caller: Caller
    ) async throws -> (execution: TestExecution, workload: WorkloadService.Summary?, started: Bool) {
        let (plan, secret) = try await database.read { sql in
            (try await TestPlanStore.plan(planId, on: sql), try await TestPlanStore.webhookSecret(of: planId, on: sql))
        }
        // The plan runs on behalf of its owner: once they have left the organization, its webhook runs nothing.
        guard let plan, let secret, Self.verify(delivery, secret: secret), let owner = plan.ownerId,
            try await Directory(database: database).isMember(user: owner, of: plan.orgId)
        else {
            throw AppError(
                .unauthorized,
                "The delivery is not signed with this plan's webhook secret: send X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body> or X-Gitlab-Token"
            )
        }
        if let running = try await database.read({ sql in try await TestPlanStore.pendingWebhookExecution(of: plan.id, on: sql) }) {
            return (running, try await workloads.summaries(running.workloadId.map { [$0] } ?? []).first, false)
        }
        // Audited as the workload's submission, with no actor and the delivery's address.
        let execution = try await start(plan, trigger: .webhook, by: nil, caller: caller)
        return (execution, try await workloads.summaries([execution.id]).first, true)
    }

    /// Constant-time checks: a wrong signature takes as long to refuse whatever its first differing byte.
    static func verify(_ delivery: Delivery, secret: String) -> Bool {
        let key = SymmetricKey(data: Data(secret.utf8))
        if let header = delivery.hubSignature {
            guard header.hasPrefix("sha256="), let mac = Data(hexString: String(header.dropFirst("sha256=".count))) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: delivery.body, using: key)
        }
        if let token = delivery.gitlabToken {
            // Digests compare in constant time (swift-crypto), and have the same length whatever was sent.
            return SHA256.hash(data: Data(token.utf8)) == SHA256.hash(data: Data(secret.utf8))
        }
        return false
    }
}

extension Data {
    /// Bytes from lowercase or uppercase hex; nil for anything else (odd length, other characters).
    fileprivate init?(hexString text: String) {
        guard text.count % 2 == 0, text.count <= 256 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
