import Foundation

/// What `aitip login` saves: the server and the tokens, in a file only the user can read (0600).
struct SavedCredentials: Codable {
    var server: String
    var accessToken: String
    var refreshToken: String?
    var username: String?

    enum CodingKeys: String, CodingKey {
        case server
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case username
    }

    /// `$XDG_CONFIG_HOME/aitip/credentials.json`, else `$HOME/.config/…`: the environment first, as every shell tool
    /// does (Foundation's home directory on Linux is the password database's, whatever `HOME` says).
    static var fileURL: URL {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        let base =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) } ?? home.appendingPathComponent(".config")
        return base.appendingPathComponent("aitip").appendingPathComponent("credentials.json")
    }

    static func load() -> SavedCredentials? {
        guard let data = try? Data(contentsOf: fileURL) else { return nil }
        return try? JSONDecoder().decode(SavedCredentials.self, from: data)
    }

    func save() throws {
        let url = Self.fileURL
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        // Create with 0600 before writing, so the tokens are never readable by others, not even briefly.
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        try data.write(to: url)
    }

    static func remove() throws {
        if FileManager.default.fileExists(atPath: fileURL.path) { try FileManager.default.removeItem(at: fileURL) }
    }
}
