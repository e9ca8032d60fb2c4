import Foundation
import OpenAPIRuntime
import Synchronization

/// RFC 3339 timestamps with or without fractional seconds on input (browsers send milliseconds, many tools do
/// not); milliseconds on output, in UTC.
final class LenientISO8601Transcoder: DateTranscoder {
    private let formatters = Mutex((fractional: ISO8601DateFormatter(), whole: ISO8601DateFormatter()))

    init() {
        formatters.withLock { pair in
            pair.fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            pair.whole.formatOptions = [.withInternetDateTime]
        }
    }

    func encode(_ date: Date) throws -> String {
        formatters.withLock { $0.fractional.string(from: date) }
    }

    func decode(_ text: String) throws -> Date {
        let parsed = formatters.withLock { $0.whole.date(from: text) ?? $0.fractional.date(from: text) }
        guard let parsed else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "'\(text.prefix(40))' is not an RFC 3339 timestamp such as 2026-01-31T12:00:00Z"))
        }
        return parsed
    }
}
