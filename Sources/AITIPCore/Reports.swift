import Foundation
import Synchronization

/// Text for HTML pages aitip writes (reports): everything a user named is escaped, so it is shown, never run.
package enum HTMLText {
    package static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Epoch milliseconds as an RFC 3339 UTC time.
    package static func timestamp(_ ms: Int64) -> String {
        Date(timeIntervalSince1970: Double(ms) / 1_000).formatted(.iso8601)
    }

    /// A whole report page around `body`: one style sheet, and a Content-Security-Policy that lets it run no script
    /// and load nothing.
    package static func document(title: String, body: String) -> String {
        """
        <!doctype html><html><head><meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <title>\(escape(title))</title>
        <style>
        body{font:13px/1.45 system-ui,sans-serif;color:#1b1f24;margin:28px}h1{font-size:20px;margin:0 0 4px}
        h2{font-size:15px;margin:22px 0 6px}table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
        th{background:#f3f5f7}.num{text-align:right;font-variant-numeric:tabular-nums}.pass{color:#116329;font-weight:600}
        .fail{color:#b42318;font-weight:600}.muted{color:#656d76}svg text{font:11px system-ui,sans-serif}
        </style></head><body>
        \(body)</body></html>

        """
    }
}

/// HTML to PDF with headless Chromium, in a scratch directory of its own (profile included), within a time limit.
/// The page runs no script and loads nothing: its Content-Security-Policy is `default-src 'none'` (and every text in
/// it is escaped). Disabling scripts with a flag instead stops Chromium from printing at all.
package struct PDFPrinter: Sendable {
    package let chromium: String
    package var timeout: Duration = .seconds(60)
    /// Chromium processes printing at once, server-wide: each takes a core and a few hundred MB for a second or two,
    /// so a burst of report requests is answered 503 (with Retry-After) rather than starting one browser per request.
    static let maxConcurrent = 2
    static let printing = Mutex(0)

    package init(chromium: String) {
        self.chromium = chromium
    }

    package func pdf(of html: String) async throws -> Data {
        let admitted = Self.printing.withLock { count in
            guard count < Self.maxConcurrent else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw AppError(.unavailable, "\(Self.maxConcurrent) reports are being printed; ask again in a moment", retryAfterSeconds: 2)
        }
        defer { Self.printing.withLock { $0 -= 1 } }
        let files = FileManager.default
        let scratch = files.temporaryDirectory.appendingPathComponent("aitip-pdf-\(UUID().uuidString)")
        try files.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? files.removeItem(at: scratch) }
        let page = scratch.appendingPathComponent("report.html")
        let output = scratch.appendingPathComponent("report.pdf")
        try Data(html.utf8).write(to: page)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
            "--user-data-dir=\(scratch.appendingPathComponent("profile").path)", "--print-to-pdf=\(output.path)", page.absoluteString,
        ]
        process.environment = ["HOME": scratch.path, "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let ended = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in
                continuation.yield(); continuation.finish()
            }
        }
        try process.run()
        let timeout = self.timeout
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in ended { return true }; return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout); return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        if !finished {
            process.terminate()
            throw AppError(.unavailable, "Chromium did not print the report within \(timeout)")
        }
        guard process.terminationStatus == 0, let data = try? Data(contentsOf: output), data.starts(with: Data("%PDF".utf8)) else {
            throw AppError(.unavailable, "Chromium could not print the report (exit status \(process.terminationStatus))")
        }
        return data
    }
}

/// The forms a report is served in.
package enum ReportFormat: String, Sendable {
    case html, pdf

    /// The page as asked: HTML as it is, or printed by `chromium` (refused with the reason when there is none).
    package func render(_ page: String, chromium: String?) async throws -> Data {
        switch self {
        case .html:
            return Data(page.utf8)
        case .pdf:
            guard let chromium else {
                throw AppError(
                    .unavailable, "PDF reports need Chromium on the server (setting chromium / AITIP_CHROMIUM); the HTML report is at ?format=html")
            }
            return try await PDFPrinter(chromium: chromium).pdf(of: page)
        }
    }
}
