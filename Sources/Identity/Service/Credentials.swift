import AITIPCore
import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// bcrypt, run on NIO's blocking pool: one hash costs ~0.25 s of CPU at cost 12 and must not stall an event loop.
package struct PasswordHasher: Sendable {
    package let cost: UInt8

    package init(cost: UInt8 = 12) {
        self.cost = cost
    }

    package func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    package func verify(_ password: String, hash: String?) async throws -> Bool {
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
package enum SecretToken {
    package static let apiKeyPrefix = "aitip_"

    package static func random(bytes count: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "A").replacingOccurrences(of: "/", with: "B")
            .replacingOccurrences(of: "=", with: "")
    }

    package static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).hexString
    }

    package static func newAPIKey() -> String { apiKeyPrefix + random() }

    package static func isAPIKey(_ token: String) -> Bool { token.hasPrefix(apiKeyPrefix) }
}
