import Foundation
import Logging
import Storage
import Workloads

/// Scores evaluation jobs whose workloads have ended: every `interval`, and when woken. It runs on the server that
/// holds the workload engine's lease (the live logs are there); recording a result is a compare-and-set, so two
/// servers never record one twice.
package struct EvaluationScorer: Sendable {
    let service: EvaluationService
    let lease: LeaderLease
    let interval: Duration
    let logger: Logger

    package init(service: EvaluationService, engineLease: LeaderLease, interval: Duration = .seconds(1), logger: Logger) {
        self.service = service
        lease = engineLease
        self.interval = interval
        self.logger = logger
    }

    /// Runs until cancelled.
    package func run() async {
        let service = self.service
        await runWhileLeading(lease, wakeup: service.wakeup, every: interval, logger: logger, failure: "evaluation scoring failed") {
            _ = try await service.scorePending()
        }
    }
}
