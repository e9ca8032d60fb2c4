import AITIPCore
import Crypto
import Foundation
import HummingbirdBcrypt
import JWTKit
import NIOPosix
import Synchronization

/// bcrypt, run on NIO's blocking pool: one hash costs ~0.25 s of CPU at cost 12 and must not stall an event loop.
public struct PasswordHasher: Sendable {
    public let cost: UInt8

    public init(cost: UInt8 = 12) {
        self.cost = cost
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String?) async throws -> Bool {
        // Unknown users still pay for one verification, so response time does not reveal which usernames exist.
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive {
            Bcrypt.verify(password, hash: hash ?? Self.decoyHash(cost: cost))
        }
    }

    /// Made at the configured cost, so a missing user costs exactly what a wrong password does.
    private static func decoyHash(cost: UInt8) -> String {
        decoys.withLock { decoys in
            if let known = decoys[cost] { return known }
            let made = Bcrypt.hash("decoy-password-for-timing", cost: cost)
            decoys[cost] = made
            return made
        }
    }

    private static let decoys = Mutex<[UInt8: String]>([:])
}

/// Random secrets and their stored SHA-256 digests. Only digests reach the database.
public enum SecretToken {
    public static let apiKeyPrefix = "aitip_"

    public static func random(bytes count: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "A").replacingOccurrences(of: "/", with: "B")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).hexString
    }

    public static func newAPIKey() -> String { apiKeyPrefix + random() }

    public static func isAPIKey(_ token: String) -> Bool { token.hasPrefix(apiKeyPrefix) }
}

/// Claims of an access token: who (`sub`), which login session (`sid`), until when (`exp`).
struct AccessTokenClaims: JWTPayload {
    var sub: SubjectClaim
    var sid: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var iss: IssuerClaim

    func verify(using algorithm: some JWTAlgorithm) throws {
        // Expiry is checked against the service clock in `AccessTokens.verify`, so tests can move time.
    }
}

/// Signs and verifies short-lived HS256 access tokens.
public struct AccessTokens: Sendable {
    public static let issuer = "aitip"
    let keys: JWTKeyCollection
    let verificationKey: SymmetricKey
    let lifetime: TimeInterval
    private let verified = VerifiedTokens()

    public init(secret: String, lifetime: TimeInterval) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.verificationKey = SymmetricKey(data: Data(secret.utf8))
        self.lifetime = lifetime
    }

    func sign(userId: UUID, sessionId: UUID, now: Date) async throws -> (token: String, expiresAt: Date) {
        let expiresAt = now.addingTimeInterval(lifetime)
        let claims = AccessTokenClaims(sub: .init(value: userId.lowercasedString), sid: sessionId.lowercasedString,
                                       iat: .init(value: now), exp: .init(value: expiresAt), iss: .init(value: Self.issuer))
        return (try await keys.sign(claims), expiresAt)
    }

    /// The user and session of a valid, unexpired token; `nil` for anything else.
    ///
    /// Verified here rather than through `JWTKeyCollection`, an actor, so that the check every authenticated request
    /// makes needs no hop onto the actor's executor. Only HS256 with our key is accepted (never `alg: none`).
    func verify(_ token: String, now: Date) -> (userId: UUID, sessionId: UUID)? {
        if let known = verified.lookup(token) {
            return known.expiresAt > now ? (known.userId, known.sessionId) : nil
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerData = Self.base64URLDecode(parts[0]),
              let header = try? JSONDecoder().decode([String: String].self, from: headerData), header["alg"] == "HS256",
              let signature = Self.base64URLDecode(parts[2]),
              HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)),
                                                     using: verificationKey),
              let payload = Self.base64URLDecode(parts[1]),
              let claims = try? Self.claimsDecoder.decode(AccessTokenClaims.self, from: payload),
              claims.iss.value == Self.issuer, claims.exp.value > now,
              let userId = UUID(uuidString: claims.sub.value), let sessionId = UUID(uuidString: claims.sid) else {
            return nil
        }
        verified.remember(token, .init(userId: userId, sessionId: sessionId, expiresAt: claims.exp.value), now: now)
        return (userId, sessionId)
    }

    /// JWT times are seconds since 1970 (RFC 7519 NumericDate), not Foundation's default reference date.
    private static var claimsDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }

    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }
}

/// Tokens whose signature was already checked, with their claims: a client sends the same access token with every
/// request for its whole life, and checking it (base64, HMAC, two JSON documents) was 16 % of a list request's CPU.
/// Only successfully verified tokens enter; expiry is still checked on every use.
final class VerifiedTokens: Sendable {
    struct Claims: Sendable {
        var userId: UUID
        var sessionId: UUID
        var expiresAt: Date
    }

    private let entries = Mutex<[String: Claims]>([:])
    private static let capacity = 20_000

    func lookup(_ token: String) -> Claims? {
        entries.withLock { $0[token] }
    }

    func remember(_ token: String, _ claims: Claims, now: Date) {
        entries.withLock { entries in
            if entries.count >= Self.capacity {
                entries = entries.filter { $0.value.expiresAt > now }
                if entries.count >= Self.capacity { entries.removeAll() }
            }
            entries[token] = claims
        }
    }
}
