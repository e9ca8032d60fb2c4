import AITIPCore
import Crypto
import Foundation

/// Rules for what a version may contain, and its canonical text.
package enum Manifest {
    package static let maxPathBytes = 1_024
    package static let maxFiles = 1_000_000

    /// A file path inside a version: relative, '/'-separated, no empty, '.' or '..' segment, no backslash or
    /// control character. Checked on every write, so no download can address anything outside the version.
    package static func checkPath(_ path: String) throws(AppError) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= maxPathBytes, !path.hasPrefix("/"),
            segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
            !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\\" || $0.value == 0x7F })
        else {
            throw AppError.badRequest(
                "'\(String(path.prefix(120)).debugDescription.dropFirst().dropLast())' is not a valid file path in a dataset: use a relative path with '/' between names, without '..', '.', empty names, backslashes or control characters"
            )
        }
    }

    /// 1-64 of letters, digits, '.', '_' and '-' (v1, 2026-11-01, v2.1-clean).
    package static func isVersionName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            && name != "." && name != ".."
    }

    package static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// `<sha256>  <size>  <path>\n` per file, sorted by path: the version's checksum is its sha256.
    package static func checksum(_ files: [DatasetFile]) -> String {
        var hasher = SHA256()
        for file in files.sorted(by: { $0.path < $1.path }) {
            hasher.update(data: Data("\(file.sha256)  \(file.sizeBytes)  \(file.path)\n".utf8))
        }
        return hasher.finalize().hexString
    }
}

/// A whole version as one uncompressed tar (POSIX ustar, pax headers for long paths), streamed file by file.
/// Its length is known before the first byte, so downloads carry Content-Length.
package enum TarFormat {
    package static let block = 512

    package static func length(of files: [DatasetFile]) -> Int64 {
        files.reduce(Int64(2 * block)) { total, file in
            total + Int64(headers(for: file.path, size: file.sizeBytes, modified: 0).count) + padded(file.sizeBytes)
        }
    }

    static func padded(_ size: Int64) -> Int64 { (size + Int64(block) - 1) / Int64(block) * Int64(block) }

    /// Zero bytes that end a file's data on a block boundary.
    package static func padding(after size: Int64) -> Int { Int(padded(size) - size) }

    package static var end: [UInt8] { [UInt8](repeating: 0, count: 2 * block) }

    /// The header block(s) before a file's data: a pax header first when the path does not fit ustar's fields.
    package static func headers(for path: String, size: Int64, modified: Int64) -> [UInt8] {
        let maxOctalSize: Int64 = 0o77777777777
        if size <= maxOctalSize, let (prefix, name) = split(path) {
            return header(name: name, prefix: prefix, size: size, type: UInt8(ascii: "0"), modified: modified)
        }
        var record = paxRecord("path", path)
        if size > maxOctalSize { record += paxRecord("size", String(size)) }
        var bytes = header(
            name: "PaxHeaders/" + String(path.utf8.suffix(80).map { Character(Unicode.Scalar($0 < 0x80 ? $0 : 0x5F)) }),
            prefix: "", size: Int64(record.count), type: UInt8(ascii: "x"), modified: modified)
        bytes += record
        bytes += [UInt8](repeating: 0, count: padding(after: Int64(record.count)))
        let short = String(path.split(separator: "/").last ?? "file").utf8.prefix(99)
        bytes += header(
            name: String(decoding: short, as: UTF8.self), prefix: "", size: min(size, maxOctalSize), type: UInt8(ascii: "0"),
            modified: modified)
        return bytes
    }

    /// ustar keeps up to 100 bytes of name and 155 of prefix, split at a '/'.
    static func split(_ path: String) -> (String, String)? {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return ("", path) }
        guard bytes.count <= 256 else { return nil }
        for index in stride(from: min(155, bytes.count - 1), through: 1, by: -1) where bytes[index] == UInt8(ascii: "/") {
            let name = bytes[(index + 1)...]
            if name.count <= 100, !name.isEmpty { return (String(decoding: bytes[..<index], as: UTF8.self), String(decoding: name, as: UTF8.self)) }
        }
        return nil
    }

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length = String(length).count + body.utf8.count }
        return Array("\(length)\(body)".utf8)
    }

    static func header(name: String, prefix: String, size: Int64, type: UInt8, modified: Int64) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: Self.block)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int64, at offset: Int, width: Int) {
            put(String(String(value, radix: 8).suffix(width - 1)).leftPadded(to: width - 1), at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(modified, at: 136, width: 12)
        block[156] = type
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put(prefix, at: 345, width: 155)
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(String(sum, radix: 8)).leftPadded(to: 6), at: 148, width: 6)
        block[154] = 0
        block[155] = UInt8(ascii: " ")
        return block
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
