import Foundation
import Testing

@testable import Datasets

@Suite("Data profiles and version tars")
struct ProfileAndTarTests {
    func profile(_ profiler: some StreamingProfiler, _ text: String, chunk: Int) -> DataProfile {
        var profiler = profiler
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            bytes[start..<min(start + chunk, bytes.count)].withUnsafeBytes { profiler.feed($0) }
        }
        return profiler.finish()
    }

    @Test("csv: quoted commas, quotes and newlines; types, nulls, min/max/mean; any chunking", arguments: [1, 3, 4_096])
    func csv(chunk: Int) {
        let text = "id,name,score,ok\r\n1,\"Smith, \"\"J\"\"\",0.5,true\r\n2,\"two\nlines\",,false\r\n3,c,2.5,TRUE\r\n"
        let result = profile(CSVProfiler(), text, chunk: chunk)
        #expect(result.error == nil)
        #expect(result.rows == 3)
        #expect(result.columns.map(\.name) == ["id", "name", "score", "ok"])
        #expect(result.columns.map(\.type) == ["integer", "string", "number", "boolean"])
        #expect(result.columns[2].nulls == 1)
        #expect(result.columns[2].min == 0.5 && result.columns[2].max == 2.5 && result.columns[2].mean == 1.5)
        #expect(result.columns[0].mean == 2)
    }

    @Test("csv: a ragged row or an unclosed quote stops profiling and says where")
    func malformedCSV() {
        #expect(profile(CSVProfiler(), "a,b\n1,2\n3\n", chunk: 64).error == "line 3: 1 fields where the header has 2")
        #expect(profile(CSVProfiler(), "a,b\n1,\"open\n", chunk: 64).error?.contains("not closed") == true)
    }

    @Test("jsonl: keys become columns; missing keys count as nulls; a bad line is reported", arguments: [2, 4_096])
    func jsonl(chunk: Int) {
        let result = profile(JSONLinesProfiler(), "{\"a\":1,\"b\":\"x\"}\n{\"a\":2.5}\n\n{\"a\":null,\"c\":[1]}\n", chunk: chunk)
        #expect(result.rows == 3)
        #expect(result.columns.map(\.name) == ["a", "b", "c"])
        #expect(result.columns.map(\.type) == ["number", "string", "array"])
        #expect(result.columns[0].nulls == 1 && result.columns[1].nulls == 2)
        #expect(profile(JSONLinesProfiler(), "{\"a\":1}\n[1,2]\n", chunk: chunk).error == "line 2: not a JSON object")
    }

    @Test("profiles of several files merge by column name")
    func merge() throws {
        let first = profile(CSVProfiler(), "a,b\n1,x\n2,y\n", chunk: 100)
        let second = profile(CSVProfiler(), "a,c\n3.5,z\n", chunk: 100)
        let merged = try #require(DataProfile.merge([first, second]))
        #expect(merged.rows == 3)
        #expect(merged.columns.map(\.name) == ["a", "b", "c"])
        #expect(merged.columns[0].type == "number" && merged.columns[0].max == 3.5)
        #expect(merged.columns[1].nulls == 1) // b: absent from the second file's row
        #expect(merged.columns[2].nulls == 2) // c: absent from the first file's two rows
    }

    @Test("dataset file paths cannot escape a version", arguments: ["../x", "/etc/passwd", "a/../../b", "a//b", "./a", "a\\b", "", "a\nb", "a/."])
    func paths(path: String) {
        #expect(throws: (any Error).self) { try Manifest.checkPath(path) }
    }

    @Test("the tar is read back by GNU tar, long paths included, with the length announced beforehand")
    func tar() throws {
        let long = String(repeating: "deep/", count: 40) + "file.txt"
        let files: [(String, String)] = [("a.csv", "x,y\n1,2\n"), ("dir/b.bin", String(repeating: "z", count: 1_000)), (long, "long"), ("empty", "")]
        var archive: [UInt8] = []
        for (path, content) in files {
            archive += TarFormat.headers(for: path, size: Int64(content.utf8.count), modified: 1_700_000_000)
            archive += Array(content.utf8)
            archive += [UInt8](repeating: 0, count: TarFormat.padding(after: Int64(content.utf8.count)))
        }
        archive += TarFormat.end
        let manifest = files.map { DatasetFile(path: $0.0, sizeBytes: Int64($0.1.utf8.count), sha256: String(repeating: "0", count: 64)) }
        #expect(Int64(archive.count) == TarFormat.length(of: manifest))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(archive).write(to: directory.appendingPathComponent("v.tar"))
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-xf", "v.tar"]
        tar.currentDirectoryURL = directory
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        for (path, content) in files {
            #expect(try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8) == content, "\(path)")
        }
    }
}
