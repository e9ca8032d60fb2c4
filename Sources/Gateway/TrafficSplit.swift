import Foundation

/// Where one service's requests go: its versions (the stable service and its canary children), each with a share of
/// the traffic and its ready replicas. Inference (and later Release) builds one from its rows and hands it to the
/// gateway whole; a request reads the split once, so a change is atomic for it.
package struct TrafficSplit: Sendable, Equatable {
    package var versions: [Version]
    /// Callers with the same key (their API key or user, or a cookie) always reach the same version.
    package var sticky: Bool
    /// The most requests per second this endpoint takes (a burst of one second's worth); nil: no limit.
    package var requestsPerSecond: Double?
    /// Versions that get a copy of `percent` % of the requests (chosen at random, whatever version answers) and
    /// whose answers are dropped: shadow traffic.
    package var shadows: [Version]

    package init(versions: [Version], sticky: Bool = false, requestsPerSecond: Double? = nil, shadows: [Version] = []) {
        self.versions = versions
        self.sticky = sticky
        self.requestsPerSecond = requestsPerSecond
        self.shadows = shadows
    }

    package struct Version: Sendable, Equatable {
        /// The inference service this version is (the parent itself, or a canary child).
        package var serviceId: UUID
        package var name: String
        /// Its share of the requests that no header rule claims, 0–100; the shares add up to 100.
        package var percent: Int
        /// Requests carrying this header with this value go to this version whatever the percentages (A/B by header).
        package var header: HeaderMatch?
        package var replicas: [Replica]
        /// Scaled to zero: it keeps its share, and a request that chooses it waits while a replica starts.
        package var scaledToZero: Bool

        package init(serviceId: UUID, name: String, percent: Int, header: HeaderMatch? = nil, replicas: [Replica], scaledToZero: Bool = false) {
            self.serviceId = serviceId
            self.name = name
            self.percent = percent
            self.header = header
            self.replicas = replicas
            self.scaledToZero = scaledToZero
        }

        /// Whether a request may choose it: it has a ready replica, or it starts one on demand.
        var isAvailable: Bool { !replicas.isEmpty || scaledToZero }
    }

    package struct HeaderMatch: Sendable, Equatable {
        /// Lowercased.
        package var name: String
        package var value: String

        package init(name: String, value: String) {
            self.name = name.lowercased()
            self.value = value
        }
    }

    /// One ready replica and where the gateway reaches it.
    package struct Replica: Sendable, Hashable {
        package var id: UUID
        /// The Unix socket the replica serves HTTP on, as the server sees it.
        package var socketPath: String

        package init(id: UUID, socketPath: String) {
            self.id = id
            self.socketPath = socketPath
        }
    }

    /// The version a request goes to: a header rule first, then the caller's bucket (sticky) or a random one,
    /// among versions that have a replica ready or start one on demand. `headers` are (lowercased name, value) pairs.
    func choose(headers: [(String, String)], stickyKey: String?, random: Double) -> Version? {
        for version in versions {
            if let rule = version.header, headers.contains(where: { $0.0 == rule.name && $0.1 == rule.value }) {
                return version.isAvailable ? version : nil
            }
        }
        let weighted = versions.filter { $0.percent > 0 && $0.isAvailable }
        let total = weighted.reduce(0) { $0 + $1.percent }
        guard total > 0 else { return nil }
        // A point in [0, total): the caller's fixed bucket when sticky, else a fresh random one.
        let point: Double
        if sticky, let stickyKey {
            point = Double(Self.bucket(of: stickyKey)) / 10_000 * Double(total)
        } else {
            point = random * Double(total)
        }
        var upper = 0.0
        for version in weighted {
            upper += Double(version.percent)
            if point < upper { return version }
        }
        return weighted.last
    }

    /// A stable bucket in 0..<10,000 for a caller key (FNV-1a; it only needs to spread keys evenly, not resist attack:
    /// a caller choosing its own version can already send the header).
    static func bucket(of key: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % 10_000)
    }
}
