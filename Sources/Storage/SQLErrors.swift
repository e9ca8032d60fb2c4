import AITIPCore
import PostgresKit
import SQLiteKit

/// Dialect-specific error inspection, kept here so feature modules never look at driver errors.
package enum SQLErrors {
    /// True when `error` is a UNIQUE (or PRIMARY KEY) constraint violation, on either database.
    package static func isUniqueViolation(_ error: any Error) -> Bool {
        if let sqlite = error as? SQLiteFailure {
            return sqlite.code == SQLiteFailure.uniqueViolation || sqlite.code == SQLiteFailure.primaryKeyViolation
        }
        if let sqlite = error as? SQLiteError {
            return sqlite.reason == .constraintUniqueFailed || sqlite.reason == .constraintPrimaryKeyFailed
                || sqlite.message.contains("UNIQUE constraint failed")
        }
        if let postgres = error as? PSQLError {
            return postgres.serverInfo?[.sqlState] == "23505"
        }
        return false
    }

    /// The name of the violated constraint or column list, when the driver reports it (for messages only).
    package static func constraintDescription(_ error: any Error) -> String {
        if let sqlite = error as? SQLiteFailure { return sqlite.message }
        if let sqlite = error as? SQLiteError { return sqlite.message }
        if let postgres = error as? PSQLError { return postgres.serverInfo?[.constraintName] ?? "" }
        return ""
    }
}
