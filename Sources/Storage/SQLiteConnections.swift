import AITIPCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization

/// SQLite driven through its C API where the statements are called: one writer connection for transactions (one at a
/// time, `BEGIN IMMEDIATE`) and a few reader connections, each keeping its statements prepared.
///
/// Through SQLiteNIO every statement was three thread switches (the task hands it to NIO's blocking pool, the pool
/// completes a promise on an event loop, the event loop resumes the task) and every row one more: a `log_metric`
/// call's seven statements cost 27 context switches, more than its work, and a 100-run search page thousands. Here a
/// statement runs on the calling task's thread. It takes microseconds; what can hold the thread longer is a large read,
/// a WAL checkpoint (every 1,000 pages) and the busy wait while another process (`aitip migrate`) holds the lock. The
/// gates bound how many threads can be inside SQLite at once: one writer, `readers` readers.
///
/// The C library is SQLiteNIO's own copy: two copies of SQLite in one process do not see each other's POSIX locks
/// and can corrupt a database they share.
final class SQLiteConnections: Sendable {
    private let writer: SharedSQLiteConnection
    private let readers: [SharedSQLiteConnection]
    private let idleReaders: Mutex<[Int]>
    private let writerGate = PermitGate(permits: 1)
    private let readerGate: PermitGate
    private let logger: Logger

    init(path: String, readers count: Int, busyTimeoutMilliseconds: Int, logger: Logger) {
        let open = { SharedSQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, logger: logger) }
        writer = open()
        readers = (0..<max(count, 1)).map { _ in open() }
        idleReaders = Mutex(Array(readers.indices))
        readerGate = PermitGate(permits: readers.count)
        self.logger = logger
    }

    /// The number of connections, writer included (for the pool figures).
    var capacity: Int { readers.count + 1 }

    /// Runs `body` on a reader connection, outside any transaction.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await readerGate.withPermit {
            let reader = takeReader()
            defer { giveBack(reader) }
            return try await body(RawSQLDatabase(connection: readers[reader]))
        }
    }

    /// Runs `body` in one IMMEDIATE transaction on the writer: committed when it returns, rolled back when it throws.
    /// SQLite's writer does not look at task cancellation, so a transaction always ends.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writerGate.withPermit {
            try writer.execute("BEGIN IMMEDIATE")
            let result: T
            do {
                result = try await body(RawSQLDatabase(connection: writer))
            } catch {
                writer.rollBack()
                throw error
            }
            do {
                try writer.execute("COMMIT")
            } catch {
                writer.rollBack()
                throw error
            }
            return result
        }
    }

    func close() {
        writer.close()
        for reader in readers { reader.close() }
    }

    // Never inlined, for the reason `PermitGate.acquire` gives: `read` awaits between the two.
    @inline(never)
    private func takeReader() -> Int {
        // The gate admits no more callers than there are readers, so one is idle.
        idleReaders.withLock { $0.removeLast() }
    }

    @inline(never)
    private func giveBack(_ reader: Int) {
        idleReaders.withLock { $0.append(reader) }
    }
}

/// One connection, opened on first use (and again after it was given up), used under a lock: a body that runs two
/// statements at once from child tasks still reaches SQLite one at a time. Once closed it refuses every statement.
final class SharedSQLiteConnection: Sendable {
    private enum State {
        case unopened
        case open(RawSQLiteConnection)
        case closed
    }

    private let path: String
    private let busyTimeoutMilliseconds: Int
    let logger: Logger
    private let state = Mutex<State>(.unopened)

    init(path: String, busyTimeoutMilliseconds: Int, logger: Logger) {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.logger = logger
    }

    /// Runs one statement to completion, handing each row to `onRow` as it is read.
    func execute(_ sql: String, _ binds: [SQLiteData] = [], onRow: (any SQLRow) -> Void = { _ in }) throws {
        logger.trace("Executing query", metadata: ["sql": "\(sql)"])
        try state.withLock { state in
            let connection: RawSQLiteConnection
            switch state {
            case .open(let open): connection = open
            case .unopened:
                connection = try RawSQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
                state = .open(connection)
            case .closed: throw SQLiteFailure(code: SQLiteFailure.misuse, message: "the database is shut down")
            }
            try connection.execute(sql, binds, onRow: onRow)
        }
    }

    /// Ends a failed transaction. Some errors (a full disk, an interrupted write) end it already; a connection whose
    /// transaction cannot be ended is closed, so the next statement opens a clean one.
    func rollBack() {
        state.withLock { state in
            guard case .open(let connection) = state, connection.inTransaction else { return }
            do { try connection.execute("ROLLBACK", [], onRow: { _ in }) } catch {
                logger.error("rollback failed; the SQLite connection is closed", metadata: ["error": "\(error)"])
                connection.close()
                state = .unopened
            }
        }
    }

    func close() {
        state.withLock { state in
            if case .open(let connection) = state { connection.close() }
            state = .closed
        }
    }
}

/// A connection as SQLKit sees it. Statements run where they are called; the event loop only completes the futures
/// of SQLKit's older API.
private struct RawSQLDatabase: SQLDatabase {
    let connection: SharedSQLiteConnection
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var logger: Logger { connection.logger }
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
        try connection.execute(sql, try binds.map(Self.value), onRow: onRow)
    }

    /// The common binds directly, the rest through SQLiteKit's encoder, with the same result: its protocol casts and
    /// Foundation's printf-formatted `uuidString` showed in profiles of searches.
    private static func value(_ bind: any Encodable & Sendable) throws -> SQLiteData {
        switch bind {
        case let text as String: .text(text)
        case let id as UUID: .text(id.uppercasedString)
        case let number as Int: .integer(number)
        case let number as Int64: .integer(Int(number))
        case let number as Double: .float(number)
        default: try SQLiteDataEncoder().encode(bind)
        }
    }
}
