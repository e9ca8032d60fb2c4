import Logging
import Storage

/// A worker that runs on the server holding the workload engine's lease: one `pass` every `interval` and whenever
/// `wakeup` rings, skipped while another server leads; a failed pass is logged and the next one tries again.
/// Modules give their pass (the inference reconciler's cycle, scoring ended evaluations, firing test schedules); App
/// runs it as a service until shutdown.
package struct LeaderWorker: Sendable {
    let lease: LeaderLease
    let wakeup: Wakeup
    let interval: Duration
    let logger: Logger
    /// How a failed pass is logged ("evaluation scoring failed").
    let failure: String
    let pass: @Sendable () async throws -> Void

    package init(
        lease: LeaderLease, wakeup: Wakeup, every interval: Duration = .seconds(1), logger: Logger, failure: String,
        pass: @escaping @Sendable () async throws -> Void
    ) {
        self.lease = lease
        self.wakeup = wakeup
        self.interval = interval
        self.logger = logger
        self.failure = failure
        self.pass = pass
    }

    /// Runs until cancelled (graceful shutdown).
    package func run() async {
        let (wakeup, interval) = (self.wakeup, self.interval)
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    wakeup.signal()
                }
            }
            for await _ in wakeup.stream {
                if Task.isCancelled { break }
                do {
                    guard try await lease.currentHolder() == lease.holder else { continue }
                    try await pass()
                } catch {
                    logger.error("\(failure)", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            group.cancelAll()
        }
    }
}
