import Foundation

/// Time-ordered UUIDs (RFC 9562 version 7): ids sort by creation time, so keyset paging by id is paging by age
/// and B-tree inserts stay append-mostly on both databases.
public enum IDGenerator {
    public static func uuidV7(at date: Date = Date()) -> UUID {
        let millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index)))
        }
        var random = SystemRandomNumberGenerator()
        for index in 6..<16 { bytes[index] = random.next() }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}

/// A clock that tests can move; services never call `Date()` directly.
public protocol Clock: Sendable {
    func now() -> Date
}

public struct SystemClock: Clock {
    public init() {}
    public func now() -> Date { Date() }
}

extension UUID {
    /// Ids go out in lowercase, the RFC 9562 canonical form.
    public var lowercasedString: String { uuidString.lowercased() }
}
