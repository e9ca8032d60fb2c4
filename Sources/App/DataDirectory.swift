import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The server's files are its own: everything it creates is private to its user (umask 077), and the data directory,
/// an embedded database and the object store's root made by an earlier version with looser modes are tightened at
/// every start. (The database holds password hashes, session and API-key digests and the token signing keys.)
package enum DataDirectory {
    package static func secure(_ config: AppConfig) throws {
        umask(0o077)
        let files = FileManager.default
        try files.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(config.dataDirectory, 0o700)
        if config.databaseURL.hasPrefix("sqlite://") {
            let database = String(config.databaseURL.dropFirst("sqlite://".count))
            for suffix in ["", "-wal", "-shm", "-journal"] where files.fileExists(atPath: database + suffix) {
                chmod(database + suffix, 0o600)
            }
        }
        if config.objectStoreURL.hasPrefix("file://") {
            let root = String(config.objectStoreURL.dropFirst("file://".count))
            if files.fileExists(atPath: root) { chmod(root, 0o700) }
        }
    }
}
