import AITIPCore
import Foundation
import ObjectStore
import Testing
import Workloads

@testable import HTTPServer

/// The log follower behind `GET …/logs?follow=true` and `WS /ws/training/{id}/logs`.
@Suite("Log follower")
struct LogEventStreamTests {
    @Test("a log left open after its workload ended ends the follow at the next keep-alive, with every line")
    func endsWhenTheWorkloadEndedUnderAnOpenLog() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("logs-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let hub = LogHub(store: try FileSystemObjectStore(root: root))
        let id = UUID()
        _ = try await hub.open(id, attempt: 1)
        try await hub.append(id, Data("one\ntwo\n".utf8))
        // The workload has ended, but its log was never closed (a close that failed): the hub still calls it live.
        let stream = LogEventStream(workloadId: id, logs: hub, from: 0, follow: true, framing: .webSocket) { .succeeded }
        let first = String(decoding: try #require(try await stream.next()), as: UTF8.self)
        #expect(first.contains("\"lines\":[\"one\",\"two\"]"), "\(first)")
        let waking = Task {
            // The engine's periodic keep-alive.
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(50))
                await hub.wakeAll()
            }
        }
        defer { waking.cancel() }
        var messages: [String] = []
        while let chunk = try await stream.next() { messages.append(String(decoding: chunk, as: UTF8.self)) }
        #expect(messages.last?.contains("\"type\":\"end\"") == true && messages.last?.contains("succeeded") == true, "\(messages)")
        #expect(messages.count <= 2, "one keep-alive at most before the end: \(messages)")
    }
}
