import AITIPCore
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// An S3-compatible store (AWS S3, SeaweedFS, MinIO, Ceph RGW) over path-style URLs, signed with SigV4.
/// Large files go up as multipart uploads, `partConcurrency` parts at a time, each streamed from disk, so memory
/// stays small whatever the file size.
package struct S3ObjectStore: ObjectStore {
    package struct Configuration: Sendable {
        package var endpoint: URL
        package var bucket: String
        package var region: String
        package var accessKey: String
        package var secretKey: String
        package var partSize: Int
        package var partConcurrency: Int

        package init(
            endpoint: URL, bucket: String, region: String = "us-east-1", accessKey: String, secretKey: String,
            partSize: Int = 16 << 20, partConcurrency: Int = 4
        ) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.partSize = max(5 << 20, partSize)
            self.partConcurrency = max(1, partConcurrency)
        }

        /// `s3://BUCKET?endpoint=http://HOST:PORT&region=REGION` (endpoint defaults to AWS for the region).
        package init(url text: String, accessKey: String, secretKey: String) throws(AppError) {
            guard let components = URLComponents(string: text), components.scheme == "s3",
                let bucket = components.host, Self.isBucketName(bucket)
            else {
                throw AppError.badRequest(
                    "object_store=\(text): expected s3://BUCKET?endpoint=http://HOST:PORT&region=REGION (bucket names: 3-63 of a-z 0-9 . -)")
            }
            let items = components.queryItems ?? []
            let region = items.first { $0.name == "region" }?.value ?? "us-east-1"
            let endpointText = items.first { $0.name == "endpoint" }?.value ?? "https://s3.\(region).amazonaws.com"
            guard let endpoint = URL(string: endpointText), ["http", "https"].contains(endpoint.scheme ?? ""), endpoint.host != nil,
                endpoint.path.isEmpty || endpoint.path == "/"
            else {
                throw AppError.badRequest("object_store endpoint '\(endpointText)' must be an http(s)://HOST[:PORT] URL")
            }
            guard !accessKey.isEmpty, !secretKey.isEmpty else {
                throw AppError.badRequest("an s3:// object store needs s3_access_key and s3_secret_key (AITIP_S3_ACCESS_KEY, AITIP_S3_SECRET_KEY)")
            }
            self.init(endpoint: endpoint, bucket: bucket, region: region, accessKey: accessKey, secretKey: secretKey)
        }

        static func isBucketName(_ name: String) -> Bool {
            (3...63).contains(name.count) && name.allSatisfy { $0.isLowercase && $0.isASCII || $0.isNumber || $0 == "-" || $0 == "." }
        }
    }

    package let configuration: Configuration
    let signer: SigV4
    let client: HTTPClient
    /// The Host header as signed: the port only when it is not the scheme's default.
    let host: String

    package init(_ configuration: Configuration, client: HTTPClient = .shared) {
        self.configuration = configuration
        self.signer = SigV4(accessKey: configuration.accessKey, secretKey: configuration.secretKey, region: configuration.region)
        self.client = client
        let endpoint = configuration.endpoint
        let defaultPort = endpoint.scheme == "https" ? 443 : 80
        self.host = endpoint.port.map { $0 == defaultPort ? endpoint.host! : "\(endpoint.host!):\($0)" } ?? endpoint.host!
    }

    /// Creates the bucket when it does not exist (an operator's first start against a fresh S3 server).
    package func ensureBucket() async throws {
        let head = try await send(.HEAD, key: nil)
        if head.status == .ok { return }
        guard head.status == .notFound else { throw try await failure(head, doing: "check bucket '\(configuration.bucket)'") }
        let create = try await send(.PUT, key: nil)
        guard create.status == .ok || create.status == .conflict else {
            throw try await failure(create, doing: "create bucket '\(configuration.bucket)'")
        }
    }

    package func put(_ key: ObjectKey, data: Data) async throws {
        let response = try await send(.PUT, key: key, body: ByteBuffer(bytes: data), payloadHash: SHA256.hash(data: data).hexString)
        guard response.status == .ok else { throw try await failure(response, doing: "store '\(key)'") }
    }

    package func get(_ key: ObjectKey) async throws -> Data {
        let response = try await send(.GET, key: key)
        guard response.status == .ok else { throw try await failure(response, doing: "read '\(key)'", key: key) }
        var body = try await response.body.collect(upTo: .max)
        return body.readData(length: body.readableBytes) ?? Data()
    }

    package func delete(_ key: ObjectKey) async throws {
        let response = try await send(.DELETE, key: key)
        guard response.status == .noContent || response.status == .ok || response.status == .notFound else {
            throw try await failure(response, doing: "delete '\(key)'")
        }
    }

    package func exists(_ key: ObjectKey) async throws -> Bool { try await size(key) != nil }

    package func size(_ key: ObjectKey) async throws -> Int? {
        let response = try await send(.HEAD, key: key)
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw try await failure(response, doing: "look up '\(key)'") }
        return response.headers.first(name: "content-length").flatMap(Int.init)
    }

    package func list(prefix: ObjectKey?) async throws -> [ObjectKey] {
        var keys: [ObjectKey] = []
        var token: String?
        repeat {
            var query = [("list-type", "2")]
            if let prefix { query.append(("prefix", prefix.path + "/")) }
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.GET, key: nil, query: query)
            guard response.status == .ok else { throw try await failure(response, doing: "list '\(prefix?.path ?? "")'") }
            let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
            keys += S3XML.values("Key", in: text).compactMap { try? ObjectKey($0) }
            token = S3XML.values("IsTruncated", in: text).first == "true" ? S3XML.values("NextContinuationToken", in: text).first : nil
        } while token != nil
        return keys.sorted()
    }

    package func putFile(_ key: ObjectKey, from file: URL) async throws {
        let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
        guard size > configuration.partSize else {
            try await put(key, data: try Data(contentsOf: file))
            return
        }
        let uploadId = try await startMultipart(key)
        do {
            let parts = (size + configuration.partSize - 1) / configuration.partSize
            var etags = [String](repeating: "", count: parts)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                var next = 0
                func launch() {
                    let number = next
                    next += 1
                    group.addTask { (number, try await uploadPart(number, of: file, size: size, key: key, uploadId: uploadId)) }
                }
                while next < min(parts, configuration.partConcurrency) { launch() }
                while let (number, etag) = try await group.next() {
                    etags[number] = etag
                    if next < parts { launch() }
                }
            }
            try await completeMultipart(
                key, uploadId: uploadId, parts: etags.enumerated().map { UploadedPart(number: $0.offset + 1, etag: $0.element) })
        } catch {
            try? await abortMultipart(key, uploadId: uploadId)
            throw error
        }
    }

    /// One request when the body fits in a part; otherwise a multipart upload with one part filling while the one
    /// before it is sent, so at most two parts are in memory.
    package func putStream(_ key: ObjectKey, body: ObjectStream) async throws {
        var reader = PartReader(chunks: body.makeAsyncIterator(), partSize: configuration.partSize)
        let first = try await reader.next() ?? ByteBuffer()
        guard var current = try await reader.next() else {
            try await put(key, data: Data(first.readableBytesView))
            return
        }
        let uploadId = try await startMultipart(key)
        var sending = Task { try await sendPart(.bytes(first), number: 1, key: key, uploadId: uploadId) }
        do {
            var etags: [String] = []
            var number = 1
            while true {
                number += 1
                etags.append(try await sending.value)
                let (bytes, partNumber) = (current, number)
                sending = Task { try await sendPart(.bytes(bytes), number: partNumber, key: key, uploadId: uploadId) }
                guard let following = try await reader.next() else { break }
                current = following
            }
            etags.append(try await sending.value)
            try await completeMultipart(
                key, uploadId: uploadId, parts: etags.enumerated().map { UploadedPart(number: $0.offset + 1, etag: $0.element) })
        } catch {
            sending.cancel()
            try? await abortMultipart(key, uploadId: uploadId)
            throw error
        }
    }

    package func startMultipart(_ key: ObjectKey) async throws -> String {
        let created = try await send(.POST, key: key, query: [("uploads", "")])
        guard created.status == .ok else { throw try await failure(created, doing: "start a multipart upload of '\(key)'") }
        guard let uploadId = S3XML.values("UploadId", in: String(buffer: try await created.body.collect(upTo: 1 << 20))).first else {
            throw AppError(.unavailable, "The object store did not return an upload id for '\(key)'")
        }
        return uploadId
    }

    package func putPart(_ key: ObjectKey, uploadId: String, number: Int, body: ObjectStream, length: Int64) async throws -> String {
        try await sendPart(.stream(body, length: .known(length)), number: number, key: key, uploadId: uploadId)
    }

    package func completeMultipart(_ key: ObjectKey, uploadId: String, parts: [UploadedPart]) async throws {
        let manifest =
            "<CompleteMultipartUpload>"
            + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(S3XML.escape($0.etag))</ETag></Part>" }.joined()
            + "</CompleteMultipartUpload>"
        let body = Data(manifest.utf8)
        let completed = try await send(
            .POST, key: key, query: [("uploadId", uploadId)], body: ByteBuffer(bytes: body), payloadHash: SHA256.hash(data: body).hexString)
        // S3 may answer 200 and still report an error in the body.
        let answer = String(buffer: try await completed.body.collect(upTo: 1 << 20))
        guard completed.status == .ok, !answer.contains("<Error>") else {
            let code = S3XML.values("Code", in: answer).first ?? "HTTP \(completed.status.code)"
            let message = S3XML.values("Message", in: answer).first.map { ": \($0)" } ?? ""
            throw AppError(
                completed.status.code / 100 == 4 ? .badRequest : .unavailable,
                "The object store did not complete the upload of '\(key)': \(code)\(message)")
        }
    }

    package func abortMultipart(_ key: ObjectKey, uploadId: String) async throws {
        let response = try await send(.DELETE, key: key, query: [("uploadId", uploadId)])
        guard response.status == .noContent || response.status == .ok || response.status == .notFound else {
            throw try await failure(response, doing: "abort the upload of '\(key)'")
        }
    }

    /// One part, with an unsigned payload: the part is never hashed in memory first. Its integrity is the caller's
    /// (datasets hash every body end to end; the length is fixed by Content-Length).
    private func sendPart(_ body: HTTPClientRequest.Body, number: Int, key: ObjectKey, uploadId: String) async throws -> String {
        let response = try await send(
            .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadId)], streaming: body, payloadHash: SigV4.unsignedPayload)
        guard response.status == .ok, let etag = response.headers.first(name: "etag") else {
            throw try await failure(response, doing: "upload part \(number) of '\(key)'")
        }
        return etag
    }

    /// Streams one part from the file, 1 MiB at a time: the part is never held in memory.
    private func uploadPart(_ index: Int, of file: URL, size: Int, key: ObjectKey, uploadId: String) async throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw AppError(.internalError, "Cannot read \(file.path)") }
        let start = index * configuration.partSize
        let length = min(configuration.partSize, size - start)
        let reader = FileChunkReader(handle: handle, start: Int64(start), end: Int64(start + length))
        try reader.seekToStart()
        return try await putPart(
            key, uploadId: uploadId, number: index + 1, body: ObjectStream(unfolding: { try reader.next() }), length: Int64(length))
    }

    package func read(_ key: ObjectKey, range: Range<Int64>?) async throws -> ObjectStream {
        var headers: [String: String] = [:]
        if let range {
            guard !range.isEmpty else { return ObjectStream { nil } }
            headers["range"] = "bytes=\(range.lowerBound)-\(range.upperBound - 1)"
        }
        let response = try await send(.GET, key: key, headers: headers)
        guard response.status == .ok || response.status == .partialContent else {
            throw try await failure(response, doing: "read '\(key)'", key: key)
        }
        return ObjectStream.pulling(response.body)
    }

    package func presignedURL(_ key: ObjectKey, method: PresignedMethod, expiresIn seconds: Int) throws -> URL? {
        let path = objectPath(key)
        let query = signer.presignedQuery(method: method.rawValue, path: path, host: host, expiresIn: seconds, date: Date())
        return URL(string: baseURL + path + "?" + query)
    }

    package func location(of key: ObjectKey) -> String { "s3://\(configuration.bucket)/\(key.path)" }

    // MARK: requests

    private var baseURL: String {
        let text = configuration.endpoint.absoluteString
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    private func objectPath(_ key: ObjectKey?) -> String {
        "/" + configuration.bucket + (key.map { "/" + SigV4.uriEncode($0.path, keepSlash: true) } ?? "")
    }

    private func send(
        _ method: HTTPMethod, key: ObjectKey?, query: [(String, String)] = [], headers: [String: String] = [:],
        body: ByteBuffer? = nil, streaming: HTTPClientRequest.Body? = nil,
        payloadHash: String = SigV4.emptyPayloadHash
    ) async throws -> HTTPClientResponse {
        let path = objectPath(key)
        let queryText = SigV4.canonicalQuery(query)
        var request = HTTPClientRequest(url: baseURL + path + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        var signedHeaders = headers
        signedHeaders["host"] = host
        let authorization = signer.sign(
            method: method.rawValue, path: path, query: query, headers: signedHeaders,
            payloadHash: payloadHash, date: Date())
        for (name, value) in signedHeaders.merging(authorization, uniquingKeysWith: { $1 }) { request.headers.replaceOrAdd(name: name, value: value) }
        if let body {
            request.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
            request.body = .bytes(body)
        } else if let streaming {
            request.body = streaming
        }
        do {
            return try await client.execute(request, timeout: .seconds(300))
        } catch {
            throw AppError(.unavailable, "The object store at \(baseURL) did not answer: \(error)")
        }
    }

    /// An error that names what S3 said (its code and message), never the credentials.
    private func failure(_ response: HTTPClientResponse, doing what: String, key: ObjectKey? = nil) async throws -> AppError {
        if response.status == .notFound, let key { return AppError.notFound("Object '\(key)'") }
        let text = String(buffer: (try? await response.body.collect(upTo: 64 << 10)) ?? ByteBuffer())
        let code = S3XML.values("Code", in: text).first ?? "HTTP \(response.status.code)"
        let message = S3XML.values("Message", in: text).first.map { ": \($0)" } ?? ""
        return AppError(.unavailable, "The object store refused to \(what): \(code)\(message)")
    }
}

/// Cuts a stream of chunks into parts of `partSize` bytes (the last one shorter).
struct PartReader {
    var chunks: ObjectStream.AsyncIterator
    let partSize: Int
    private var leftover = ByteBuffer()
    private var ended = false

    init(chunks: ObjectStream.AsyncIterator, partSize: Int) {
        self.chunks = chunks
        self.partSize = partSize
    }

    /// The next part, nil when no byte remains.
    mutating func next() async throws -> ByteBuffer? {
        var part = ByteBuffer()
        while part.readableBytes < partSize {
            if leftover.readableBytes == 0 {
                guard !ended, let chunk = try await chunks.next() else {
                    ended = true
                    break
                }
                leftover = chunk
            }
            let take = min(partSize - part.readableBytes, leftover.readableBytes)
            part.writeImmutableBuffer(leftover.readSlice(length: take)!)
        }
        return part.readableBytes == 0 ? nil : part
    }
}

/// The few S3 XML answers we read (list, multipart, errors) are flat: values by element name are enough.
enum S3XML {
    static func values(_ element: String, in text: String) -> [String] {
        var values: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "<\(element)>"), let close = rest.range(of: "</\(element)>", range: open.upperBound..<rest.endIndex) {
            values.append(unescape(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return values
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
