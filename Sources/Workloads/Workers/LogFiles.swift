import Foundation

/// Files a workload's command hands back to aitip through its log: its sandbox may have no network, and its workspace
/// is gone once it ends, but its log is kept. A wrapper around the command prints each file on one line as
/// `aitip.file <name> <base64>`; the module that submitted the workload reads them back when it has ended. The log is
/// the job's own writing: whatever it prints there only ever becomes that job's results, and a reader says which of
/// the names it expects were printed more than once (code the job ran may have printed a line of its own).
package enum LogFiles {
    static let prefix = "aitip.file "

    /// A shell line that prints the file at `path` (relative to the workspace, a plain path the caller validated), if
    /// there is one, as the file `name`.
    package static func printing(_ name: String, at path: String) -> String {
        "if [ -f '\(path)' ]; then printf '\(prefix)\(name) '; base64 -w0 '\(path)'; echo; fi"
    }

    package struct Found: Sendable {
        /// By name; the last line of a name. A line that is not base64 gives an empty file.
        package var files: [String: Data] = [:]
        /// Names whose file was larger than the reader's limit (not decoded, not in `files`).
        package var oversized: Set<String> = []
        /// Names printed more than once.
        package var repeated: Set<String> = []
    }

    /// The files named `names` printed to the workload's log, each at most `maxBytes` (larger ones are not decoded,
    /// so a job printing huge or many lines cannot make the reader hold them). `each` sees every chunk of lines too.
    package static func read(
        from logs: LogHub, of workloadId: UUID, names: Set<String>, maxBytes: Int, each: ((Data) -> Void)? = nil
    ) async throws -> Found {
        var found = Found()
        var seen: Set<String> = []
        let longest = (maxBytes + 2) / 3 * 4
        try await logs.forEachLines(of: workloadId) { chunk in
            each?(chunk)
            for line in chunk.split(separator: 0x0A) where line.starts(with: prefix.utf8) {
                let rest = line.dropFirst(prefix.utf8.count)
                guard let space = rest.firstIndex(of: 0x20) else { continue }
                let name = String(decoding: rest[..<space], as: UTF8.self)
                guard names.contains(name) else { continue }
                if !seen.insert(name).inserted { found.repeated.insert(name) }
                let encoded = rest[(space + 1)...]
                if encoded.count > longest {
                    found.oversized.insert(name)
                    found.files[name] = nil
                } else {
                    found.oversized.remove(name)
                    found.files[name] = Data(base64Encoded: Data(encoded)) ?? Data()
                }
            }
        }
        return found
    }
}
