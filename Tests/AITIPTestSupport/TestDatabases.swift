import AITIPCore
import Foundation
import Logging
import SQLKit
import Storage
import Synchronization

/// The databases every persistence test runs on. SQLite always; PostgreSQL when `AITIP_TEST_POSTGRES_URL` names
/// a server (`.ci/run` starts one and sets `AITIP_REQUIRE_POSTGRES=1`, which makes its absence a failure).
public enum DatabaseKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    public var description: String { rawValue }

    public static var available: [DatabaseKind] {
        TestEnvironment.postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

public enum TestEnvironment {
    public static var postgresURL: String? { ProcessInfo.processInfo.environment["AITIP_TEST_POSTGRES_URL"] }
    public static var postgresRequired: Bool { ProcessInfo.processInfo.environment["AITIP_REQUIRE_POSTGRES"] == "1" }

    public static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }
}

/// A fresh, empty database of one kind: a temporary SQLite file, or a new PostgreSQL database created on the
/// test server and dropped afterwards.
public struct ScratchDatabase: Sendable {
    public let kind: DatabaseKind
    public let url: String
    private let directory: URL
    private let postgresName: String?

    public static func make(_ kind: DatabaseKind) async throws -> ScratchDatabase {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch kind {
        case .sqlite:
            return ScratchDatabase(kind: kind, url: "sqlite://\(directory.path)/aitip.db", directory: directory, postgresName: nil)
        case .postgres:
            guard let admin = TestEnvironment.postgresURL, var components = URLComponents(string: admin) else {
                throw AppError.badRequest("AITIP_TEST_POSTGRES_URL is not set")
            }
            let name = "aitip_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try await Self.adminQuery("CREATE DATABASE \(name)")
            components.path = "/\(name)"
            return ScratchDatabase(kind: kind, url: components.string!, directory: directory, postgresName: String(name))
        }
    }

    public var dataDirectory: String { directory.path }

    /// Opens a pool on the scratch database; close it with `shutdown()` before `drop()`.
    public func open() throws -> Database {
        try Database(url: try DatabaseURL(parsing: url), logger: TestEnvironment.logger)
    }

    public func drop() async {
        if let postgresName {
            try? await Self.adminQuery("DROP DATABASE IF EXISTS \(postgresName) WITH (FORCE)")
        }
        try? FileManager.default.removeItem(at: directory)
    }

    static func adminQuery(_ sql: String) async throws {
        guard let admin = TestEnvironment.postgresURL else { return }
        let database = try Database(url: try DatabaseURL(parsing: admin), options: .init(connectionsPerEventLoop: 1),
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
public final class MovableClock: Clock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date()) {
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}
