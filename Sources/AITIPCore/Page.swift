import Foundation

/// Where the next page of a native list starts: the sort key of the previous page's last item (an id; a time and an
/// id; a path; the position in a ranked result), opaque to clients (base64url) so its form can change without
/// breaking them. Every native list uses this one type; the MLflow-compatible routes keep MLflow's page tokens.
package struct Cursor: Sendable, Equatable {
    package let fields: [String]

    package init(_ fields: String...) {
        self.fields = fields
    }

    package init(after id: UUID) {
        self.init(id.lowercasedString)
    }

    /// A position in a ranked result (searches ordered by metrics, names, …).
    package init(offset: Int) {
        self.init(String(offset))
    }

    private static let version = "c1"
    private static let separator: Character = "\u{1F}"

    package var text: String {
        Data(([Self.version] + fields).joined(separator: String(Self.separator)).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Parses a cursor this API returned; anything else is a 422 naming `cursor`.
    package init(text: String) throws(AppError) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8) else { throw Self.invalid }
        let parts = decoded.split(separator: Self.separator, omittingEmptySubsequences: false).map(String.init)
        guard parts.first == Self.version, parts.count >= 2 else { throw Self.invalid }
        fields = Array(parts.dropFirst())
    }

    /// Parses the optional `cursor` query parameter of a list.
    package static func parse(_ text: String?) throws(AppError) -> Cursor? {
        guard let text, !text.isEmpty else { return nil }
        return try Cursor(text: text)
    }

    static let invalid = AppError.validation([FieldError(field: "cursor", message: "is not a cursor returned by this API")])

    package func uuid(_ index: Int) throws(AppError) -> UUID {
        guard index < fields.count, let id = UUID(uuidString: fields[index]) else { throw Self.invalid }
        return id
    }

    package func int(_ index: Int) throws(AppError) -> Int {
        guard index < fields.count, let value = Int(fields[index]), value >= 0 else { throw Self.invalid }
        return value
    }

    package func int64(_ index: Int) throws(AppError) -> Int64 {
        guard index < fields.count, let value = Int64(fields[index]) else { throw Self.invalid }
        return value
    }

    package func string(_ index: Int) throws(AppError) -> String {
        guard index < fields.count else { throw Self.invalid }
        return fields[index]
    }
}

/// Keyset paging by id: `?limit=&cursor=` in, `{items, next_cursor}` out; the cursor holds the last id of the
/// previous page.
package struct PageRequest: Sendable, Equatable {
    package static let defaultLimit = 50
    package static let maxLimit = 500

    package var limit: Int
    package var after: UUID?

    package init(limit: Int = PageRequest.defaultLimit, after: UUID? = nil) {
        self.limit = limit
        self.after = after
    }

    package init(limit: Int?, cursor: String?) throws(AppError) {
        self.init(limit: try Self.limit(limit), after: try Cursor.parse(cursor)?.uuid(0))
    }

    /// A requested page size, checked as the API declares it: nil is the default, outside 1...maxLimit is refused.
    package static func limit(_ requested: Int?) throws(AppError) -> Int {
        let limit = requested ?? defaultLimit
        guard (1...maxLimit).contains(limit) else {
            throw AppError.validation([FieldError(field: "limit", message: "must be between 1 and \(maxLimit)")])
        }
        return limit
    }
}

package struct Page<Item: Sendable>: Sendable {
    package var items: [Item]
    package var nextCursor: String?

    package init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// Builds a page from a query that fetched `limit + 1` rows: the extra row only says another page exists.
    package init(fetched: [Item], limit: Int, id: (Item) -> UUID) {
        if fetched.count > limit {
            let items = Array(fetched.prefix(limit))
            self.init(items: items, nextCursor: items.last.map { Cursor(after: id($0)).text })
        } else {
            self.init(items: fetched, nextCursor: nil)
        }
    }

    package func map<Other>(_ transform: (Item) throws -> Other) rethrows -> Page<Other> {
        Page<Other>(items: try items.map(transform), nextCursor: nextCursor)
    }
}
