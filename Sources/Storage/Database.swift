import AITIPCore
import AsyncKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import Synchronization

/// The metadata database: SQLite through its C API (`SQLiteConnections`) or a pool of PostgreSQL connections, both
/// seen through SQLKit.
///
/// Everything goes through `read` or `transaction`, so a request never holds a connection longer than its SQL.
/// SQLite write transactions begin IMMEDIATE: a deferred one that later tries to write can fail with SQLITE_BUSY
/// without ever waiting on the busy timeout.
package final class Database: Sendable {
    package let dialect: Dialect
    package let url: DatabaseURL
    private let backend: Backend
    private let logger: Logger
    private let metrics: PoolMetrics

    private enum Backend: Sendable {
        case sqlite(SQLiteConnections)
        case pooled(any ConnectionLease)
    }

    package struct Options: Sendable {
        /// PostgreSQL: connections per event loop. SQLite: reader connections are this many per event loop too.
        package var connectionsPerEventLoop: Int
        package var busyTimeoutMilliseconds: Int
        package init(connectionsPerEventLoop: Int? = nil, busyTimeoutMilliseconds: Int = 5_000) {
            self.connectionsPerEventLoop = connectionsPerEventLoop ?? 4
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        }
    }

    package init(
        url: DatabaseURL, options: Options = .init(), eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws {
        self.url = url
        self.dialect = url.dialect
        self.logger = logger
        let connections = options.connectionsPerEventLoop * Array(eventLoopGroup.makeIterator()).count
        switch url {
        case .sqlite(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let sqlite = SQLiteConnections(
                path: path, readers: connections, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds, logger: logger)
            backend = .sqlite(sqlite)
            metrics = PoolMetrics(capacity: sqlite.capacity)
        case .postgres(let text):
            let configuration = try SQLPostgresConfiguration(url: text)
            backend = .pooled(
                PooledLease(
                    pool: EventLoopGroupConnectionPool(
                        source: PostgresConnectionSource(sqlConfiguration: configuration),
                        maxConnectionsPerEventLoop: options.connectionsPerEventLoop,
                        logger: logger, on: eventLoopGroup),
                    makeSQL: { PostgresFastSQLDatabase(connection: $0, queryLogLevel: .trace) }
                ))
            metrics = PoolMetrics(capacity: connections)
        }
    }

    /// Runs `body` on one connection without a transaction: for reads and single statements.
    package func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let sqlite):
            let waitStarted = ContinuousClock.now
            return try await sqlite.read { sql in try await measured(since: waitStarted) { try await body(sql) } }
        case .pooled(let lease):
            return try await withConnection(lease) { sql, _ in try await body(sql) }
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    package func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let sqlite):
            let waitStarted = ContinuousClock.now
            return try await sqlite.transaction { sql in try await measured(since: waitStarted) { try await body(sql) } }
        case .pooled(let lease):
            return try await pooledTransaction(lease, body)
        }
    }

    /// The transaction ends even when the calling task is cancelled (a client that went away, a shutdown): COMMIT and
    /// ROLLBACK run in a task of their own, so a connection never goes back to the pool inside a transaction. A
    /// connection whose transaction cannot be ended is closed instead of reused.
    private func pooledTransaction<T: Sendable>(
        _ lease: any ConnectionLease, _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await withConnection(lease) { sql, health in
            try await sql.raw("BEGIN").run()
            let result: T
            do {
                result = try await body(sql)
            } catch {
                await rollBack(on: sql, health)
                throw error
            }
            do {
                try await Self.ignoringCancellation { try await sql.raw("COMMIT").run() }
            } catch {
                // PostgreSQL has ended the transaction after a failed COMMIT; the ROLLBACK makes sure of it.
                await rollBack(on: sql, health)
                throw error
            }
            return result
        }
    }

    private func rollBack(on sql: any SQLDatabase, _ health: ConnectionHealth) async {
        do { try await Self.ignoringCancellation { try await sql.raw("ROLLBACK").run() } } catch {
            logger.error("rollback failed; the connection is closed instead of reused", metadata: ["error": "\(String(reflecting: error))"])
            health.markBroken()
        }
    }

    /// Runs `work` in a fresh task, which does not inherit the caller's cancellation.
    private static func ignoringCancellation(_ work: @escaping @Sendable () async throws -> Void) async throws {
        try await Task { try await work() }.value
    }

    /// True when a trivial query succeeds: the readiness probe.
    package func ping() async -> Bool {
        do {
            return try await read { sql in try await sql.raw("SELECT 1 AS ok").first() != nil }
        } catch {
            logger.warning("database ping failed", metadata: ["error": "\(String(reflecting: error))"])
            return false
        }
    }

    package func shutdown() async {
        switch backend {
        case .sqlite(let sqlite): sqlite.close()
        case .pooled(let lease):
            do { try await lease.shutdown() } catch {
                logger.warning("database pool shutdown failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    package var poolFigures: PoolMetrics.Figures { metrics.figures }

    private func withConnection<T: Sendable>(
        _ lease: any ConnectionLease, _ body: @Sendable (any SQLDatabase, ConnectionHealth) async throws -> T
    ) async throws -> T {
        let waitStarted = ContinuousClock.now
        return try await lease.withSQL(logger: logger) { sql, health in
            try await measured(since: waitStarted) { try await body(sql, health) }
        }
    }

    /// Counts a connection in use while `work` runs, and how long the caller waited for it.
    private func measured<T>(since waitStarted: ContinuousClock.Instant, _ work: () async throws -> T) async throws -> T {
        metrics.acquired(after: ContinuousClock.now - waitStarted)
        defer { metrics.released() }
        return try await work()
    }
}

/// Whether a leased connection may go back to the pool: one left in an unknown state is closed instead.
final class ConnectionHealth: Sendable {
    private let broken = Mutex(false)
    func markBroken() { broken.withLock { $0 = true } }
    var isBroken: Bool { broken.withLock { $0 } }
}

/// Hides which pool type (SQLite or PostgreSQL connections) sits behind a `Database`.
protocol ConnectionLease: Sendable {
    func withSQL<T: Sendable>(logger: Logger, _ body: @Sendable (any SQLDatabase, ConnectionHealth) async throws -> T) async throws -> T
    func shutdown() async throws
}

/// `EventLoopGroupConnectionPool` guards its state with a lock but predates Sendable annotations.
struct PooledLease<Source: ConnectionPoolSource>: ConnectionLease, @unchecked Sendable {
    let pool: EventLoopGroupConnectionPool<Source>
    let makeSQL: @Sendable (Source.Connection) -> any SQLDatabase

    func withSQL<T: Sendable>(logger: Logger, _ body: @Sendable (any SQLDatabase, ConnectionHealth) async throws -> T) async throws -> T {
        let connection = try await pool.requestConnection(logger: logger).get()
        let health = ConnectionHealth()
        do {
            let result = try await body(makeSQL(connection), health)
            await giveBack(connection, health, logger: logger)
            return result
        } catch {
            await giveBack(connection, health, logger: logger)
            throw error
        }
    }

    /// A closed connection is dropped by the pool, which opens a new one when it is next needed.
    private func giveBack(_ connection: Source.Connection, _ health: ConnectionHealth, logger: Logger) async {
        if health.isBroken { try? await connection.close().get() }
        pool.releaseConnection(connection, logger: logger)
    }

    func shutdown() async throws {
        try await pool.shutdownAsync()
    }
}
