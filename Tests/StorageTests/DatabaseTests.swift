import AITIPCore
import AITIPTestSupport
import Foundation
import NIOPosix
import SQLKit
import Storage
import Testing

@Suite("Database transactions and dialect helpers")
struct DatabaseTests {
    static let migrations = [Migration(1, "create_notes") { t in ["CREATE TABLE notes (id \(t.bigint) PRIMARY KEY)"] }]

    @Test("a transaction that throws is rolled back", arguments: DatabaseKind.available)
    func rollback(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            try await database.read { sql in try await sql.raw("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)").run() }
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await database.transaction { sql in
                    try await sql.raw("INSERT INTO notes (id, body) VALUES (1, 'kept?')").run()
                    throw Boom()
                }
            }
            let count = try await database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM notes").first()?.decode(column: "n", as: Int.self)
            }
            #expect(count == 0)
        }
    }

    @Test("unique violations are recognised on both databases", arguments: DatabaseKind.available)
    func uniqueViolation(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            try await database.read { sql in try await sql.raw("CREATE TABLE tags (name TEXT PRIMARY KEY)").run() }
            try await database.transaction { sql in try await sql.raw("INSERT INTO tags (name) VALUES ('x')").run() }
            do {
                try await database.transaction { sql in try await sql.raw("INSERT INTO tags (name) VALUES ('x')").run() }
                Issue.record("the duplicate insert succeeded")
            } catch {
                #expect(SQLErrors.isUniqueViolation(error))
            }
            do {
                try await database.read { sql in try await sql.raw("SELECT * FROM no_such_table").run() }
            } catch {
                #expect(!SQLErrors.isUniqueViolation(error))
            }
        }
    }

    @Test("concurrent write transactions on SQLite wait for each other instead of failing")
    func concurrentWrites() async throws {
        try await withDatabase(.sqlite) { database in
            try await database.read { sql in try await sql.raw("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)").run() }
            try await database.transaction { sql in try await sql.raw("INSERT INTO counter VALUES (1, 0)").run() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await database.transaction { sql in
                            let current = try await sql.raw("SELECT n FROM counter WHERE id = 1").first()!.decode(column: "n", as: Int.self)
                            try await sql.raw("UPDATE counter SET n = \(bind: current + 1) WHERE id = 1").run()
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = try await database.read { sql in try await sql.raw("SELECT n FROM counter").first()!.decode(column: "n", as: Int.self) }
            #expect(total == 40)
        }
    }

    /// The writer keeps its statements prepared; a column another connection adds must still show in its `SELECT *`.
    @Test(
        "write transactions enforce foreign keys, match LIKE case-sensitively and see another connection's schema change",
        arguments: DatabaseKind.available)
    func writerConnectionSettings(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            try await database.read { sql in
                try await sql.raw("CREATE TABLE parents (id INTEGER PRIMARY KEY)").run()
                try await sql.raw("CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents (id))").run()
            }
            await #expect(throws: (any Error).self) {
                try await database.transaction { sql in try await sql.raw("INSERT INTO children VALUES (1, 42)").run() }
            }
            let matches = try await database.transaction { sql in
                try await sql.raw("INSERT INTO parents VALUES (7)").run()
                try await sql.raw("INSERT INTO children VALUES (1, 7)").run()
                return try await sql.raw("SELECT COUNT(*) AS n FROM (SELECT 'Abc' AS word) AS words WHERE word LIKE 'abc'").first()!
                    .decode(column: "n", as: Int.self)
            }
            #expect(matches == 0)
            let before = try await database.transaction { sql in try await sql.raw("SELECT * FROM parents").first()!.allColumns }
            try await database.read { sql in try await sql.raw("ALTER TABLE parents ADD COLUMN label TEXT").run() }
            let after = try await database.transaction { sql in try await sql.raw("SELECT * FROM parents").first()!.allColumns }
            #expect(before == ["id"] && after == ["id", "label"])
        }
    }

    @Test("PostgreSQL is reachable when CI requires it")
    func postgresPresentInCI() {
        if TestEnvironment.postgresRequired {
            #expect(DatabaseKind.available.contains(.postgres), "AITIP_REQUIRE_POSTGRES=1 but AITIP_TEST_POSTGRES_URL is not set")
        }
    }

    @Test("database URLs parse and hide passwords in logs")
    func urls() throws {
        #expect(try DatabaseURL(parsing: "sqlite:///tmp/x.db") == .sqlite(path: "/tmp/x.db"))
        let postgres = try DatabaseURL(parsing: "postgres://aitip:s3cret@db:5432/aitip")
        #expect(postgres.dialect == .postgres)
        #expect(!postgres.description.contains("s3cret"))
        #expect(throws: AppError.self) { try DatabaseURL(parsing: "mysql://x") }
        #expect(throws: AppError.self) { try DatabaseURL(parsing: "sqlite://") }
    }

    /// The regression for a poisoned pool: SQLite's statements run on NIO's thread pool, which refuses a cancelled task's
    /// work, so a ROLLBACK issued from the cancelled task failed and left its connection inside a transaction. Every later
    /// transaction on that connection then failed ("cannot start a transaction within a transaction") and every other
    /// writer met "database is locked": one client that went away mid-write stopped all writes.
    @Test(
        "a transaction whose task is cancelled while it writes is rolled back, and the connection serves the next caller",
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

    @Test(
        "a transaction cancelled after its work is done still commits it, and the connection serves the next caller",
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

    private func noteIds(_ database: Database) async throws -> [Int64] {
        try await database.read { sql in
            try await sql.select().column("id").from("notes").orderBy("id").all().map { try $0.decode(column: "id", as: Int64.self) }
        }
    }

    /// A pool of one connection: a connection left inside a transaction would be the next caller's.
    private func withSingleConnection(_ kind: DatabaseKind, _ body: (Database) async throws -> Void) async throws {
        let scratch = try await ScratchDatabase.make(kind, migratedWith: Self.migrations)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let database = try Database(
            url: try DatabaseURL(parsing: scratch.url), options: .init(connectionsPerEventLoop: 1),
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
