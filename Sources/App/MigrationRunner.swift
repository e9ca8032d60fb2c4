import AITIPCore
import Foundation
import Identity
import Logging
import Storage

/// `aitip migrate`: shows what is applied and pending, and applies unless it is a dry run.
package enum MigrationRunner {
    package static func run(config: AppConfig, dryRun: Bool, logger: Logger) async throws {
        let database = try Database(url: try DatabaseURL(parsing: config.databaseURL), logger: logger)
        do {
            let migrator = try Migrator(database: database, migrations: AllMigrations.list, logger: logger)
            let status = try await migrator.status()
            let pending = status.filter { !$0.applied }
            print("Database: \(database.url)")
            for item in status {
                print(String(format: "  %04d  %-32@ %@", item.version, item.name as NSString, (item.applied ? "applied" : "pending") as NSString))
            }
            if pending.isEmpty {
                print("Up to date.")
            } else if dryRun {
                print("\(pending.count) pending migration(s) would be applied (dry run: nothing changed).")
            } else {
                try await migrator.migrate()
                print("Applied \(pending.count) migration(s).")
            }
            await database.shutdown()
        } catch {
            await database.shutdown()
            throw error
        }
    }
}

/// `aitip admin rotate-signing-key`: a new access-token signing key, straight on the database (run it anywhere the
/// server's configuration works; running servers switch within 30 s).
package enum SigningKeyTool {
    package static func rotate(config: AppConfig, revoke: Bool, logger: Logger) async throws -> SigningKeyRotation.Result {
        let url = try DatabaseURL(parsing: config.databaseURL)
        try await Migrator.migrate(url, migrations: AllMigrations.list, logger: logger)
        let database = try Database(url: url, logger: logger)
        do {
            let result = try await SigningKeyRotation.rotate(
                database: database, clock: SystemClock(), revoke: revoke,
                accessTokenLifetime: config.identity.accessTokenLifetime)
            await database.shutdown()
            return result
        } catch {
            await database.shutdown()
            throw error
        }
    }
}
