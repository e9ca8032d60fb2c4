import Foundation

/// Ray's `runtime_env.working_dir` takes a zip; aitip stores code as .tar.gz. The package is unpacked with the
/// system `tar` into a scratch directory and written back as a zip with stored (uncompressed) entries — the
/// format's simplest valid form, enough for Ray to unpack.
enum ZipArchive {
    static func zip(fromTarGz archive: Data) throws -> Data {
        let files = FileManager.default
        let scratch = files.temporaryDirectory.appendingPathComponent("aitip-zip-\(UUID().uuidString)")
        try files.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? files.removeItem(at: scratch) }
        let tarball = scratch.appendingPathComponent("code.tar.gz")
        let tree = scratch.appendingPathComponent("tree")
        try files.createDirectory(at: tree, withIntermediateDirectories: true)
        try archive.write(to: tarball)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-xzf", tarball.path, "-C", tree.path, "--no-same-owner", "--no-same-permissions"]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw ExecutorError("the code package is not a readable .tar.gz") }
        var entries: [(path: String, data: Data)] = []
        let base = tree.standardizedFileURL.path
        if let walker = files.enumerator(atPath: base) {
            for case let relative as String in walker {
                let full = "\(base)/\(relative)"
                var isDirectory: ObjCBool = false
                guard files.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                    (try? files.destinationOfSymbolicLink(atPath: full)) == nil
                else { continue }
                entries.append((relative, try Data(contentsOf: URL(fileURLWithPath: full))))
            }
        }
        return write(entries.sorted { $0.path < $1.path })
    }

    static func write(_ entries: [(path: String, data: Data)]) -> Data {
        var output = Data()
        var central = Data()
        for entry in entries {
            let name = Data(entry.path.utf8)
            let crc = crc32(entry.data)
            let offset = UInt32(output.count)
            output.append(le32(0x0403_4b50))
            output.append(le16(20)); output.append(le16(0x0800)); output.append(le16(0)) // version, UTF-8 names, stored
            output.append(le16(0)); output.append(le16(0x21)) // time, date (1980-01-01)
            output.append(le32(crc)); output.append(le32(UInt32(entry.data.count))); output.append(le32(UInt32(entry.data.count)))
            output.append(le16(UInt16(name.count))); output.append(le16(0))
            output.append(name)
            output.append(entry.data)
            central.append(le32(0x0201_4b50))
            central.append(le16(0x031E)); central.append(le16(20)); central.append(le16(0x0800)); central.append(le16(0))
            central.append(le16(0)); central.append(le16(0x21))
            central.append(le32(crc)); central.append(le32(UInt32(entry.data.count))); central.append(le32(UInt32(entry.data.count)))
            central.append(le16(UInt16(name.count))); central.append(le16(0)); central.append(le16(0))
            central.append(le16(0)); central.append(le16(0)); central.append(le32(0o100644 << 16))
            central.append(le32(offset))
            central.append(name)
        }
        let centralOffset = UInt32(output.count)
        output.append(central)
        output.append(le32(0x0605_4b50)); output.append(le16(0)); output.append(le16(0))
        output.append(le16(UInt16(entries.count))); output.append(le16(UInt16(entries.count)))
        output.append(le32(UInt32(central.count))); output.append(le32(centralOffset)); output.append(le16(0))
        return output
    }

    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static func le16(_ value: UInt16) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
    private static func le32(_ value: UInt32) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
}
