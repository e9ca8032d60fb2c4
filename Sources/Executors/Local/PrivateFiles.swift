import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// The server's own files around an attempt: created, written and read without following a link a job could have
// planted, and removed even where a job made its directories unreadable.
extension LocalExecutor {
    /// Creates `path` (mode 0700) if missing, owned by `owner` or by the server.
    static func makeDirectory(_ path: String, owner: Sandbox.User?) throws {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw ExecutorError("could not create \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { throw ExecutorError("\(path) is not a directory") }
        if let owner, info.st_uid != owner.uid || info.st_gid != owner.gid, chown(path, owner.uid, owner.gid) != 0 {
            throw ExecutorError("could not hand \(path) to the job's user: \(String(cString: strerror(errno)))")
        }
        chmod(path, 0o700)
    }

    /// Writes a new file only the server may read (unless `mode` says otherwise), never through a link.
    static func writePrivate(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        unlink(path)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw ExecutorError("could not write \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        fchmod(descriptor, mode) // the server's umask (077) must not narrow a file meant for the job to read
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, data.count) }
        guard written == data.count else { throw ExecutorError("could not write \(path)") }
    }

    /// At most `limit` bytes of a regular file, opened without following a link; nil when it cannot be read.
    static func readPrivate(_ path: String, limit: Int) -> Data? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var data = Data(count: limit)
        let count = data.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, limit) }
        guard count >= 0 else { return nil }
        data.count = count
        return data
    }

    /// Removes a tree a job may have shaped: links are removed, not followed, and directories the job made
    /// unreadable are opened up first (a server that is not root could not remove them otherwise).
    static func removeTree(_ path: String) {
        if (try? FileManager.default.removeItem(atPath: path)) != nil { return }
        var pending = [path]
        while let next = pending.popLast() {
            var info = stat()
            guard lstat(next, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
            chmod(next, 0o700)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: next)) ?? [] { pending.append("\(next)/\(name)") }
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}
