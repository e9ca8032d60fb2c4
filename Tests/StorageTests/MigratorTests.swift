import AITIPCore
import AITIPTestSupport
import Foundation
import SQLKit
import Testing

@testable import Storage

@Suite("Migrator on SQLite and PostgreSQL")
struct MigratorTests {
    static let sample: [Migration] = [
        Migration(1, "create_widgets") { t in
            ["CREATE TABLE widgets (id \(t.uuid) PRIMARY KEY, name \(t.text) NOT NULL UNIQUE, made_ms \(t.bigint) NOT NULL)"]
        },
        Migration(2, "create_gadgets") { t in
            ["CREATE TABLE gadgets (id \(t.bigint) PRIMARY KEY, payload \(t.json) NOT NULL DEFAULT '{}', ok \(t.bool) NOT NULL)"]
        },
    ]

    @Test("applies pending migrations once, in order, and a dry run changes nothing", arguments: DatabaseKind.available)
    func appliesOnce(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            let migrator = try Migrator(database: database, migrations: Self.sample, logger: TestEnvironment.logger)
            let planned = try await migrator.migrate(dryRun: true)
            #expect(planned.map(\.version) == [1, 2])
            #expect(try await migrator.status().allSatisfy { !$0.applied })

            let applied = try await migrator.migrate()
            #expect(applied.map(\.name) == ["create_widgets", "create_gadgets"])
            #expect(try await migrator.status().allSatisfy(\.applied))
            #expect(try await migrator.migrate().isEmpty)

            try await database.read { sql in
                try await sql.insert(into: "widgets").columns("id", "name", "made_ms")
                    .values(SQLBind(UUID()), SQLBind("a"), SQLBind(Date().epochMilliseconds)).run()
            }
        }
    }

    @Test("refuses to start when an applied migration was edited", arguments: DatabaseKind.available)
    func detectsEditedMigration(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            try await Migrator(database: database, migrations: Self.sample, logger: TestEnvironment.logger).migrate()
            var edited = Self.sample
            edited[1] = Migration(2, "create_gadgets") { t in ["CREATE TABLE gadgets (id \(t.bigint) PRIMARY KEY)"] }
            let migrator = try Migrator(database: database, migrations: edited, logger: TestEnvironment.logger)
            await #expect(throws: AppError.self) { try await migrator.migrate() }
        }
    }

    @Test("refuses to run an older aitip against a newer schema", arguments: DatabaseKind.available)
    func detectsNewerSchema(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            try await Migrator(database: database, migrations: Self.sample, logger: TestEnvironment.logger).migrate()
            let older = try Migrator(database: database, migrations: [Self.sample[0]], logger: TestEnvironment.logger)
            let error = await #expect(throws: AppError.self) { try await older.status() }
            #expect(error?.detail.contains("newer version") == true)
        }
    }

    @Test("a failing migration leaves the schema at the previous version", arguments: DatabaseKind.available)
    func failedMigrationRollsBack(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            let broken =
                Self.sample + [
                    Migration(3, "broken") { t in
                        ["CREATE TABLE halfway (id \(t.integer) PRIMARY KEY)", "THIS IS NOT SQL"]
                    }
                ]
            let migrator = try Migrator(database: database, migrations: broken, logger: TestEnvironment.logger)
            await #expect(throws: (any Error).self) { try await migrator.migrate() }
            let status = try await migrator.status()
            #expect(status.map(\.applied) == [true, true, false])
            // The first statement of the failed migration was rolled back with it.
            try await Migrator(
                database: database,
                migrations: Self.sample + [
                    Migration(3, "broken") { t in
                        ["CREATE TABLE halfway (id \(t.integer) PRIMARY KEY)"]
                    }
                ], logger: TestEnvironment.logger
            ).migrate()
        }
    }

    @Test(
        "a schema_migrations table from before epoch milliseconds is converted once, keeping when each migration ran",
        arguments: DatabaseKind.available)
    func convertsLegacyAppliedTime(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            let types = ColumnTypes(dialect: database.dialect)
            let appliedAt = Date(timeIntervalSince1970: 1_700_000_000.2346)
            try await database.transaction { sql in
                let legacyTable = """
                    CREATE TABLE schema_migrations (version \(types.integer) PRIMARY KEY, name \(types.text) NOT NULL,
                        checksum \(types.text) NOT NULL, applied_at \(types.legacyTimestamp) NOT NULL)
                    """
                try await sql.raw(SQLQueryString(legacyTable)).run()
                for statement in Self.sample[0].statements(types) { try await sql.raw(SQLQueryString(statement)).run() }
                try await sql.insert(into: "schema_migrations").columns("version", "name", "checksum", "applied_at")
                    .values(SQLBind(1), SQLBind("create_widgets"), SQLBind(Migrator.checksum(Self.sample[0], types: types)), SQLBind(appliedAt))
                    .run()
            }
            let migrator = try Migrator(database: database, migrations: Self.sample, logger: TestEnvironment.logger)
            #expect(try await migrator.status().map(\.applied) == [true, false])
            let before = Date().epochMilliseconds
            #expect(try await migrator.migrate().map(\.version) == [2])
            #expect(try await migrator.status().allSatisfy(\.applied))

            struct Applied: Decodable {
                var version: Int
                var applied_ms: Int64
            }
            let rows = try await database.read { sql in
                try await sql.select().columns("version", "applied_ms").from("schema_migrations").orderBy("version").all(decoding: Applied.self)
            }
            #expect(rows.map(\.version) == [1, 2])
            #expect(rows.first?.applied_ms == 1_700_000_000_234)
            #expect((rows.last?.applied_ms ?? 0) >= before)
            await #expect(throws: (any Error).self) {
                try await database.read { sql in try await sql.raw("SELECT applied_at FROM schema_migrations").run() }
            }
        }
    }

    @Test("migration versions must be unique and increasing")
    func rejectsBadOrder() async throws {
        try await withDatabase(.sqlite) { database in
            #expect(throws: AppError.self) {
                try Migrator(database: database, migrations: Array(Self.sample.reversed()), logger: TestEnvironment.logger)
            }
            #expect(throws: AppError.self) {
                try Migrator(database: database, migrations: [Self.sample[0], Self.sample[0]], logger: TestEnvironment.logger)
            }
        }
    }
}
