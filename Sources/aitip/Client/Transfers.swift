import AITIPAPI
import AITIPClient
import AITIPCore
import Crypto
import Foundation
import OpenAPIRuntime

/// Large bodies between a file on disk and the server, 1 MiB at a time: memory stays flat whatever the size.
extension APIClient {
    static let transferChunk = 1 << 20

    /// Appends `length` bytes of `file` from `offset` to an upload, reporting each MiB to `progress`.
    func append(
        upload: String, file: URL, offset: Int64, length: Int64,
        progress: @escaping @Sendable (Int) -> Void
    ) async throws -> Components.Schemas.Upload {
        let reader = try FileRangeReader(file: file, offset: offset, length: length, chunk: Self.transferChunk, progress: progress)
        let body = HTTPBody(
            AsyncThrowingStream<ArraySlice<UInt8>, any Error>(unfolding: { try reader.next() }), length: .known(length),
            iterationBehavior: .single)
        return try await transfers.appendDatasetUpload(path: .init(uploadId: upload), headers: .init(uploadOffset: offset), body: .binary(body))
            .ok.body.json
    }

    /// Downloads one file of a dataset version into `file` (written beside it, then renamed), hashing it on the way;
    /// returns its sha256.
    func download(dataset: String, version: String, path: String, to file: URL, progress: @escaping @Sendable (Int) -> Void) async throws -> String {
        let content = try await transfers.downloadDatasetVersion(path: .init(datasetId: dataset, version: version), query: .init(path: path))
            .ok.body.binary
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let partial = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).aitip-part")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil), let handle = FileHandle(forWritingAtPath: partial.path) else {
            throw CLIError(message: "Cannot write \(partial.path)", exitCode: 1)
        }
        var hasher = SHA256()
        do {
            for try await chunk in content {
                hasher.update(data: chunk)
                try handle.write(contentsOf: chunk)
                progress(chunk.count)
            }
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: partial)
            throw CLIError(message: "The download of \(file.lastPathComponent) broke off: \(error)", exitCode: 4)
        }
        let digest = hasher.finalize().hexString
        _ = try? FileManager.default.removeItem(at: file)
        try FileManager.default.moveItem(at: partial, to: file)
        return digest
    }
}

/// Reads `length` bytes of a file from `offset` in chunks, for a streamed request body.
final class FileRangeReader: @unchecked Sendable {
    private let handle: FileHandle
    private var remaining: Int64
    private let chunk: Int
    private let progress: @Sendable (Int) -> Void

    init(file: URL, offset: Int64, length: Int64, chunk: Int, progress: @escaping @Sendable (Int) -> Void) throws {
        handle = try FileHandle(forReadingFrom: file)
        try handle.seek(toOffset: UInt64(offset))
        remaining = length
        self.chunk = chunk
        self.progress = progress
    }

    func next() throws -> ArraySlice<UInt8>? {
        guard remaining > 0 else {
            try? handle.close()
            return nil
        }
        let data = try handle.read(upToCount: Int(min(Int64(chunk), remaining))) ?? Data()
        guard !data.isEmpty else { throw CLIError(message: "The file got shorter while it was being sent", exitCode: 1) }
        remaining -= Int64(data.count)
        progress(data.count)
        return ArraySlice(data)
    }

    deinit { try? handle.close() }
}

/// Bytes, rate and time left on stderr: redrawn in place on a terminal, a line per tenth otherwise (logs).
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let total: Int64
    private var done: Int64 = 0
    /// Bytes that needed no transfer (already on the server or on disk): counted as done, not in the rate.
    private var skipped: Int64 = 0
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var lastTenth: Int64 = -1
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) == 1

    init(_ label: String, total: Int64, alreadyDone: Int64 = 0) {
        self.label = label
        self.total = max(total, 0)
        self.done = alreadyDone
    }

    func advance(_ bytes: Int) {
        guard bytes > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        done += Int64(bytes)
        let now = Date()
        if isTerminal {
            guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r" + line(now)).utf8))
        } else if total > 0 {
            let tenth = done * 10 / total
            guard tenth != lastTenth else { return }
            lastTenth = tenth
            FileHandle.standardError.write(Data((line(now) + "\n").utf8))
        }
    }

    func skip(_ bytes: Int64) {
        lock.lock()
        skipped += bytes
        lock.unlock()
        advance(Int(bytes))
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        // Says how much was resumed rather than sent: what a user (and the end-to-end check) tells a resumed push by.
        let resumed = skipped > 0 ? "\(Self.bytes(skipped)) already on the server" : nil
        let text =
            if isTerminal {
                "\r\(line(Date()))\(resumed.map { ", " + $0 } ?? "")\n"
            } else if lastTenth == 10 {
                resumed.map { "\(label): \($0)\n" } ?? ""
            } else {
                "\(line(Date()))\(resumed.map { ", " + $0 } ?? "")\n"
            }
        FileHandle.standardError.write(Data(text.utf8))
    }

    private func line(_ now: Date) -> String {
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(done - skipped) / elapsed
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int(fraction * 20)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled)
        let left = rate > 0 && total > done ? Double(total - done) / rate : 0
        return
            "\(label) [\(bar)] \(Int(fraction * 100))% \(Self.bytes(done))/\(Self.bytes(total)) \(Self.bytes(Int64(rate)))/s ETA \(Int(left.rounded()))s"
    }

    static func bytes(_ value: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1_000, unit < units.count - 1 { amount /= 1_000; unit += 1 }
        return unit == 0 ? "\(value) B" : String(format: "%.1f %@", amount, units[unit])
    }
}

/// A report (PDF or HTML) written to a file as it arrives in full.
enum ReportFile {
    static func save(_ body: HTTPBody, to file: String) async throws {
        let data = try await Data(collecting: body, upTo: 256 << 20)
        try data.write(to: URL(fileURLWithPath: file))
        FileHandle.standardError.write(Data("Wrote \(file) (\(data.count) bytes)\n".utf8))
    }
}
