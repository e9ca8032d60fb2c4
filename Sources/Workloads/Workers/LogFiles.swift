import Foundation

/// Files a workload's command hands back to aitip through its log: its sandbox may have no network, and its workspace
/// is gone once it ends, but its log is kept. A wrapper around the command prints each file on one line as
/// `aitip.file <name> <base64>`; the module that submitted the workload reads them back when it has ended. The log is
/// the job's own writing: whatever it prints there only ever becomes that job's results.
package enum LogFiles {
    static let prefix = "aitip.file "

    /// A shell line that prints the file at `path` (relative to the workspace, a plain path the caller validated), if
    /// there is one, as the file `name`.
    package static func printing(_ name: String, at path: String) -> String {
        "if [ -f '\(path)' ]; then printf '\(prefix)\(name) '; base64 -w0 '\(path)'; echo; fi"
    }

    /// The files printed to the workload's log, by name (a name printed twice: the last one). A line that is not
    /// base64 gives an empty file rather than none, so that a reader can say it was malformed.
    package static func read(from logs: LogHub, of workloadId: UUID, each: ((Data) -> Void)? = nil) async throws -> [String: Data] {
        var found: [String: Data] = [:]
        try await logs.forEachLines(of: workloadId) { chunk in
            each?(chunk)
            for line in chunk.split(separator: 0x0A) where line.starts(with: prefix.utf8) {
                let rest = line.dropFirst(prefix.utf8.count)
                guard let space = rest.firstIndex(of: 0x20) else { continue }
                found[String(decoding: rest[..<space], as: UTF8.self)] = Data(base64Encoded: Data(rest[(space + 1)...])) ?? Data()
            }
        }
        return found
    }
}
