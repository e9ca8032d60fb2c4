import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The disk space a directory tree takes (allocated blocks, as `du` counts them: a sparse file costs what it
/// holds) and how many entries it has. Links are never followed and nothing is opened but directories, so a tree a
/// job built cannot send the walk elsewhere; a tree with more than `maxEntries` entries stops the walk early (the
/// caller treats it as over its limit).
struct DiskUsage: Equatable {
    var bytes: Int64 = 0
    var entries: Int = 0

    static func of(_ paths: [String], maxEntries: Int) -> DiskUsage {
        var usage = DiskUsage()
        var pending = paths
        while let path = pending.popLast() {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            usage.bytes += Int64(info.st_blocks) * 512
            usage.entries += 1
            guard info.st_mode & S_IFMT == S_IFDIR, let directory = opendir(path) else { continue }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
                if name == "." || name == ".." { continue }
                guard usage.entries + pending.count < maxEntries else {
                    usage.entries = maxEntries + 1
                    return usage
                }
                pending.append("\(path)/\(name)")
            }
        }
        return usage
    }
}
