import Foundation
import Logging

/// One line per message on stderr, as plain text or as a JSON object (`log_format`).
///
/// Text is swift-log's `StreamLogHandler` format (`<time> <level> <label>: k=v … [<source>] <message>`); JSON has the
/// fields time, level, label, message and the metadata (request_id included). Metadata is formatted only when a line
/// is written: `StreamLogHandler` formats it again whenever a key is set, and every request sets its request id and
/// user while most requests log nothing.
package struct LineLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: AppConfig.LogFormat

    package init(label: String, format: AppConfig.LogFormat) {
        self.label = label
        self.format = format
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
        source: String, file: String, function: String, line: UInt
    ) {
        let merged = explicit.map { metadata.merging($0, uniquingKeysWith: { $1 }) } ?? metadata
        switch format {
        case .text:
            let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            let text = "\(Self.localTimestamp()) \(level)\(label.isEmpty ? "" : " ")\(label):\(fields) [\(source)] \(message)\n"
            FileHandle.standardError.write(Data(text.utf8))
        case .json:
            var fields: [String: String] = [
                "time": Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)),
                "level": level.rawValue, "label": label, "message": message.description,
            ]
            for (key, value) in merged { fields[key] = "\(value)" }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard var data = try? encoder.encode(fields) else { return }
            data.append(0x0A)
            FileHandle.standardError.write(data)
        }
    }

    /// Local time to the second with the zone offset, as `StreamLogHandler` writes it.
    static func localTimestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
