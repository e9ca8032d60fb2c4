import AITIPCore
import Datasets
import Events
import Foundation
import HTTPServer
import Logging
import ServiceLifecycle
import Storage
import Tracking

/// Periodic upkeep, off the request path, on one server per database (the holder of the `maintenance` lease): drops
/// `Idempotency-Key` answers past their 24 hours, dataset and multipart artifact uploads nobody finished, and webhook
/// deliveries finished more than 7 days ago. A new sweep is one more entry in `tasks`.
struct MaintenanceService: Service {
    struct Task: Sendable {
        var name: String
        var work: @Sendable () async throws -> Void
    }

    let lease: LeaderLease
    let interval: Duration
    let tasks: [Task]
    let logger: Logger

    init(
        database: Database, clock: any AITIPCore.Clock, datasets: DatasetService, artifacts: ArtifactService, interval: Duration = .seconds(60),
        logger: Logger
    ) {
        lease = LeaderLease(name: "maintenance", database: database, clock: clock, seconds: 180)
        self.interval = interval
        self.logger = logger
        tasks = [
            Task(name: "expired idempotency keys") { try await IdempotencyKeys.dropExpired(database: database, now: clock.now()) },
            Task(name: "expired dataset uploads") { try await datasets.discardExpiredUploads() },
            Task(name: "expired artifact uploads") { try await artifacts.discardExpiredUploads() },
            Task(name: "finished webhook deliveries") { try await WebhookDeliverer.dropFinished(olderThan: 7, database: database, now: clock.now()) },
        ]
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !_Concurrency.Task.isCancelled {
                await runOnce()
                try? await _Concurrency.Task.sleep(for: interval)
            }
        }
        let lease = self.lease
        try? await _Concurrency.Task { try await lease.release() }.value
    }

    /// Every task, when this server holds the lease; a failing task is logged and retried next time.
    func runOnce() async {
        do {
            guard try await lease.acquire() else { return }
        } catch {
            logger.warning("maintenance: could not take its lease", metadata: ["error": "\(error)"])
            return
        }
        for task in tasks {
            do { try await task.work() } catch {
                logger.warning("maintenance: \(task.name) failed; retried in the next round", metadata: ["error": "\(error)"])
            }
        }
    }
}
