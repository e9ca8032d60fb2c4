import Logging
import Storage

/// A worker's loop on the server that holds the workload engine's lease: one `pass` every `interval` and whenever
/// `wakeup` rings, skipped while another server leads; a failed pass is logged and the next one tries again.
/// Runs until cancelled (graceful shutdown).
package func runWhileLeading(
    _ lease: LeaderLease, wakeup: Wakeup, every interval: Duration, logger: Logger, failure: String, pass: @Sendable () async throws -> Void
) async {
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
