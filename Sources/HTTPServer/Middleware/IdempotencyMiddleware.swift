import AITIPCore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SQLKit
import Storage
import Synchronization

/// `Idempotency-Key` on the POSTs that start work (ARCHITECTURE §5): a client that lost the answer to a submission
/// sends it again with the same key and gets the first answer back instead of starting the work twice.
///
/// Keys belong to the user who sent them and live for `ttl`. The first request with a key claims it (a row with no
/// answer yet); its successful answer is stored and replayed, marked `Idempotency-Replayed: true`, to every repeat
/// with the same method, path and body. A repeat while the first is still running gets 409; the same key with a
/// different request gets 422. A request that fails releases its key, so a corrected request may use it again.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotency-Replayed")!
    static let ttl: TimeInterval = 24 * 3600
    /// Answers larger than this are not kept (the key is released); answers of these routes are a few KB.
    static let maxStoredBody = 1 << 20

    let database: Database
    /// The routes that honour the header are the operations marked `x-aitip-idempotent` (those that start work).
    let policy: RoutePolicy

    init(database: Database, policy: RoutePolicy) {
        self.database = database
        self.policy = policy
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key = request.headers[Self.header], policy.route(request.method, context.endpointPath)?.idempotent == true,
            let principal = context.principal
        else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw AppError.badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")
        }
        var request = request
        let body = try await request.body.collect(upTo: .max)
        request.body = RequestBody(buffer: body)
        var hash = SHA256()
        hash.update(data: Data("\(request.method.rawValue) \(request.uri.path)\n".utf8))
        hash.update(data: Data(body.readableBytesView))
        let fingerprint = hash.finalize().hexString
        let owner = principal.userId

        switch try await claim(key, owner: owner, fingerprint: fingerprint) {
        case .claimed: break
        case .replay(let stored): return stored
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            await release(key, owner: owner)
            throw error
        }
        guard (200..<300).contains(response.status.code) else {
            await release(key, owner: owner)
            return response
        }
        let collector = CollectingBodyWriter(limit: Self.maxStoredBody)
        try await response.body.write(collector.handle)
        guard let answer = collector.collected else {
            await release(key, owner: owner)
            throw AppError(.internalError, "The answer was too large to keep for Idempotency-Key")
        }
        do {
            try await database.transaction { sql in
                try await sql.update("idempotency_keys")
                    .set("status", to: Int(response.status.code))
                    .set("content_type", to: response.headers[.contentType])
                    .set("location", to: response.headers[.location])
                    .set("body", to: Data(answer.readableBytesView))
                    .where("user_id", .equal, owner).where("key", .equal, key).run()
            }
        } catch {
            // The work has started: the caller gets its answer. The key stays claimed, so repeats are told to wait
            // (409) until it expires rather than starting the work again.
            context.logger.error("could not store the answer for an Idempotency-Key", metadata: ["error": "\(error)"])
        }
        var replayable = response
        replayable.body = ResponseBody(byteBuffer: answer)
        return replayable
    }

    private enum Claim {
        case claimed
        case replay(Response)
    }

    private func claim(_ key: String, owner: UUID, fingerprint: String) async throws -> Claim {
        let now = Date().epochMilliseconds
        return try await database.transaction { sql in
            let inserted = try await sql.raw(
                """
                INSERT INTO idempotency_keys (user_id, key, fingerprint, created_ms) VALUES (\(bind: owner), \(bind: key), \(bind: fingerprint), \(bind: now))
                ON CONFLICT (user_id, key) DO NOTHING RETURNING key
                """
            ).first()
            if inserted != nil { return .claimed }
            guard
                let row = try await sql.select().columns("fingerprint", "status", "content_type", "location", "body", "created_ms")
                    .from("idempotency_keys").where("user_id", .equal, owner).where("key", .equal, key).first()
            else {
                // Claimed and released (its request failed) between the two statements.
                throw AppError.conflict("The earlier request with this Idempotency-Key has just failed; send this one again")
            }
            if try row.decode(column: "created_ms", as: Int64.self) < now - Int64(Self.ttl * 1000) {
                try await sql.update("idempotency_keys").set("fingerprint", to: fingerprint).set("created_ms", to: now)
                    .set("status", to: SQLLiteral.null).set("content_type", to: SQLLiteral.null).set("location", to: SQLLiteral.null)
                    .set("body", to: SQLLiteral.null).where("user_id", .equal, owner).where("key", .equal, key).run()
                return .claimed
            }
            guard try row.decode(column: "fingerprint", as: String.self) == fingerprint else {
                throw AppError(.validation, "This Idempotency-Key was used with a different request; use a new key for a new request")
            }
            guard let status = try row.decode(column: "status", as: Int?.self) else {
                throw AppError.conflict("A request with this Idempotency-Key is still being processed; retry later")
            }
            var headers: HTTPFields = [Self.replayedHeader: "true"]
            if let type = try row.decode(column: "content_type", as: String?.self) { headers[.contentType] = type }
            if let location = try row.decode(column: "location", as: String?.self) { headers[.location] = location }
            let body = try row.decode(column: "body", as: Data?.self) ?? Data()
            return .replay(Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body))))
        }
    }

    private func release(_ key: String, owner: UUID) async {
        do {
            try await database.transaction { sql in
                try await sql.delete(from: "idempotency_keys").where("user_id", .equal, owner).where("key", .equal, key)
                    .where("status", .is, SQLLiteral.null).run()
            }
        } catch {
            Logger(label: "aitip.idempotency").warning("could not release an Idempotency-Key", metadata: ["error": "\(error)"])
        }
    }

}

/// Collects a response body into one buffer, up to a limit (nil beyond it).
private struct CollectingBodyWriter: ResponseBodyWriter {
    private final class Storage: @unchecked Sendable {
        var buffer = ByteBuffer()
        var overflowed = false
    }

    let limit: Int
    private let storage = Storage()

    init(limit: Int) { self.limit = limit }

    var handle: any ResponseBodyWriter { self }
    var collected: ByteBuffer? { storage.overflowed ? nil : storage.buffer }

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard !storage.overflowed else { return }
        if storage.buffer.readableBytes + buffer.readableBytes > limit {
            storage.overflowed = true
            storage.buffer = ByteBuffer()
        } else {
            var buffer = buffer
            storage.buffer.writeBuffer(&buffer)
        }
    }

    mutating func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
        for buffer in buffers { try await write(buffer) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// The stored claims and answers of `Idempotency-Key` (this module's table).
package enum IdempotencyKeys {
    /// Drops keys past their 24 hours (run by App's maintenance service, not on the request path).
    package static func dropExpired(database: Database, now: Date) async throws {
        let cutoff = now.addingTimeInterval(-IdempotencyMiddleware.ttl).epochMilliseconds
        try await database.transaction { sql in
            try await sql.delete(from: "idempotency_keys").where("created_ms", .lessThan, cutoff).run()
        }
    }
}
