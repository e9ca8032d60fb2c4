import AITIPCore
import Crypto
import Foundation
import Logging
import SQLKit

/// Applies migrations in version order and records each in `schema_migrations`, in its own transaction, so a
/// failed migration leaves the schema at the previous version.
package struct Migrator: Sendable {
    package struct Status: Sendable, Equatable {
        package var version: Int
        package var name: String
        package var applied: Bool
    }

    let database: Database
    let migrations: [Migration]
    let logger: Logger

    package init(database: Database, migrations: [Migration], logger: Logger) throws {
        let versions = migrations.map(\.version)
        guard versions == versions.sorted(), Set(versions).count == versions.count else {
            throw AppError(.internalError, "Migrations must have unique, increasing version numbers: \(versions)")
        }
        self.database = database
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies what is pending to the database at `url` on connections of its own, closed before it returns; whoever
    /// serves opens its pool afterwards.
    ///
    /// No connection serving requests then holds statements prepared against the schema before a migration.
    package static func migrate(_ url: DatabaseURL, migrations: [Migration], logger: Logger) async throws {
        let database = try Database(url: url, options: .init(connectionsPerEventLoop: 1), logger: logger)
        do {
            try await Migrator(database: database, migrations: migrations, logger: logger).migrate()
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }

    /// Every known migration and whether this database has it.
    package func status() async throws -> [Status] {
        try await ensureVersionTable()
        let applied = try await appliedMigrations()
        try verify(applied)
        return migrations.map { Status(version: $0.version, name: $0.name, applied: applied[$0.version] != nil) }
    }

    /// Applies what is pending; returns what it applied (or, with `dryRun`, what it would apply).
    @discardableResult
    package func migrate(dryRun: Bool = false) async throws -> [Status] {
        let pending = try await status().filter { !$0.applied }
        if dryRun { return pending }
        let types = ColumnTypes(dialect: database.dialect)
        for status in pending {
            let migration = migrations.first { $0.version == status.version }!
            let checksum = Self.checksum(migration, types: types)
            try await database.transaction { sql in
                for statement in migration.statements(types) {
                    try await sql.raw(SQLQueryString(statement)).run()
                }
                try await sql.insert(into: "schema_migrations")
                    .columns("version", "name", "checksum", "applied_ms")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(checksum), SQLBind(Date().epochMilliseconds))
                    .run()
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        return pending
    }

    private func ensureVersionTable() async throws {
        let types = ColumnTypes(dialect: database.dialect)
        // The one table that cannot be created by a migration: it records them.
        let statement = """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version \(types.integer) PRIMARY KEY,
                name \(types.text) NOT NULL,
                checksum \(types.text) NOT NULL,
                applied_ms \(types.bigint) NOT NULL
            )
            """
        try await database.read { sql in try await sql.raw(SQLQueryString(statement)).run() }
        try await convertLegacyAppliedTime(types)
    }

    /// Databases made before times were epoch milliseconds record `applied_at`; it becomes `applied_ms` once.
    private func convertLegacyAppliedTime(_ types: ColumnTypes) async throws {
        let columnsQuery =
            switch database.dialect {
            case .sqlite: "SELECT name FROM pragma_table_info('schema_migrations')"
            case .postgres:
                "SELECT column_name::text AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
            }
        let columns = try await database.read { sql in try await sql.raw(SQLQueryString(columnsQuery)).all(decoding: ColumnName.self) }
        guard columns.contains(where: { $0.name == "applied_at" }) else { return }
        try await database.transaction { sql in
            for statement in types.epochMillisecondsReplacing("schema_migrations", "applied_at", with: "applied_ms", required: true) {
                try await sql.raw(SQLQueryString(statement)).run()
            }
        }
        logger.info("schema_migrations records its times in epoch milliseconds now")
    }

    private struct ColumnName: Decodable {
        var name: String
    }

    private struct AppliedRow: Decodable {
        var version: Int
        var name: String
        var checksum: String
    }

    private func appliedMigrations() async throws -> [Int: AppliedRow] {
        let rows = try await database.read { sql in
            try await sql.select().columns("version", "name", "checksum").from("schema_migrations")
                .all(decoding: AppliedRow.self)
        }
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.version, $0) })
    }

    private func verify(_ applied: [Int: AppliedRow]) throws {
        let types = ColumnTypes(dialect: database.dialect)
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for row in applied.values.sorted(by: { $0.version < $1.version }) {
            guard let migration = known[row.version] else {
                throw AppError(
                    .internalError,
                    "The database has migration \(row.version) (\(row.name)) that this aitip does not know: it was written by a newer version. Upgrade aitip instead of downgrading."
                )
            }
            guard Self.checksum(migration, types: types) == row.checksum, migration.name == row.name else {
                throw AppError(
                    .internalError,
                    "Migration \(row.version) (\(row.name)) differs from the one applied to this database. Shipped migrations must never be edited.")
            }
        }
    }

    /// What the migrations are, as one digest: a database migrated with another list differs.
    package static func fingerprint(_ migrations: [Migration], dialect: Dialect) -> String {
        let types = ColumnTypes(dialect: dialect)
        let text = migrations.map { "\($0.version) \($0.name) \(checksum($0, types: types))" }.joined(separator: "\n")
        return SHA256.hash(data: Data(text.utf8)).hexString
    }

    static func checksum(_ migration: Migration, types: ColumnTypes) -> String {
        let text = migration.statements(types).joined(separator: ";\n")
        return SHA256.hash(data: Data(text.utf8)).hexString
    }
}
