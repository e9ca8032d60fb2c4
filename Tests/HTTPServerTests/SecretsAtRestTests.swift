import AITIPCore
import AITIPTestSupport
import App
import Crypto
import Foundation
import SQLKit
import Testing

@testable import Identity

#if canImport(Glibc)
    import Glibc
#endif

/// Finding 6 of the security review: the server's files are private, and the token signing key can rotate.
@Suite("Security review: secrets at rest")
struct SecretsAtRestTests {
    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test("finding 6: the data directory is 0700 and the database, its WAL and stored objects 0600")
    func privateFiles() async throws {
        try await withApp(.sqlite) { app in
            let token = try await app.adminToken()
            let experiment = try await app.call(.post, "/api/2.0/mlflow/experiments/create", token: token, json: ["name": "modes"])
            let experimentId = try #require(experiment.string("experiment_id"))
            let run = try await app.call(.post, "/api/2.0/mlflow/runs/create", token: token, json: ["experiment_id": experimentId])
            let runId = try #require((run["run"] as? [String: Any]).flatMap { ($0["info"] as? [String: Any])?["run_id"] as? String })
            _ = try await app.callBytes(
                .put, "/api/2.0/mlflow-artifacts/artifacts/\(experimentId)/\(runId)/artifacts/a.txt", token: token,
                body: Data("x".utf8), contentType: "text/plain")
            #expect(Self.mode(app.dataDirectory) == 0o700)
            for file in ["aitip.db", "aitip.db-wal"] {
                #expect(Self.mode("\(app.dataDirectory)/\(file)") == 0o600, "\(file)")
            }
            let objects = "\(app.dataDirectory)/objects"
            #expect(Self.mode(objects) == 0o700)
            let entries = FileManager.default.enumerator(atPath: objects)?.compactMap { $0 as? String } ?? []
            #expect(!entries.isEmpty)
            for entry in entries { #expect(Self.mode("\(objects)/\(entry)") & 0o077 == 0, "\(entry) is open to others") }
        }
    }

    @Test("finding 6: a data directory left world-readable by an earlier version is tightened at start")
    func looseDirectoryTightened() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-modes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: "\(directory)/objects", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o755)
        chmod("\(directory)/objects", 0o755)
        #expect(FileManager.default.createFile(atPath: "\(directory)/aitip.db", contents: Data()))
        chmod("\(directory)/aitip.db", 0o644)
        try DataDirectory.secure(try AppConfig(values: ["data_dir": directory]))
        #expect(Self.mode(directory) == 0o700 && Self.mode("\(directory)/objects") == 0o700 && Self.mode("\(directory)/aitip.db") == 0o600)
    }

    @Test(
        "finding 6: tokens name their key; rotation retires it, revocation refuses its tokens at once, and another replica learns the new key",
        arguments: DatabaseKind.available)
    func keyRotation(_ kind: DatabaseKind) async throws {
        try await withApp(kind) { app in
            let database = app.parts.database
            let first = try await app.adminToken()
            #expect(try await app.call(.get, "/api/v1/auth/me", token: first).status == 200)
            let originalKid = try Self.kid(first)
            let original = try #require(try await database.read { try await SigningKeyStore.all(on: $0) }.first { $0.kid == originalKid })

            let rotated = try await SigningKeyRotation.rotate(database: database, clock: app.clock, revoke: false, accessTokenLifetime: 900)
            #expect(rotated.retired == [originalKid])
            app.clock.advance(by: 31) // past the reload interval: the server reads the ring again
            #expect(try await app.call(.get, "/api/v1/auth/me", token: first).status == 200, "a retired key's tokens live out their lifetime")
            let second = try await app.adminToken()
            #expect(try Self.kid(second) == rotated.kid)

            // The retired key cannot sign anything new: a token made with it now is refused.
            let claims = try Self.claims(first)
            let forger = try AccessTokens(keys: [SigningKey(kid: originalKid, secret: original.secret, createdAt: original.createdAt)], lifetime: 900)
            let forged = try await forger.sign(
                userId: try #require(UUID(uuidString: claims["sub"] as? String ?? "")),
                sessionId: try #require(UUID(uuidString: claims["sid"] as? String ?? "")), now: app.clock.now())
            #expect(try await app.call(.get, "/api/v1/auth/me", token: forged.token).status == 401)

            // Another replica rotates; a token it signs names a key this server has not loaded yet, and is accepted.
            let replica = try AccessTokens(keys: try await IdentityBootstrap.signingKeys(database: database, clock: app.clock), lifetime: 900)
            _ = try await SigningKeyRotation.rotate(database: database, clock: app.clock, revoke: false, accessTokenLifetime: 900)
            let replicaRing = try AccessTokens(keys: try await database.read { try await SigningKeyStore.all(on: $0) }, lifetime: 900)
            #expect(replicaRing.signingKid != replica.signingKid)
            let fromReplica = try await replicaRing.sign(
                userId: try #require(UUID(uuidString: claims["sub"] as? String ?? "")),
                sessionId: try #require(UUID(uuidString: claims["sid"] as? String ?? "")), now: app.clock.now())
            #expect(try await app.call(.get, "/api/v1/auth/me", token: fromReplica.token).status == 200)

            // After a leak: revoke, and every older token is refused; signing in again works.
            _ = try await SigningKeyRotation.rotate(database: database, clock: app.clock, revoke: true, accessTokenLifetime: 900)
            app.clock.advance(by: 31)
            for token in [first, second, fromReplica.token] {
                #expect(try await app.call(.get, "/api/v1/auth/me", token: token).status == 401)
            }
            #expect(try await app.call(.get, "/api/v1/auth/me", token: try await app.adminToken()).status == 200)
        }
    }

    @Test("tokens made before keys had names (no kid) verify with the imported key 'initial' only")
    func legacyTokens() async throws {
        let legacy = try AccessTokens(
            keys: [SigningKey(kid: AccessTokens.legacyKid, secret: String(repeating: "s", count: 48), createdAt: Date())], lifetime: 900)
        let signed = try await legacy.sign(userId: UUID(), sessionId: UUID(), now: Date()).token
        let parts = signed.split(separator: ".").map(String.init)
        let noKid = [AccessTokens.base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8)), parts[1], parts[2]].joined(separator: ".")
        // The signature covers the header, so re-sign the header without a kid the way the old signer did.
        let input = noKid.split(separator: ".").prefix(2).joined(separator: ".")
        let mac = HMACSigner.sign(input, secret: String(repeating: "s", count: 48))
        let old = input + "." + mac
        #expect(legacy.verify(old, now: Date()) != nil)
        let other = try AccessTokens(keys: [SigningKey(kid: "k2", secret: String(repeating: "s", count: 48), createdAt: Date())], lifetime: 900)
        #expect(other.verify(old, now: Date()) == nil, "a kid-less token is only checked against the key 'initial'")
    }

    static func kid(_ token: String) throws -> String {
        let header = try #require(AccessTokens.base64URLDecode(token.split(separator: ".")[0]))
        return try #require((try JSONSerialization.jsonObject(with: header) as? [String: Any])?["kid"] as? String)
    }

    static func claims(_ token: String) throws -> [String: Any] {
        let payload = try #require(AccessTokens.base64URLDecode(token.split(separator: ".")[1]))
        return try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
    }
}

enum HMACSigner {
    static func sign(_ input: String, secret: String) -> String {
        AccessTokens.base64URL(Data(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))))
    }
}
