import Foundation
import Testing

@testable import Identity

@Suite("Access tokens")
struct AccessTokenTests {
    let secret = String(repeating: "k", count: 48)

    @Test("a signed token verifies until it expires")
    func roundTrip() async throws {
        let tokens = AccessTokens(secret: secret, lifetime: 900)
        let user = UUID(), session = UUID(), now = Date()
        let signed = try await tokens.sign(userId: user, sessionId: session, now: now)
        let verified = try #require(tokens.verify(signed.token, now: now.addingTimeInterval(899)))
        #expect(verified.userId == user && verified.sessionId == session)
        #expect(tokens.verify(signed.token, now: now.addingTimeInterval(901)) == nil)
    }

    @Test("forged, tampered, unsigned and foreign tokens are refused")
    func forgeries() async throws {
        let tokens = AccessTokens(secret: secret, lifetime: 900)
        let now = Date()
        let signed = try await tokens.sign(userId: UUID(), sessionId: UUID(), now: now).token
        let parts = signed.split(separator: ".").map(String.init)

        // Another user id in the payload, old signature.
        let payload = try JSONSerialization.jsonObject(with: AccessTokens.base64URLDecode(Substring(parts[1]))!) as! [String: Any]
        var changed = payload
        changed["sub"] = UUID().uuidString
        let tampered = [parts[0], Self.base64URL(try JSONSerialization.data(withJSONObject: changed)), parts[2]].joined(separator: ".")
        #expect(tokens.verify(tampered, now: now) == nil)

        // alg "none" with no signature.
        let none = [Self.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)), parts[1], ""].joined(separator: ".")
        #expect(tokens.verify(none, now: now) == nil)

        // Signed with another secret.
        let other = AccessTokens(secret: String(repeating: "z", count: 48), lifetime: 900)
        let foreign = try await other.sign(userId: UUID(), sessionId: UUID(), now: now).token
        #expect(tokens.verify(foreign, now: now) == nil)

        for garbage in ["", "a.b", "a.b.c", "...", signed + "x"] {
            #expect(tokens.verify(garbage, now: now) == nil, "\(garbage)")
        }
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
