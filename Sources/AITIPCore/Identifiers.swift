import Foundation
import Synchronization

/// Time-ordered UUIDs (RFC 9562 version 7): ids sort by creation time, so keyset paging by id is paging by age
/// and B-tree inserts stay append-mostly on both databases.
package enum IDGenerator {
    /// The last (milliseconds, counter) handed out: ids made in the same millisecond count up in the 12 `rand_a`
    /// bits (RFC 9562 §6.2 method 1), so ids of one process sort in creation order (e.g. a workload's transitions
    /// recorded in one transaction).
    private static let last = Mutex<(millis: UInt64, counter: UInt16)>((0, 0))

    package static func uuidV7(at date: Date = Date()) -> UUID {
        var random = SystemRandomNumberGenerator()
        let requested = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let (millis, counter) = last.withLock { state -> (UInt64, UInt16) in
            if requested > state.millis {
                state = (requested, UInt16.random(in: 0..<0x400, using: &random))
            } else if state.counter < 0xFFF {
                state.counter += 1
            } else {
                state = (state.millis + 1, 0)
            }
            return state
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index)))
        }
        for index in 8..<16 { bytes[index] = random.next() }
        bytes[6] = 0x70 | UInt8(counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}

extension IDGenerator {
    /// A random (version 4) UUID from the system's generator (`getrandom`). Foundation's `UUID()` opens
    /// /dev/urandom for every id on Linux, a system call too many on paths that make one per request.
    package static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        var bytes = (high.bigEndian, low.bigEndian)
        return withUnsafeMutableBytes(of: &bytes) { raw in
            raw[6] = (raw[6] & 0x0F) | 0x40
            raw[8] = (raw[8] & 0x3F) | 0x80
            return UUID(uuid: raw.load(as: uuid_t.self))
        }
    }
}

extension UUID {
    /// A version 7 id's time and counter, (milliseconds << 12) | counter: increases with every id this process
    /// makes, so it orders submissions even within one millisecond.
    package var v7Sequence: Int64 {
        let bytes = uuid
        var millis: Int64 = 0
        for byte in [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5] { millis = millis << 8 | Int64(byte) }
        return millis << 12 | Int64(bytes.6 & 0x0F) << 8 | Int64(bytes.7)
    }
}

/// A clock that tests can move; services never call `Date()` directly.
package protocol Clock: Sendable {
    func now() -> Date
}

extension Date {
    /// Epoch milliseconds: the time unit of tracking data (MLflow's wire format).
    package var epochMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    package init(epochMilliseconds: Int64) { self.init(timeIntervalSince1970: Double(epochMilliseconds) / 1000) }
}

package struct SystemClock: Clock {
    package init() {}
    package func now() -> Date { Date() }
}

extension UUID {
    private static let lowerDigits = Array("0123456789abcdef".utf8)
    private static let upperDigits = Array("0123456789ABCDEF".utf8)

    /// Ids go out in lowercase, the RFC 9562 canonical form. Formatted by hand: Foundation's `uuidString` goes
    /// through printf, which showed in profiles of large list responses.
    package var lowercasedString: String { formatted(Self.lowerDigits) }

    /// The text of Foundation's `uuidString` (upper case), without its printf: how SQLite keeps ids.
    package var uppercasedString: String { formatted(Self.upperDigits) }

    private func formatted(_ digits: [UInt8]) -> String {
        withUnsafeBytes(of: uuid) { raw in
            String(unsafeUninitializedCapacity: 36) { buffer in
                var position = 0
                for (index, byte) in raw.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = digits[Int(byte >> 4)]
                    buffer[position + 1] = digits[Int(byte & 0x0F)]
                    position += 2
                }
                return position
            }
        }
    }

    /// Parses the 36-character text form (either case) without Foundation's scanf-based parser, or an allocation.
    package init?(canonical text: String) {
        guard text.utf8.count == 36 else { return nil }
        guard let uuid = text.utf8.withContiguousStorageIfAvailable(Self.parse) ?? Array(text.utf8).withUnsafeBufferPointer(Self.parse)
        else { return nil }
        self.init(uuid: uuid)
    }

    private static func parse(_ text: UnsafeBufferPointer<UInt8>) -> uuid_t? {
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &uuid) { bytes -> Bool in
            var written = 0
            var high: UInt8?
            for position in text.indices {
                let char = text[position]
                if position == 8 || position == 13 || position == 18 || position == 23 {
                    guard char == UInt8(ascii: "-") else { return false }
                    continue
                }
                let nibble: UInt8
                switch char {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = char - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = char - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = char - UInt8(ascii: "A") + 10
                default: return false
                }
                if let value = high {
                    bytes[written] = value << 4 | nibble
                    written += 1
                    high = nil
                } else {
                    high = nibble
                }
            }
            return true
        }
        return parsed ? uuid : nil
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal, two digits per byte (digests, checksums).
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
