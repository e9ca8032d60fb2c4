import Foundation

/// Keyset paging: `?limit=&cursor=` in, `{items, next_cursor}` out. The cursor is the last id of the previous page,
/// opaque to clients (base64url) so its form can change without breaking them.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 50
    public static let maxLimit = 500

    public var limit: Int
    public var after: UUID?

    public init(limit: Int = PageRequest.defaultLimit, after: UUID? = nil) {
        self.limit = limit
        self.after = after
    }

    public init(limit: Int?, cursor: String?) throws(AppError) {
        var validator = Validator()
        let limit = limit ?? Self.defaultLimit
        validator.check((1...Self.maxLimit).contains(limit), "limit", "must be between 1 and \(Self.maxLimit)")
        var after: UUID?
        if let cursor, !cursor.isEmpty {
            after = Self.decode(cursor)
            validator.check(after != nil, "cursor", "is not a cursor returned by this API")
        }
        try validator.finish()
        self.init(limit: limit, after: after)
    }

    public static func encode(_ id: UUID) -> String {
        Data(id.uuidString.lowercased().utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) -> UUID? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        return UUID(uuidString: text)
    }
}

public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// Builds a page from a query that fetched `limit + 1` rows: the extra row only says another page exists.
    public init(fetched: [Item], limit: Int, id: (Item) -> UUID) {
        if fetched.count > limit {
            let items = Array(fetched.prefix(limit))
            self.init(items: items, nextCursor: items.last.map { PageRequest.encode(id($0)) })
        } else {
            self.init(items: fetched, nextCursor: nil)
        }
    }

    public func map<Other>(_ transform: (Item) throws -> Other) rethrows -> Page<Other> {
        Page<Other>(items: try items.map(transform), nextCursor: nextCursor)
    }
}
