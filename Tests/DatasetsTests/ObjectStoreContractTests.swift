import AITIPCore
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import ObjectStore
import Testing

/// The S3 server `.ci/run` starts (SeaweedFS): `AITIP_TEST_S3_URL` and its keys; `AITIP_REQUIRE_S3=1` makes its
/// absence a failure instead of a skip.
enum S3TestEnvironment {
    static var url: String? { ProcessInfo.processInfo.environment["AITIP_TEST_S3_URL"] }
    static var accessKey: String { ProcessInfo.processInfo.environment["AITIP_TEST_S3_ACCESS_KEY"] ?? "" }
    static var secretKey: String { ProcessInfo.processInfo.environment["AITIP_TEST_S3_SECRET_KEY"] ?? "" }
    static var required: Bool { ProcessInfo.processInfo.environment["AITIP_REQUIRE_S3"] == "1" }

    static var kinds: [StoreKind] { url == nil && !required ? [.filesystem] : [.filesystem, .s3] }

    enum StoreKind: String, CustomStringConvertible, Sendable {
        case filesystem, s3
        var description: String { rawValue }
    }

    /// A store over a fresh directory or a fresh bucket, with 5 MiB parts so a 12 MiB file goes up in three.
    static func make(_ kind: StoreKind, secret: String? = nil) async throws -> any ObjectStore {
        switch kind {
        case .filesystem:
            return try FileSystemObjectStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("objects-\(UUID())"))
        case .s3:
            let base = try #require(url, "AITIP_TEST_S3_URL is not set (scripts/services.sh s3_start)")
            var configuration = try S3ObjectStore.Configuration(url: base, accessKey: accessKey, secretKey: secret ?? secretKey)
            configuration.bucket = "t-" + UUID().uuidString.prefix(13).lowercased()
            configuration.partSize = 5 << 20
            let store = S3ObjectStore(configuration)
            if secret == nil { try await store.ensureBucket() }
            return store
        }
    }
}

@Suite("Object stores: the same contract on local disk and on a real S3 server")
struct ObjectStoreContractTests {
    @Test("put, get, exists, size, list, delete", arguments: S3TestEnvironment.kinds)
    func roundTrip(_ kind: S3TestEnvironment.StoreKind) async throws {
        let store = try await S3TestEnvironment.make(kind)
        try await store.put(ObjectKey("a/one.txt"), data: Data("one".utf8))
        try await store.put(ObjectKey("a/b/two name+&.bin"), data: Data([0, 1, 2, 255]))
        try await store.put(ObjectKey("c/three"), data: Data())
        #expect(try await store.get(ObjectKey("a/b/two name+&.bin")) == Data([0, 1, 2, 255]))
        #expect(try await store.exists(ObjectKey("a/one.txt")))
        #expect(try await store.size(ObjectKey("a/one.txt")) == 3)
        #expect(try await store.size(ObjectKey("a/missing")) == nil)
        #expect(try await store.list(prefix: ObjectKey("a")).map(\.path) == ["a/b/two name+&.bin", "a/one.txt"])
        try await store.delete(ObjectKey("a/one.txt"))
        #expect(try await !store.exists(ObjectKey("a/one.txt")))
        await #expect(throws: AppError.self) { try await store.get(ObjectKey("a/one.txt")) }
    }

