import AITIPCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import Gateway

@Suite("Gateway: traffic splits, statistics and replica sockets")
struct GatewayTests {
    let stable = UUID()
    let canary = UUID()

    func split(stablePercent: Int = 90, header: TrafficSplit.HeaderMatch? = nil, sticky: Bool = false, canaryReplicas: Int = 1) -> TrafficSplit {
        TrafficSplit(
            versions: [
                .init(serviceId: stable, name: "stable", percent: stablePercent, replicas: [.init(id: UUID(), socketPath: "/s")]),
                .init(
                    serviceId: canary, name: "canary", percent: 100 - stablePercent, header: header,
                    replicas: (0..<canaryReplicas).map { _ in .init(id: UUID(), socketPath: "/c") }),
            ], sticky: sticky)
    }

    @Test("percentages map the random point onto versions in order; a version without ready replicas takes nothing")
    func weights() {
        let split = split()
        #expect(split.choose(headers: [], stickyKey: nil, random: 0.0)?.name == "stable")
        #expect(split.choose(headers: [], stickyKey: nil, random: 0.899)?.name == "stable")
        #expect(split.choose(headers: [], stickyKey: nil, random: 0.9)?.name == "canary")
        #expect(split.choose(headers: [], stickyKey: nil, random: 0.999)?.name == "canary")
        let starved = self.split(canaryReplicas: 0)
        #expect(starved.choose(headers: [], stickyKey: nil, random: 0.95)?.name == "stable")
        let none = TrafficSplit(versions: [.init(serviceId: stable, name: "stable", percent: 100, replicas: [])])
        #expect(none.choose(headers: [], stickyKey: nil, random: 0.5) == nil)
    }

    @Test("a matching header wins over the percentages, with a 0 % share too")
    func headerRule() {
        let split = split(stablePercent: 100, header: .init(name: "X-Variant", value: "b"))
        #expect(split.choose(headers: [("x-variant", "b")], stickyKey: nil, random: 0.1)?.name == "canary")
        #expect(split.choose(headers: [("x-variant", "c")], stickyKey: nil, random: 0.99)?.name == "stable")
    }

    @Test("sticky splits put a caller in one bucket whatever the random draw, and spread callers by the shares")
    func sticky() {
        let split = split(sticky: true)
        for key in ["key:a", "user:b", "key:c"] {
            let first = split.choose(headers: [], stickyKey: key, random: 0.0)?.name
            #expect((0..<20).allSatisfy { split.choose(headers: [], stickyKey: key, random: Double($0) / 20)?.name == first })
        }
        let canaryCallers = (0..<10_000).filter { split.choose(headers: [], stickyKey: "key:\($0)", random: 0)?.name == "canary" }.count
        #expect((800...1_200).contains(canaryCallers), "\(canaryCallers) of 10,000 callers on a 10 % canary")
    }

    @Test("percentiles come from the latency buckets; the rate counts the last 10 whole seconds")
    func statistics() {
        let stats = VersionStats()
        let now = Date(timeIntervalSince1970: 1_000_000)
        for index in 0..<100 {
            stats.record(milliseconds: index < 90 ? 0.8 : 40, failed: index == 0, at: now.addingTimeInterval(-5))
        }
        let snapshot = stats.snapshot(at: now)
        #expect(snapshot.requests == 100 && snapshot.errors == 1)
        #expect(snapshot.p50Ms == 1 && snapshot.p95Ms == 50 && snapshot.p99Ms == 50)
        #expect(snapshot.requestsPerSecond == 10)
        #expect(stats.snapshot(at: now.addingTimeInterval(20)).requestsPerSecond == 0)
        #expect(VersionStats().snapshot().p99Ms == nil)
    }

    @Test("attack: a replica that puts a link to another socket of the host where its own should be is refused")
    func socketLink() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The host's socket (a database, a container engine) the replica would like the gateway to talk to.
        let target = "\(directory)/host.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in target.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        #expect(listen(listener, 4) == 0)
        let link = "\(directory)/serve.sock"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let gateway = Gateway(logger: Logger(label: "test"))
        let replica = TrafficSplit.Replica(id: UUID(), socketPath: link)
        #expect(await gateway.probe(replica, path: "/health") == false)
        let service = UUID()
        gateway.setSplit(.init(versions: [.init(serviceId: service, name: "v", percent: 100, replicas: [replica])]), for: service)
        await #expect(throws: AppError.self) {
            try await gateway.forward(
                service: service,
                .init(method: .GET, pathAndQuery: "/", headers: [:], body: nil, stickyKey: nil, requestId: "r"))
        }
        // Nothing ever connected to the host's socket...
        var pending = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pending, 1, 0) == 0)
        // ...which the same gateway does reach when that socket itself is the replica's.
        _ = await gateway.probe(.init(id: UUID(), socketPath: target), path: "/health", timeout: .milliseconds(200))
        #expect(poll(&pending, 1, 0) == 1)
        await gateway.shutdown()
    }
}
