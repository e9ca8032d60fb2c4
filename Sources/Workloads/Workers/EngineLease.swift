import AITIPCore
import Foundation
import SQLKit
import Storage
import Synchronization

/// Makes one server per database the one that runs the workload engine (scheduling, launching, reconciling).
///
/// Several servers may share a database (replicas behind a load balancer, a rolling upgrade): all of them serve the
/// API, but two engines would admit the same work twice, and a second one starting would adopt — and, not finding
/// their processes, fail — the first one's running jobs. The holder renews a row in `engine_leases`; the others wait
/// and take it over once it has expired (the holder died) or was released (the holder shut down).
public final class EngineLease: Sendable {
    static let name = "workload-engine"
    /// This engine's identity in the lease row: where it runs, for operators reading the table or the logs.
    public let holder: String
    let database: Database
    let clock: any Clock
    let seconds: Double
    private let lastRenewal = Mutex<Date>(.distantPast)

    public init(database: Database, clock: any Clock, seconds: Double) {
        self.database = database
        self.clock = clock
        self.seconds = seconds
        holder = "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().lowercasedString.prefix(8))"
    }

    /// Takes the lease, or extends it when this engine holds it; false while another holder's lease is current.
    public func acquire() async throws -> Bool {
        let now = clock.now()
        let held = try await database.transaction { sql in
            try await sql.raw("""
                INSERT INTO engine_leases (name, holder, expires_ms) VALUES (\(bind: Self.name), \(bind: self.holder), \(bind: now.addingTimeInterval(self.seconds).epochMilliseconds))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                WHERE engine_leases.holder = excluded.holder OR engine_leases.expires_ms < \(bind: now.epochMilliseconds)
                RETURNING holder
                """).first() != nil
        }
        if held { lastRenewal.withLock { $0 = now } }
        return held
    }

    /// Extends the lease when a third of it has passed; false when another engine has taken it meanwhile.
    func renewIfDue() async throws -> Bool {
        let due = lastRenewal.withLock { clock.now().timeIntervalSince($0) >= seconds / 3 }
        return due ? try await acquire() : true
    }

    /// The current holder, if its lease has not expired.
    public func currentHolder() async throws -> String? {
        let now = clock.now().epochMilliseconds
        return try await database.read { sql in
            try await sql.select().columns("holder", "expires_ms").from("engine_leases").where("name", .equal, Self.name).first()
                .flatMap { row in try row.decode(column: "expires_ms", as: Int64.self) >= now ? try row.decode(column: "holder", as: String.self) : nil }
        }
    }

    /// Gives the lease up (graceful shutdown), so a waiting server takes over at once instead of after it expires.
    func release() async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "engine_leases").where("name", .equal, Self.name).where("holder", .equal, self.holder).run()
        }
        lastRenewal.withLock { $0 = .distantPast }
    }
}
