import AITIPCore
import Crypto
import Foundation
import Synchronization

/// One HS256 signing key, named in a token's header by `kid`.
package struct SigningKey: Sendable, Equatable {
    package var kid: String
    package var secret: String
    package var createdAt: Date
    /// Set when a newer key took over: it no longer signs, and verifies only tokens it signed before this moment.
    package var retiredAt: Date?

    package init(kid: String, secret: String, createdAt: Date, retiredAt: Date? = nil) {
        self.kid = kid
        self.secret = secret
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }
}

/// Signs and verifies short-lived HS256 access tokens with a ring of keys: the newest key signs; a retired key still
/// verifies the tokens it signed before it retired (until they expire); a revoked key is gone and verifies nothing.
/// The ring lives in the database (`signing_keys`) so every replica shares it: each reloads it every
/// `reloadInterval`, and at once (at most every `unknownKeyReloadInterval`) when a token names a key it does not know.
///
/// Verification is done here rather than by a JWT library: only HS256 with a key of the ring is accepted (never
/// `alg: none`, never a key the token brings), the MAC is compared in constant time, and the check every
/// authenticated request makes needs no actor hop.
package final class AccessTokens: Sendable {
    package static let issuer = "aitip"
    /// The key imported from before keys had names; tokens without a `kid` were signed with it.
    package static let legacyKid = "initial"
    static let reloadInterval: TimeInterval = 30
    static let unknownKeyReloadInterval: TimeInterval = 5

    struct Ring {
        var keys: [String: (key: SymmetricKey, retiredAt: Date?)] = [:]
        var signing: String = ""
        var loadedAt: Date = .distantPast
        var unknownKeyReloadAt: Date = .distantPast

        init(_ keys: [SigningKey], at now: Date) {
            for key in keys { self.keys[key.kid] = (SymmetricKey(data: Data(key.secret.utf8)), key.retiredAt) }
            signing =
                keys.filter { $0.retiredAt == nil }.max { ($0.createdAt, $0.kid) < ($1.createdAt, $1.kid) }?.kid
                ?? keys.max { ($0.createdAt, $0.kid) < ($1.createdAt, $1.kid) }?.kid ?? ""
            loadedAt = now
        }
    }

    let lifetime: TimeInterval
    private let ring: Mutex<Ring>
    private let verified = VerifiedTokens()
    private let load: (@Sendable () async throws -> [SigningKey])?

    /// `load` reads the current ring (from the database); nil for a fixed ring.
    package init(keys: [SigningKey], lifetime: TimeInterval, now: Date = Date(), load: (@Sendable () async throws -> [SigningKey])? = nil) throws {
        guard !keys.isEmpty else { throw AppError(.internalError, "no signing key") }
        self.lifetime = lifetime
        self.load = load
        ring = Mutex(Ring(keys, at: now))
    }

    /// One fixed key (tests, tools).
    package convenience init(secret: String, lifetime: TimeInterval) {
        try! self.init(keys: [SigningKey(kid: "k", secret: secret, createdAt: Date())], lifetime: lifetime)
    }

    /// The kid that signs now.
    package var signingKid: String { ring.withLock { $0.signing } }

    func sign(userId: UUID, sessionId: UUID, now: Date) async throws -> (token: String, expiresAt: Date) {
        await refreshIfStale(now: now)
        let (kid, key) = ring.withLock { ($0.signing, $0.keys[$0.signing]?.key) }
        guard let key else { throw AppError(.internalError, "the signing key '\(kid)' is missing") }
        let expiresAt = now.addingTimeInterval(lifetime)
        let header = try Self.encoder.encode(Header(alg: "HS256", kid: kid, typ: "JWT"))
        let claims = try Self.encoder.encode(
            Claims(
                sub: userId.lowercasedString, sid: sessionId.lowercasedString, iat: now.timeIntervalSince1970.rounded(.down),
                exp: expiresAt.timeIntervalSince1970.rounded(.down), iss: Self.issuer))
        let signingInput = Self.base64URL(header) + "." + Self.base64URL(claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return (signingInput + "." + Self.base64URL(Data(mac)), expiresAt)
    }

    /// The user and session of a valid, unexpired token; `nil` for anything else.
    func verify(_ token: String, now: Date) -> (userId: UUID, sessionId: UUID)? {
        if let known = verified.lookup(token) {
            return known.expiresAt > now ? (known.userId, known.sessionId) : nil
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerData = Self.base64URLDecode(parts[0]),
            let header = try? JSONDecoder().decode(Header.self, from: headerData), header.alg == "HS256",
            let entry = ring.withLock({ $0.keys[header.kid ?? Self.legacyKid] }),
            let signature = Self.base64URLDecode(parts[2]),
            HMAC<SHA256>.isValidAuthenticationCode(
                signature, authenticating: Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)),
                using: entry.key),
            let payload = Self.base64URLDecode(parts[1]),
            let claims = try? JSONDecoder().decode(Claims.self, from: payload),
            claims.iss == Self.issuer, claims.exp > now.timeIntervalSince1970,
            entry.retiredAt.map({ claims.iat < $0.timeIntervalSince1970 }) ?? true,
            let userId = UUID(uuidString: claims.sub), let sessionId = UUID(uuidString: claims.sid)
        else {
            return nil
        }
        verified.remember(token, .init(userId: userId, sessionId: sessionId, expiresAt: Date(timeIntervalSince1970: claims.exp)), now: now)
        return (userId, sessionId)
    }

    /// Whether the token names a key this replica has not loaded (a newer one, made by a rotation elsewhere).
    func namesUnknownKey(_ token: String) -> Bool {
        guard let headerPart = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let data = Self.base64URLDecode(headerPart), let header = try? JSONDecoder().decode(Header.self, from: data)
        else { return false }
        return ring.withLock { $0.keys[header.kid ?? Self.legacyKid] == nil }
    }

    /// Reloads the ring when it is older than `reloadInterval`.
    func refreshIfStale(now: Date) async {
        guard load != nil, ring.withLock({ now.timeIntervalSince($0.loadedAt) >= Self.reloadInterval }) else { return }
        await reload(now: now)
    }

    /// Reloads the ring for a token that names an unknown key, unless that was done a moment ago (tokens with made-up
    /// key names must not turn into a database query each).
    func reloadForUnknownKey(now: Date) async -> Bool {
        let due = ring.withLock { ring -> Bool in
            guard now.timeIntervalSince(ring.unknownKeyReloadAt) >= Self.unknownKeyReloadInterval else { return false }
            ring.unknownKeyReloadAt = now
            return true
        }
        guard due, load != nil else { return false }
        await reload(now: now)
        return true
    }

    private func reload(now: Date) async {
        guard let load, let keys = try? await load(), !keys.isEmpty else { return }
        let changed = ring.withLock { ring -> Bool in
            let before = ring.keys.mapValues(\.retiredAt)
            let unknownKeyReloadAt = ring.unknownKeyReloadAt
            ring = Ring(keys, at: now)
            ring.unknownKeyReloadAt = unknownKeyReloadAt
            return before != ring.keys.mapValues(\.retiredAt)
        }
        // A key retired or revoked: tokens verified under the old ring are checked again.
        if changed { verified.clear() }
    }

    struct Header: Codable {
        var alg: String
        var kid: String?
        var typ: String?
    }

    /// Who (`sub`), which login session (`sid`), issued and expiring when (seconds since 1970, RFC 7519), by whom.
    struct Claims: Codable {
        var sub: String
        var sid: String
        var iat: Double
        var exp: Double
        var iss: String
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
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

    func clear() {
        entries.withLock { $0.removeAll() }
    }
}
