import AITIPCore
import AsyncKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

/// The metadata database: a pool of SQLKit connections to SQLite or PostgreSQL.
///
/// Everything goes through `read` or `transaction`, so a request never holds a connection longer than its SQL.
/// SQLite write transactions begin IMMEDIATE: a deferred one that later tries to write can fail with SQLITE_BUSY
/// without ever waiting on the busy timeout.
public final class Database: Sendable {
    public let dialect: Dialect
    public let url: DatabaseURL
    private let lease: any ConnectionLease
    private let logger: Logger
    private let metrics: PoolMetrics
    /// Serializes write transactions on SQLite (nil on PostgreSQL, whose writers do not block the thread pool).
    private let writerGate: WriterGate?

    public struct Options: Sendable {
        public var connectionsPerEventLoop: Int
        public var busyTimeoutMilliseconds: Int
        public init(connectionsPerEventLoop: Int? = nil, busyTimeoutMilliseconds: Int = 5_000) {
            self.connectionsPerEventLoop = connectionsPerEventLoop ?? 4
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        }
    }

    public init(url: DatabaseURL, options: Options = .init(), eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger) throws {
        self.url = url
        self.dialect = url.dialect
        self.logger = logger
        self.writerGate = url.dialect == .sqlite ? WriterGate() : nil
        self.metrics = PoolMetrics(capacity: options.connectionsPerEventLoop * Array(eventLoopGroup.makeIterator()).count)
        switch url {
        case .sqlite(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let source = TunedSQLiteSource(
                base: SQLiteConnectionSource(configuration: .init(storage: .file(path: path), enableForeignKeys: true)),
                busyTimeoutMilliseconds: options.busyTimeoutMilliseconds
            )
            lease = PooledLease(
                pool: EventLoopGroupConnectionPool(source: source, maxConnectionsPerEventLoop: options.connectionsPerEventLoop,
                                                   logger: logger, on: eventLoopGroup),
                makeSQL: { $0.sql(queryLogLevel: .trace) }
            )
        case .postgres(let text):
            let configuration = try SQLPostgresConfiguration(url: text)
            lease = PooledLease(
                pool: EventLoopGroupConnectionPool(source: PostgresConnectionSource(sqlConfiguration: configuration),
                                                   maxConnectionsPerEventLoop: options.connectionsPerEventLoop,
                                                   logger: logger, on: eventLoopGroup),
                makeSQL: { PostgresFastSQLDatabase(connection: $0, queryLogLevel: .trace) }
            )
        }
    }

    /// Runs `body` on one pooled connection without a transaction: for reads and single statements.
    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection(body)
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard let writerGate else { return try await runTransaction(body) }
        return try await writerGate.withPermit { try await runTransaction(body) }
    }

    private func runTransaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection { sql in
            try await sql.raw(SQLQueryString(dialect == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN")).run()
            do {
                let result = try await body(sql)
                try await sql.raw("COMMIT").run()
                return result
            } catch {
                do { try await sql.raw("ROLLBACK").run() } catch {
                    logger.error("rollback failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                throw error
            }
        }
    }

    /// True when a trivial query succeeds: the readiness probe.
    public func ping() async -> Bool {
        do {
            return try await read { sql in try await sql.raw("SELECT 1 AS ok").first() != nil }
        } catch {
            logger.warning("database ping failed", metadata: ["error": "\(String(reflecting: error))"])
            return false
        }
    }

    public func shutdown() async {
        do { try await lease.shutdown() } catch {
            logger.warning("database pool shutdown failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    public var poolFigures: PoolMetrics.Figures { metrics.figures }

    private func withConnection<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let waitStarted = ContinuousClock.now
        return try await lease.withSQL(logger: logger) { sql in
            metrics.acquired(after: ContinuousClock.now - waitStarted)
            defer { metrics.released() }
            return try await body(sql)
        }
    }
}

/// Hides which pool type (SQLite or PostgreSQL connections) sits behind a `Database`.
protocol ConnectionLease: Sendable {
    func withSQL<T: Sendable>(logger: Logger, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    func shutdown() async throws
}

/// `EventLoopGroupConnectionPool` guards its state with a lock but predates Sendable annotations.
struct PooledLease<Source: ConnectionPoolSource>: ConnectionLease, @unchecked Sendable {
    let pool: EventLoopGroupConnectionPool<Source>
    let makeSQL: @Sendable (Source.Connection) -> any SQLDatabase

    func withSQL<T: Sendable>(logger: Logger, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let connection = try await pool.requestConnection(logger: logger).get()
        defer { pool.releaseConnection(connection, logger: logger) }
        return try await body(makeSQL(connection))
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
            let pragmas = ["PRAGMA busy_timeout = \(busyTimeoutMilliseconds)", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                           // LIKE is case-sensitive on PostgreSQL; search filters must mean the same on both (ILIKE exists for the other).
                           "PRAGMA case_sensitive_like = ON"]
            return pragmas.reduce(eventLoop.makeSucceededVoidFuture()) { chain, pragma in
                chain.flatMap { connection.query(pragma).map { _ in } }
            }.map { connection }.flatMapError { error in
                // A connection that could not be set up is closed, not dropped open.
                connection.close().flatMapThrowing { throw error }
            }
        }
    }
}
