package import Foundation
package import OpenAPIRuntime
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension Configuration {
    /// How the server and the generated client both read and write the API's JSON: sorted keys (the same body gives
    /// the same bytes, which an Idempotency-Key compares) and lenient RFC 3339 timestamps.
    package static let aitip = Configuration(dateTranscoder: LenientISO8601Transcoder(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])
}

/// RFC 3339 timestamps with or without fractional seconds on input (browsers send milliseconds, many tools do
/// not); milliseconds on output, in UTC.
package final class LenientISO8601Transcoder: DateTranscoder {
    // ISO8601DateFormatter is not thread-safe; input timestamps are rare enough for one lock.
    private let formatters = Mutex((fractional: ISO8601DateFormatter(), whole: ISO8601DateFormatter()))

    package init() {
        formatters.withLock { pair in
            pair.fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            pair.whole.formatOptions = [.withInternetDateTime]
        }
    }

    /// Formatted by hand: list responses carry two timestamps per item, and a formatter call per timestamp
    /// showed up in profiles of list requests.
    package func encode(_ date: Date) throws -> String {
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(totalMillis >= 0 ? totalMillis / 1000 : (totalMillis - 999) / 1000)
        let millis = Int(totalMillis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(48 + rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); bytes.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); bytes.append(UInt8(ascii: "."))
        digits(millis, 3); bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    package func decode(_ text: String) throws -> Date {
        let parsed = formatters.withLock { $0.whole.date(from: text) ?? $0.fractional.date(from: text) }
        guard let parsed else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "'\(text.prefix(40))' is not an RFC 3339 timestamp such as 2026-01-31T12:00:00Z"))
        }
        return parsed
    }
}
