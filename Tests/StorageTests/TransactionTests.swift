import AITIPCore
import AITIPTestSupport
import Foundation
import NIOPosix
import SQLKit
import Storage
import Testing

/// Transactions on a pool of one connection, so a connection left inside a transaction would be the next caller's.
@Suite("Transactions on SQLite and PostgreSQL")
struct TransactionTests {
    static let migrations = [Migration(1, "create_notes") { t in ["CREATE TABLE notes (id \(t.bigint) PRIMARY KEY)"] }]

    /// The regression for a poisoned pool: SQLite's statements run on NIO's thread pool, which refuses a cancelled task's
    /// work, so a ROLLBACK issued from the cancelled task failed and left its connection inside a transaction. Every later
    /// transaction on that connection then failed ("cannot start a transaction within a transaction") and every other
    /// writer met "database is locked": one client that went away mid-write stopped all writes.
    @Test("a transaction whose task is cancelled while it writes is rolled back, and the connection serves the next caller",
          arguments: DatabaseKind.available)
    func cancelledWhileWriting(kind: DatabaseKind) async throws {
        try await withSingleConnection(kind) { database in
            let writing = AsyncStream<Void>.makeStream()
            let task = Task {
                try await database.transaction { sql in
                    try await sql.insert(into: "notes").columns("id").values(SQLBind(1)).run()
                    writing.continuation.yield()
                    try? await Task.sleep(for: .seconds(30))
                    try Task.checkCancellation()
                }
            }
            for await _ in writing.stream { break }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            try await database.transaction { sql in try await sql.insert(into: "notes").columns("id").values(SQLBind(2)).run() }
            #expect(try await noteIds(database) == [2])
        }
    }

    @Test("a transaction cancelled after its work is done still commits it, and the connection serves the next caller",
          arguments: DatabaseKind.available)
    func cancelledBeforeCommit(kind: DatabaseKind) async throws {
        try await withSingleConnection(kind) { database in
            let written = AsyncStream<Void>.makeStream()
            let task = Task {
                try await database.transaction { sql in
                    try await sql.insert(into: "notes").columns("id").values(SQLBind(1)).run()
                    written.continuation.yield()
                    try? await Task.sleep(for: .seconds(30))
                }
            }
            for await _ in written.stream { break }
            task.cancel()
            try await task.value
            try await database.transaction { sql in try await sql.insert(into: "notes").columns("id").values(SQLBind(2)).run() }
            #expect(try await noteIds(database) == [1, 2])
        }
    }

    @Test("a failed statement rolls back the whole transaction", arguments: DatabaseKind.available)
    func failedStatementRollsBack(kind: DatabaseKind) async throws {
        try await withSingleConnection(kind) { database in
            await #expect(throws: (any Error).self) {
                try await database.transaction { sql in
                    try await sql.insert(into: "notes").columns("id").values(SQLBind(1)).run()
                    try await sql.insert(into: "notes").columns("id").values(SQLBind(1)).run()
                }
            }
            #expect(try await noteIds(database).isEmpty)
            try await database.transaction { sql in try await sql.insert(into: "notes").columns("id").values(SQLBind(3)).run() }
            #expect(try await noteIds(database) == [3])
        }
    }

    private func noteIds(_ database: Database) async throws -> [Int64] {
        try await database.read { sql in
            try await sql.select().column("id").from("notes").orderBy("id").all().map { try $0.decode(column: "id", as: Int64.self) }
        }
    }

    private func withSingleConnection(_ kind: DatabaseKind, _ body: (Database) async throws -> Void) async throws {
        let scratch = try await ScratchDatabase.make(kind, migratedWith: Self.migrations)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let database = try Database(url: try DatabaseURL(parsing: scratch.url), options: .init(connectionsPerEventLoop: 1),
                                    eventLoopGroup: group, logger: TestEnvironment.logger)
        do {
            try await body(database)
        } catch {
            await database.shutdown()
            await scratch.drop()
            try await group.shutdownGracefully()
            throw error
        }
        await database.shutdown()
        await scratch.drop()
        try await group.shutdownGracefully()
    }
}
