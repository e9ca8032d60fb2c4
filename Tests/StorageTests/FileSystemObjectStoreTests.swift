import AITIPCore
import Foundation
import ObjectStore
import Testing

@Suite("Filesystem object store")
struct FileSystemObjectStoreTests {
    @Test("put, get, list, exists and delete round-trip")
    func roundTrip() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("objects-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try FileSystemObjectStore(root: root)
        try await store.put(ObjectKey("runs/1/metrics.json"), data: Data("{}".utf8))
        try await store.put(ObjectKey("runs/2/model.bin"), data: Data([1, 2, 3]))
        #expect(try await store.get(ObjectKey("runs/2/model.bin")) == Data([1, 2, 3]))
        #expect(try await store.list(prefix: ObjectKey("runs")).map(\.path) == ["runs/1/metrics.json", "runs/2/model.bin"])
        #expect(try await store.exists(ObjectKey("runs/1/metrics.json")))
        try await store.delete(ObjectKey("runs/1/metrics.json"))
        #expect(try await !store.exists(ObjectKey("runs/1/metrics.json")))
        await #expect(throws: AppError.self) { try await store.get(ObjectKey("runs/1/metrics.json")) }
    }

    @Test("keys cannot escape the store", arguments: ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "./a", "a\\b", ""])
    func rejectsTraversal(key: String) {
        #expect(throws: AppError.self) { try ObjectKey(key) }
    }
}
