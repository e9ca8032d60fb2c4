import Foundation
import ObjectStore
import Testing
import Workloads

@Suite("A log read back as lines")
struct LogLinesTests {
    @Test("every line once and whole, however the log was written; a line longer than the limit is skipped, not held")
    func lines() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-loglines-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let logs = LogHub(store: try FileSystemObjectStore(root: root), flushBytes: 64)
        let id = UUID()
        _ = try await logs.open(id, attempt: 1)
        let long = String(repeating: "x", count: 500)
        for piece in ["first\nsec", "ond\n", long, long, "\nafter the long one\n", "last without newline"] {
            try await logs.append(id, Data(piece.utf8))
        }
        var lines: [String] = []
        try await logs.forEachLines(of: id, maxLine: 300) { chunk in
            lines += chunk.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(lines == ["first", "second", "after the long one", "last without newline"])
    }
}
