import AITIPCore
import AsyncKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit
import Synchronization

/// The metadata database: a pool of SQLKit connections to SQLite or PostgreSQL.
///
/// Everything goes through `read` or `transaction`, so a request never holds a connection longer than its SQL.
/// SQLite write transactions begin IMMEDIATE: a deferred one that later tries to write can fail with SQLITE_BUSY
/// without ever waiting on the busy timeout.
package final class Database: Sendable {
    package let dialect: Dialect
    package let url: DatabaseURL
    private let lease: any ConnectionLease
    private let logger: Logger
    private let metrics: PoolMetrics
    /// Serializes write transactions on SQLite (nil on PostgreSQL, whose writers do not block the thread pool).
    private let writerGate: WriterGate?
    /// Runs SQLite's write transactions (nil on PostgreSQL, where they use pooled connections).
    private let writer: SQLiteWriter?

    package struct Options: Sendable {
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
        self.writerGate = url.dialect == .sqlite ? WriterGate() : nil
        let pooled = options.connectionsPerEventLoop * Array(eventLoopGroup.makeIterator()).count
        switch url {
        case .sqlite(let path):
            writer = SQLiteWriter(path: path, busyTimeoutMilliseconds: options.busyTimeoutMilliseconds, logger: logger)
            metrics = PoolMetrics(capacity: pooled + 1)
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let source = TunedSQLiteSource(
                base: SQLiteConnectionSource(configuration: .init(storage: .file(path: path), enableForeignKeys: true)),
                busyTimeoutMilliseconds: options.busyTimeoutMilliseconds
            )
            lease = PooledLease(
                pool: EventLoopGroupConnectionPool(
                    source: source, maxConnectionsPerEventLoop: options.connectionsPerEventLoop,
                    logger: logger, on: eventLoopGroup),
                makeSQL: { $0.sql(queryLogLevel: .trace) }
            )
        case .postgres(let text):
            writer = nil
            metrics = PoolMetrics(capacity: pooled)
            let configuration = try SQLPostgresConfiguration(url: text)
            lease = PooledLease(
                pool: EventLoopGroupConnectionPool(
                    source: PostgresConnectionSource(sqlConfiguration: configuration),
                    maxConnectionsPerEventLoop: options.connectionsPerEventLoop,
                    logger: logger, on: eventLoopGroup),
                makeSQL: { PostgresFastSQLDatabase(connection: $0, queryLogLevel: .trace) }
            )
        }
    }

    /// Runs `body` on one pooled connection without a transaction: for reads and single statements.
    package func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection { sql, _ in try await body(sql) }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    ///
    /// On SQLite the writer's own connection runs it (`SQLiteWriter`); on PostgreSQL a pooled connection does.
    package func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard let writerGate, let writer else { return try await runTransaction(body) }
        let waitStarted = ContinuousClock.now
        return try await writerGate.withPermit {
            metrics.acquired(after: ContinuousClock.now - waitStarted)
            defer { metrics.released() }
            return try await writer.transaction(body)
        }
    }

    /// The transaction ends even when the calling task is cancelled (a client that went away, a shutdown): COMMIT and
    /// ROLLBACK run in a task of their own, so a connection never goes back to the pool inside a transaction. A
    /// connection whose transaction cannot be ended is closed instead of reused.
    private func runTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection { sql, health in
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
        writer?.close()
        do { try await lease.shutdown() } catch {
            logger.warning("database pool shutdown failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    package var poolFigures: PoolMetrics.Figures { metrics.figures }

    private func withConnection<T: Sendable>(_ body: @Sendable (any SQLDatabase, ConnectionHealth) async throws -> T) async throws -> T {
        let waitStarted = ContinuousClock.now
        return try await lease.withSQL(logger: logger) { sql, health in
            metrics.acquired(after: ContinuousClock.now - waitStarted)
            defer { metrics.released() }
            return try await body(sql, health)
        }
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

/// SQLite connections tuned for a server: WAL so readers never block the writer, a bounded busy wait, and
/// NORMAL sync (durable at checkpoints; the WAL survives a process crash).
struct TunedSQLiteSource: ConnectionPoolSource {
    let base: SQLiteConnectionSource
    let busyTimeoutMilliseconds: Int

    func makeConnection(logger: Logger, on eventLoop: any EventLoop) -> EventLoopFuture<SQLiteConnection> {
        base.makeConnection(logger: logger, on: eventLoop).flatMap { connection in
            // The busy wait first: connections opened together (a pool filling up on an existing database) then wait
            // for each other's switch to WAL instead of failing.
            let pragmas = [
                "PRAGMA busy_timeout = \(busyTimeoutMilliseconds)", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                // LIKE is case-sensitive on PostgreSQL; search filters must mean the same on both (ILIKE exists for the other).
                "PRAGMA case_sensitive_like = ON",
            ]
            return pragmas.reduce(eventLoop.makeSucceededVoidFuture()) { chain, pragma in
                chain.flatMap { connection.query(pragma).map { _ in } }
            }.map { connection }.flatMapError { error in
                // A connection that could not be set up is closed, not dropped open.
                connection.close().flatMapThrowing { throw error }
            }
        }
    }
}
