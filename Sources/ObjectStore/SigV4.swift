import AITIPCore
import Crypto
import Foundation

/// AWS Signature Version 4 for S3: signed headers for requests, signed query strings for presigned URLs.
/// The path given here is already URI-encoded (`S3Path.encode`); S3 signs it as sent, without encoding it twice.
package struct SigV4: Sendable {
    package let accessKey: String
    let secretKey: String
    package let region: String
    package let service: String

    package init(accessKey: String, secretKey: String, region: String, service: String = "s3") {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
        self.service = service
    }

    package static let emptyPayloadHash = SHA256.hash(data: Data()).hexString
    package static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The headers to add to a request: `x-amz-date`, `x-amz-content-sha256` and `Authorization`. `headers` are
    /// the other headers to sign (at least `host`).
    package func sign(
        method: String, path: String, query: [(String, String)], headers: [String: String],
        payloadHash: String, date: Date
    ) -> [String: String] {
        let stamp = Self.timestamps(date)
        var signed = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value.trimmingCharacters(in: .whitespaces)) })
        signed["x-amz-date"] = stamp.full
        signed["x-amz-content-sha256"] = payloadHash
        let names = signed.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(signed[$0]!)\n" }.joined()
        let signedNames = names.joined(separator: ";")
        let canonical = [method, path, Self.canonicalQuery(query), canonicalHeaders, signedNames, payloadHash].joined(separator: "\n")
        let scope = "\(stamp.day)/\(region)/\(service)/aws4_request"
        let signature = signature(canonicalRequest: canonical, timestamp: stamp.full, scope: scope, day: stamp.day)
        return [
            "x-amz-date": stamp.full,
            "x-amz-content-sha256": payloadHash,
            "Authorization": "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedNames), Signature=\(signature)",
        ]
    }

    /// The query string (without '?') of a presigned URL: only `host` is signed, the payload is not.
    package func presignedQuery(
        method: String, path: String, host: String, query: [(String, String)] = [],
        expiresIn seconds: Int, date: Date
    ) -> String {
        let stamp = Self.timestamps(date)
        let scope = "\(stamp.day)/\(region)/\(service)/aws4_request"
        var parameters = query
        parameters += [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(accessKey)/\(scope)"),
            ("X-Amz-Date", stamp.full), ("X-Amz-Expires", String(seconds)), ("X-Amz-SignedHeaders", "host"),
        ]
        let canonicalQuery = Self.canonicalQuery(parameters)
        let canonical = [method, path, canonicalQuery, "host:\(host)\n", "host", Self.unsignedPayload].joined(separator: "\n")
        let signature = signature(canonicalRequest: canonical, timestamp: stamp.full, scope: scope, day: stamp.day)
        return canonicalQuery + "&X-Amz-Signature=" + signature
    }

    private func signature(canonicalRequest: String, timestamp: String, scope: String, day: String) -> String {
        let toSign = ["AWS4-HMAC-SHA256", timestamp, scope, SHA256.hash(data: Data(canonicalRequest.utf8)).hexString].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key).hexString
    }

    /// `k=v` pairs, both URI-encoded, sorted by key then value, joined by '&'.
    package static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(key: String, value: String)] = query.map { (uriEncode($0.0, keepSlash: false), uriEncode($0.1, keepSlash: false)) }
        let sorted = encoded.sorted { (left: (key: String, value: String), right: (key: String, value: String)) -> Bool in
            left.key == right.key ? left.value < right.value : left.key < right.key
        }
        return sorted.map { pair -> String in pair.key + "=" + pair.value }.joined(separator: "&")
    }

    /// RFC 3986 encoding as AWS wants it: unreserved characters stay, every other byte becomes %XX (upper case).
    package static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                result.append("/")
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    static func timestamps(_ date: Date) -> (full: String, day: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let day = String(format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        return (day + String(format: "T%02d%02d%02dZ", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)), day)
    }
}
