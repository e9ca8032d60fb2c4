import AITIPCore
import Foundation
import Logging
import SQLKit
import Storage
import Synchronization

/// The databases every persistence test runs on. SQLite always; PostgreSQL when `AITIP_TEST_POSTGRES_URL` names
/// a server (`.ci/run` starts one and sets `AITIP_REQUIRE_POSTGRES=1`, which makes its absence a failure).
package enum DatabaseKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    package var description: String { rawValue }

    package static var available: [DatabaseKind] {
        TestEnvironment.postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

package enum TestEnvironment {
    package static var postgresURL: String? { ProcessInfo.processInfo.environment["AITIP_TEST_POSTGRES_URL"] }
    package static var postgresRequired: Bool { ProcessInfo.processInfo.environment["AITIP_REQUIRE_POSTGRES"] == "1" }

    package static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }
}

/// A fresh, empty database of one kind: a temporary SQLite file, or a new PostgreSQL database created on the
/// test server and dropped afterwards.
package struct ScratchDatabase: Sendable {
    package let kind: DatabaseKind
    package let url: String
    private let directory: URL
    private let postgresName: String?

    /// A fresh database; with `migrations`, already migrated: a copy of a template database migrated once per test run
    /// (a PostgreSQL `CREATE DATABASE … TEMPLATE`, a copied SQLite file) instead of migrating every test's database.
    package static func make(_ kind: DatabaseKind, migratedWith migrations: [Migration]? = nil) async throws -> ScratchDatabase {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch kind {
        case .sqlite:
            let file = directory.appendingPathComponent("aitip.db")
            if let migrations {
                try FileManager.default.copyItem(at: try await Templates.shared.sqlite(migrations), to: file)
            }
            return ScratchDatabase(kind: kind, url: "sqlite://\(file.path)", directory: directory, postgresName: nil)
        case .postgres:
            guard let admin = TestEnvironment.postgresURL, var components = URLComponents(string: admin) else {
                throw AppError.badRequest("AITIP_TEST_POSTGRES_URL is not set")
            }
            let name = "aitip_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            if let migrations {
                try await Self.adminQuery("CREATE DATABASE \(name) TEMPLATE \(try await Templates.shared.postgres(migrations))")
            } else {
                try await Self.adminQuery("CREATE DATABASE \(name)")
            }
            components.path = "/\(name)"
            return ScratchDatabase(kind: kind, url: components.string!, directory: directory, postgresName: String(name))
        }
    }

    /// The migrated templates of this test run, made once each. Tests ask for them concurrently: the first caller's
    /// task is shared (an actor alone would let a second caller in while the first one migrates).
    actor Templates {
        static let shared = Templates()
        private var sqliteFiles: [String: Task<URL, any Error>] = [:]
        private var postgresNames: [String: Task<String, any Error>] = [:]

        func sqlite(_ migrations: [Migration]) async throws -> URL {
            let fingerprint = Migrator.fingerprint(migrations, dialect: .sqlite)
            if let made = sqliteFiles[fingerprint] { return try await made.value }
            let made = Task { try await Self.makeSQLite(migrations, fingerprint: fingerprint) }
            sqliteFiles[fingerprint] = made
            return try await made.value
        }

        func postgres(_ migrations: [Migration]) async throws -> String {
            let fingerprint = Migrator.fingerprint(migrations, dialect: .postgres)
            if let made = postgresNames[fingerprint] { return try await made.value }
            let made = Task { try await Self.makePostgres(migrations, fingerprint: fingerprint) }
            postgresNames[fingerprint] = made
            return try await made.value
        }

        private static func makeSQLite(_ migrations: [Migration], fingerprint: String) async throws -> URL {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "aitip-template-\(fingerprint.prefix(16))-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let file = directory.appendingPathComponent("aitip.db")
            let database = try Database(url: try DatabaseURL(parsing: "sqlite://\(file.path)"), logger: TestEnvironment.logger)
            do {
                try await Migrator(database: database, migrations: migrations, logger: TestEnvironment.logger).migrate()
            } catch {
                await database.shutdown()
                throw error
            }
            // Closing the last connection checkpoints the write-ahead log into the file: a copy of it is the whole database.
            await database.shutdown()
            return file
        }

        private static func makePostgres(_ migrations: [Migration], fingerprint: String) async throws -> String {
            guard let admin = TestEnvironment.postgresURL, var components = URLComponents(string: admin) else {
                throw AppError.badRequest("AITIP_TEST_POSTGRES_URL is not set")
            }
            let name = "aitip_template_" + fingerprint.prefix(16)
            try await ScratchDatabase.adminQuery("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            try await ScratchDatabase.adminQuery("CREATE DATABASE \(name)")
            components.path = "/\(name)"
            let database = try Database(
                url: try DatabaseURL(parsing: components.string!), options: .init(connectionsPerEventLoop: 1),
                logger: TestEnvironment.logger)
            do {
                try await Migrator(database: database, migrations: migrations, logger: TestEnvironment.logger).migrate()
            } catch {
                await database.shutdown()
                throw error
            }
            // A template must have no connections when it is copied.
            await database.shutdown()
            return name
        }
    }

    package var dataDirectory: String { directory.path }

    /// Opens a pool on the scratch database; close it with `shutdown()` before `drop()`.
    package func open() throws -> Database {
        try Database(url: try DatabaseURL(parsing: url), logger: TestEnvironment.logger)
    }

    package func drop() async {
        if let postgresName {
            try? await Self.adminQuery("DROP DATABASE IF EXISTS \(postgresName) WITH (FORCE)")
        }
        try? FileManager.default.removeItem(at: directory)
    }

    static func adminQuery(_ sql: String) async throws {
        guard let admin = TestEnvironment.postgresURL else { return }
        let database = try Database(
            url: try DatabaseURL(parsing: admin), options: .init(connectionsPerEventLoop: 1),
            logger: TestEnvironment.logger)
        do {
            try await database.read { connection in try await connection.raw(SQLQueryString(sql)).run() }
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }
}

/// A clock tests move by hand, to expire tokens and keys without waiting.
package final class MovableClock: Clock {
    private let current: Mutex<Date>

    package init(_ start: Date = Date()) {
        current = Mutex(start)
    }

    package func now() -> Date { current.withLock { $0 } }

    package func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// Runs `body` with a fresh database of `kind`, closing and dropping it afterwards.
package func withDatabase(_ kind: DatabaseKind, _ body: (Database) async throws -> Void) async throws {
    let scratch = try await ScratchDatabase.make(kind)
    let database = try scratch.open()
    do {
        try await body(database)
    } catch {
        await database.shutdown()
        await scratch.drop()
        throw error
    }
    await database.shutdown()
    await scratch.drop()
}
