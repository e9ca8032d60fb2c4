import AITIPCore
import Foundation

/// Where the metadata lives: `sqlite:///abs/path.db`, `sqlite://relative.db`, or `postgres://user:pass@host:port/db`.
package enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    package init(parsing text: String) throws(AppError) {
        if text.hasPrefix("sqlite://") {
            let path = String(text.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw AppError.badRequest("The SQLite database URL has no file path: \(text)") }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            guard URL(string: text)?.host != nil else {
                throw AppError.badRequest("The PostgreSQL URL must look like postgres://user:password@host:5432/database")
            }
            self = .postgres(url: text)
        } else {
            throw AppError.badRequest("Unsupported database URL '\(Self.redact(text))': use sqlite://PATH or postgres://…")
        }
    }

    package var dialect: Dialect {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres
        }
    }

    /// The URL with any password replaced, safe for logs.
    package var description: String {
        switch self {
        case .sqlite(let path): "sqlite://\(path)"
        case .postgres(let url): Self.redact(url)
        }
    }

    static func redact(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "postgres://***"
    }
}

package enum Dialect: String, Sendable {
    case sqlite, postgres
}