    @Test("a file larger than a part goes up in parts and comes back whole; ranged reads", arguments: S3TestEnvironment.kinds)
    func multipartAndRanges(_ kind: S3TestEnvironment.StoreKind) async throws {
        let store = try await S3TestEnvironment.make(kind)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(UUID())")
        var bytes = [UInt8](repeating: 0, count: 12 << 20 + 12_345)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13) }
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try await store.putFile(ObjectKey("big/file"), from: file)
        #expect(try await store.size(ObjectKey("big/file")) == bytes.count)
        var hasher = SHA256()
        var received = 0
        for try await chunk in try await store.read(ObjectKey("big/file"), range: nil) {
            received += chunk.readableBytes
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
        #expect(received == bytes.count)
        #expect(Array(hasher.finalize()) == Array(SHA256.hash(data: bytes)))
        var slice: [UInt8] = []
        for try await chunk in try await store.read(ObjectKey("big/file"), range: 5_000_000..<5_000_100) { slice += chunk.readableBytesView }
        #expect(slice == Array(bytes[5_000_000..<5_000_100]))
    }

    @Test("a stream is stored as it arrives: empty, within a part, across parts; a failing stream stores nothing", arguments: S3TestEnvironment.kinds)
    func streams(_ kind: S3TestEnvironment.StoreKind) async throws {
        let store = try await S3TestEnvironment.make(kind)
        for size in [0, 1_000, 5 << 20, 11 << 20 + 7] {
            let bytes = Self.pattern(size)
            try await store.putStream(ObjectKey("s/\(size)"), body: Self.chunked(bytes, chunk: 300_001))
            #expect(try await Self.readAll(store, ObjectKey("s/\(size)")) == bytes, "size \(size)")
        }
        struct Broken: Error {}
        let failing = ObjectStream { continuation in
            continuation.yield(ByteBuffer(bytes: Self.pattern(6 << 20)))
            continuation.finish(throwing: Broken())
        }
        await #expect(throws: Broken.self) { try await store.putStream(ObjectKey("s/broken"), body: failing) }
        #expect(try await store.size(ObjectKey("s/broken")) == nil)
        #expect(try await store.list(prefix: ObjectKey("s")).count == 4)
    }

    @Test("multipart: parts in any order, a part sent again replaces it, abort leaves nothing", arguments: S3TestEnvironment.kinds)
    func multipartUploads(_ kind: S3TestEnvironment.StoreKind) async throws {
        let store = try await S3TestEnvironment.make(kind)
        let key = try ObjectKey("mp/model.bin")
        let bytes = Self.pattern(12 << 20 + 3)
        let upload = try await store.startMultipart(key)
        let cuts = [0, 5 << 20, 10 << 20, bytes.count]
        var parts: [UploadedPart] = []
        for index in [2, 0, 1] {
            let slice = Array(bytes[cuts[index]..<cuts[index + 1]])
            if index == 0 { // a first attempt with other bytes, replaced by the retry below
                _ = try await store.putPart(
                    key, uploadId: upload, number: 1, body: Self.chunked(Self.pattern(5 << 20, seed: 9), chunk: 1 << 20), length: 5 << 20)
            }
            let etag = try await store.putPart(
                key, uploadId: upload, number: index + 1, body: Self.chunked(slice, chunk: 1 << 20), length: Int64(slice.count))
            parts.append(UploadedPart(number: index + 1, etag: etag))
        }
        #expect(try await store.size(key) == nil, "nothing is visible before the upload completes")
        try await store.completeMultipart(key, uploadId: upload, parts: parts.sorted { $0.number < $1.number })
        #expect(try await Self.readAll(store, key) == bytes)

        let abandoned = try await store.startMultipart(try ObjectKey("mp/abandoned"))
        _ = try await store.putPart(
            try ObjectKey("mp/abandoned"), uploadId: abandoned, number: 1, body: Self.chunked([1, 2, 3], chunk: 3), length: 3)
        try await store.abortMultipart(try ObjectKey("mp/abandoned"), uploadId: abandoned)
        await #expect(throws: AppError.self) {
            try await store.completeMultipart(try ObjectKey("mp/abandoned"), uploadId: abandoned, parts: [UploadedPart(number: 1, etag: "x")])
        }
        #expect(try await store.size(ObjectKey("mp/abandoned")) == nil)
        try await store.abortMultipart(try ObjectKey("mp/abandoned"), uploadId: abandoned)
    }

    static func pattern(_ count: Int, seed: Int = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 2_654_435_761 >> 13) }
    }

    static func chunked(_ bytes: [UInt8], chunk: Int) -> ObjectStream {
        ObjectStream { continuation in
            for offset in stride(from: 0, to: bytes.count, by: chunk) {
                continuation.yield(ByteBuffer(bytes: bytes[offset..<min(bytes.count, offset + chunk)]))
            }
            continuation.finish()
        }
    }

    static func readAll(_ store: any ObjectStore, _ key: ObjectKey) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in try await store.read(key, range: nil) { bytes += chunk.readableBytesView }
        return bytes
    }

    @Test("presigned URLs let a plain HTTP client read the object until they expire (S3 only)")
    func presign() async throws {
        guard S3TestEnvironment.kinds.contains(.s3) else { return }
        let store = try await S3TestEnvironment.make(.s3)
        try await store.put(ObjectKey("shared/report.csv"), data: Data("a,b\n1,2\n".utf8))
        let url = try #require(try store.presignedURL(ObjectKey("shared/report.csv"), method: .get, expiresIn: 300))
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url.absoluteString), timeout: .seconds(10))
        #expect(response.status == .ok)
        #expect(String(buffer: try await response.body.collect(upTo: 1 << 20)) == "a,b\n1,2\n")
        var tampered = HTTPClientRequest(url: url.absoluteString.replacingOccurrences(of: "report.csv", with: "other.csv"))
        tampered.method = .GET
        #expect(try await HTTPClient.shared.execute(tampered, timeout: .seconds(10)).status == .forbidden)
        let local = try await S3TestEnvironment.make(.filesystem)
        #expect(try local.presignedURL(ObjectKey("x"), method: .get, expiresIn: 60) == nil)
    }

    @Test("a wrong secret key is refused by the server, with S3's reason")
    func wrongSecret() async throws {
        guard S3TestEnvironment.kinds.contains(.s3) else { return }
        let store = try await S3TestEnvironment.make(.s3, secret: "not-the-secret")
        let error = await #expect(throws: AppError.self) { try await store.put(ObjectKey("x"), data: Data("x".utf8)) }
        #expect(
            error?.detail.contains("SignatureDoesNotMatch") == true || error?.detail.contains("AccessDenied") == true, "\(String(describing: error))")
        #expect(error?.detail.contains("not-the-secret") == false)
    }

    @Test("SigV4 matches AWS's published example (GET object with a range)")
    func sigV4Vector() {
        let signer = SigV4(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
        let headers = signer.sign(
            method: "GET", path: "/test.txt", query: [], headers: ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9"],
            payloadHash: SigV4.emptyPayloadHash, date: Date(timeIntervalSince1970: 1_369_353_600))
        #expect(
            headers["Authorization"]
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    @Test("bucket names and endpoints are checked when the store is configured")
    func configuration() {
        #expect(throws: AppError.self) {
            try S3ObjectStore.Configuration(url: "s3://UPPER?endpoint=http://127.0.0.1:1", accessKey: "a", secretKey: "b")
        }
        #expect(throws: AppError.self) { try S3ObjectStore.Configuration(url: "s3://bucket?endpoint=ftp://x", accessKey: "a", secretKey: "b") }
        #expect(throws: AppError.self) { try S3ObjectStore.Configuration(url: "s3://bucket", accessKey: "", secretKey: "") }
    }
}
