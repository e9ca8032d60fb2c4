import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization

/// SQLite's one writer: a connection of its own on which every write transaction runs, its statements executed in
/// place on the calling task's thread.
///
/// Through SQLiteNIO each statement is three thread switches (the task hands it to NIO's blocking pool, the pool
/// completes a promise on an event loop, the event loop resumes the task), which made a `log_metric` call's seven
/// statements cost more than its work (27 context switches a call, 4 now). Here the statements run through SQLite's C
/// API where they are called, prepared once and kept. A statement of a write transaction takes microseconds (WAL with
/// `synchronous = NORMAL` does not sync at commit); what can block the calling thread longer is a checkpoint (every
/// 1,000 pages of WAL) and the busy wait when another process (`aitip migrate`) holds the lock. Writers are
/// serialized by `WriterGate` first, so at most one cooperative thread is ever inside SQLite here.
///
/// The C library is SQLiteNIO's own copy: two copies of SQLite in one process do not see each other's POSIX locks
/// and can corrupt a database they share.
final class SQLiteWriter: Sendable {
    private let path: String
    private let busyTimeoutMilliseconds: Int
    let logger: Logger
    /// Opened on first use and after a connection was given up; the lock is never contended (the gate is outside).
    private let connection = Mutex<RawSQLiteConnection?>(nil)

    init(path: String, busyTimeoutMilliseconds: Int, logger: Logger) {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.logger = logger
    }

    /// Runs `body` in one IMMEDIATE transaction: committed when it returns, rolled back when it throws. The caller
    /// holds the writer gate.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try execute("BEGIN IMMEDIATE")
        let result: T
        do {
            result = try await body(WriterSQLDatabase(writer: self, eventLoop: MultiThreadedEventLoopGroup.singleton.any()))
        } catch {
            rollBack()
            throw error
        }
        do {
            try execute("COMMIT")
        } catch {
            rollBack()
            throw error
        }
        return result
    }

    /// Runs one statement to completion, handing each row to `onRow` as it is read.
    func execute(_ sql: String, _ binds: [SQLiteData] = [], onRow: (any SQLRow) -> Void = { _ in }) throws {
        logger.trace("Executing query", metadata: ["sql": "\(sql)"])
        try connection.withLock { connection in
            if connection == nil {
                connection = try RawSQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
            }
            try connection!.execute(sql, binds, onRow: onRow)
        }
    }

    /// Ends a failed transaction. Some errors (a full disk, an interrupted write) end it already; a connection whose
    /// transaction cannot be ended is closed, so the next one starts clean.
    private func rollBack() {
        connection.withLock { connection in
            guard let open = connection, open.inTransaction else { return }
            do { try open.execute("ROLLBACK", [], onRow: { _ in }) } catch {
                logger.error("rollback failed; the writer connection is closed", metadata: ["error": "\(error)"])
                open.close()
                connection = nil
            }
        }
    }

    func close() {
        connection.withLock { connection in
            connection?.close()
            connection = nil
        }
    }
}

/// The writer's connection as SQLKit sees it inside a transaction. Statements run where they are called.
private struct WriterSQLDatabase: SQLDatabase {
    let writer: SQLiteWriter
    let eventLoop: any EventLoop
    var logger: Logger { writer.logger }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        let (sql, binds) = serialize(query)
        let encoder = SQLiteDataEncoder()
        try writer.execute(sql, try binds.map { try encoder.encode($0) }, onRow: onRow)
    }
}
