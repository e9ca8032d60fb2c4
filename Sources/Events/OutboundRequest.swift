import AITIPCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Where the server may send a request a user configured (webhooks now; callbacks later): http or https to a host
/// whose every address is public. Loopback, private, link-local (cloud metadata at 169.254.169.254), carrier-grade
/// NAT, multicast, documentation and reserved ranges are refused unless the operator allows private addresses. The
/// address checked is the address connected to (AsyncHTTPClient's DNS override), so a name that resolves to a public
/// address when checked and to a private one a moment later (DNS rebinding) cannot redirect the request; redirects
/// are not followed and no proxy from the environment is used.
package enum OutboundURL {
    /// Checks the URL's form; an IP literal must also be allowed. Names are resolved and checked when a request is sent.
    package static func validate(_ text: String, allowPrivate: Bool) throws(AppError) -> URL {
        guard text.count <= 2_000, let components = URLComponents(string: text), let url = components.url,
            let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
        else {
            throw AppError.badRequest("url must be an http:// or https:// URL with a host")
        }
        guard components.user == nil, components.password == nil else {
            throw AppError.badRequest("url must not carry credentials (user:password@): use the webhook's secret to authenticate deliveries")
        }
        let literal = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if let bytes = IPBytes(literal), !allowPrivate, !bytes.isPublic {
            throw AppError.badRequest(
                "url points to a private or reserved address (\(literal)); an operator may allow these with webhook_allow_private")
        }
        return url
    }

    /// The one address of `host` a request may connect to: every address the name resolves to must be public.
    static func checkedAddress(host: String, port: Int, allowPrivate: Bool) async throws(AppError) -> String {
        let literal = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let addresses: [IPBytes]
        do {
            addresses = try await NIOThreadPool.singleton.runIfActive { try resolve(literal, port: port) }
        } catch let error as AppError {
            throw error
        } catch {
            throw AppError(.unavailable, "Could not resolve \(literal): \(error)")
        }
        guard let first = addresses.first else { throw AppError(.unavailable, "\(literal) has no address") }
        if !allowPrivate, let refused = addresses.first(where: { !$0.isPublic }) {
            throw AppError.forbidden(
                "\(literal) resolves to \(refused.text), a private or reserved address: refused (an operator may allow these with webhook_allow_private)"
            )
        }
        return first.text
    }

    private static func resolve(_ host: String, port: Int) throws -> [IPBytes] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0 else { throw AppError(.unavailable, "Could not resolve \(host): \(String(cString: gai_strerror(code)))") }
        defer { freeaddrinfo(list) }
        var found: [IPBytes] = []
        var next = list
        while let entry = next {
            if let address = entry.pointee.ai_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    let v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    found.append(IPBytes(withUnsafeBytes(of: v4) { Array($0) }))
                case AF_INET6:
                    let v6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    found.append(IPBytes(withUnsafeBytes(of: v6) { Array($0) }))
                default: break
                }
            }
            next = entry.pointee.ai_next
        }
        return found
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address, and whether it is one a user-configured request may reach.
package struct IPBytes: Equatable, Sendable {
    package let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses a textual address; nil for a name.
    package init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: v6) { Array($0) }
        } else {
            return nil
        }
    }

    package var text: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(cString: buffer)
    }

    package var isPublic: Bool {
        if bytes.count == 4 { return Self.isPublicV4(bytes) }
        let b = bytes
        // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address: judge that one.
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return Self.isPublicV4(Array(b[12...])) }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..<12].allSatisfy({ $0 == 0 }) {
            return Self.isPublicV4(Array(b[12...]))
        }
        if b.allSatisfy({ $0 == 0 }) { return false } // ::
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return false } // ::1
        if b[0] & 0xfe == 0xfc { return false } // fc00::/7 unique local
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return false } // fe80::/10 link-local
        if b[0] == 0xff { return false } // multicast
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return false } // 2001:db8::/32 documentation
        if b[0] == 0x01 && b[1] == 0x00 && b[2..<8].allSatisfy({ $0 == 0 }) { return false } // 100::/64 discard
        return true
    }

    private static func isPublicV4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1], b[2]) {
        case (0, _, _), (10, _, _), (127, _, _): return false // this network, private, loopback
        case (100, 64...127, _): return false // carrier-grade NAT
        case (169, 254, _): return false // link-local, cloud metadata
        case (172, 16...31, _), (192, 168, _): return false // private
        case (192, 0, 0), (192, 0, 2), (198, 51, 100), (203, 0, 113): return false // protocol assignments, documentation
        case (198, 18...19, _): return false // benchmarking
        case (224...255, _, _): return false // multicast, reserved, broadcast
        default: return true
        }
    }
}

/// One POST to a user-configured URL under the outbound rules above.
package enum OutboundPost {
    package struct Answer: Sendable {
        /// The HTTP status, nil when no answer came (refused, unreachable, timed out).
        package var status: Int?
        /// The first 4 KB of the answer's body.
        package var body: String
        /// Why no answer came.
        package var error: String?
    }

    package static func send(
        to text: String, body: String, headers: [(String, String)], allowPrivate: Bool, timeoutSeconds: Int64
    ) async -> Answer {
        let url: URL
        let address: String
        do {
            url = try OutboundURL.validate(text, allowPrivate: allowPrivate)
            let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
            address = try await OutboundURL.checkedAddress(host: url.host ?? "", port: port, allowPrivate: allowPrivate)
        } catch {
            return Answer(status: nil, body: "", error: error.detail)
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(timeoutSeconds)))
        configuration.dnsOverride = [url.host ?? "": address]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var request = HTTPClientRequest(url: text)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let answer: Answer
        do {
            let response = try await client.execute(request, timeout: .seconds(timeoutSeconds))
            var received = ByteBuffer()
            for try await chunk in response.body {
                received.writeImmutableBuffer(chunk)
                if received.readableBytes >= 4_096 { break } // the rest is not read: the connection is closed
            }
            let kept = received.getSlice(at: received.readerIndex, length: min(4_096, received.readableBytes)) ?? received
            answer = Answer(status: Int(response.status.code), body: String(buffer: kept), error: nil)
        } catch {
            answer = Answer(status: nil, body: "", error: "No answer from \(url.host ?? "the host"): \(error)")
        }
        try? await client.shutdown()
        return answer
    }
}
