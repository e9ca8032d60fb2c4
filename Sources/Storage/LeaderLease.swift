import AITIPCore
import Foundation
import SQLKit
import Synchronization

/// Makes one server per database the one that does some work: the workload engine (scheduling, launching,
/// reconciling), periodic maintenance, and the reconcilers later services add.
///
/// Several servers may share a database (replicas behind a load balancer, a rolling upgrade): all of them serve the
/// API, but two engines would admit the same work twice, and a second one starting would adopt — and, not finding
/// their processes, fail — the first one's running jobs. The holder renews its row in `leader_leases` (one row per
/// lease name); the others wait and take it over once it has expired (the holder died) or was released (the holder
/// shut down).
package final class LeaderLease: Sendable {
    /// What the lease is for (`workload-engine`, `maintenance`): one holder per name.
    package let name: String
    /// This server's identity in the lease row: where it runs, for operators reading the table or the logs.
    package let holder: String
    let database: Database
    let clock: any Clock
    let seconds: Double
    private let lastRenewal = Mutex<Date>(.distantPast)

    package init(name: String, database: Database, clock: any Clock, seconds: Double) {
        self.name = name
        self.database = database
        self.clock = clock
        self.seconds = seconds
        holder = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().lowercasedString.prefix(8))"
    }

    /// Takes the lease, or extends it when this server holds it; false while another holder's lease is current.
    package func acquire() async throws -> Bool {
        let now = clock.now()
        let held = try await database.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO leader_leases (name, holder, expires_ms) VALUES (\(bind: self.name), \(bind: self.holder), \(bind: now.addingTimeInterval(self.seconds).epochMilliseconds))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                WHERE leader_leases.holder = excluded.holder OR leader_leases.expires_ms < \(bind: now.epochMilliseconds)
                RETURNING holder
                """
            ).first() != nil
        }
        if held { lastRenewal.withLock { $0 = now } }
        return held
    }

    /// Extends the lease when a third of it has passed; false when another server has taken it meanwhile.
    package func renewIfDue() async throws -> Bool {
        let due = lastRenewal.withLock { clock.now().timeIntervalSince($0) >= seconds / 3 }
        return due ? try await acquire() : true
    }

    /// The current holder, if its lease has not expired.
    package func currentHolder() async throws -> String? {
        let now = clock.now().epochMilliseconds
        return try await database.read { sql in
            try await sql.select().columns("holder", "expires_ms").from("leader_leases").where("name", .equal, name).first()
                .flatMap { row in
                    try row.decode(column: "expires_ms", as: Int64.self) >= now ? try row.decode(column: "holder", as: String.self) : nil
                }
        }
    }

    /// Gives the lease up (graceful shutdown), so a waiting server takes over at once instead of after it expires.
    package func release() async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "leader_leases").where("name", .equal, name).where("holder", .equal, self.holder).run()
        }
        lastRenewal.withLock { $0 = .distantPast }
    }
}
