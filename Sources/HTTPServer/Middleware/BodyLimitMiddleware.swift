import AITIPCore
import Hummingbird

/// Refuses bodies over the configured size with 413 before any handler reads them: by Content-Length when the
/// client declares it, and while collecting when it streams. An empty POST/PUT/PATCH body is read as `{}`: the
/// generated decoders would otherwise fail on optional bodies (logout) and report "not JSON" instead of naming
/// the missing fields. Artifact uploads and code packages (raw bytes) have their own limits and are passed on as sent;
/// dataset upload chunks are not collected at all.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let maxBytes: Int
    let maxArtifactBytes: Int
    let maxCodeBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Dataset upload chunks stream to disk as they arrive; the upload's declared size bounds them.
        if request.method == .put, request.uri.path.hasPrefix("/api/v1/dataset-uploads/") { return try await next(request, context) }
        let isArtifact = request.uri.path.contains("/mlflow-artifacts/")
        let isCode = request.uri.path == "/api/v1/training/code"
        let maxBytes = isArtifact ? maxArtifactBytes : isCode ? maxCodeBytes : maxBytes
        let tooLarge = AppError(.payloadTooLarge, isArtifact
            ? "The file is larger than the \(maxBytes) bytes this server accepts for one artifact (AITIP_MAX_ARTIFACT_BYTES)"
            : isCode ? "The code package is larger than the \(maxBytes) bytes this server accepts (max_code_bytes, AITIP_MAX_CODE_BYTES). Leave data and checkpoints out of it."
            : "The request body is larger than the \(maxBytes) bytes this server accepts (AITIP_MAX_BODY_BYTES)")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes {
            throw tooLarge
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
        if body.readableBytes == 0, !isArtifact, !isCode, [.post, .put, .patch].contains(request.method) {
            var head = request.head
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = "2"
            request = Request(head: head, body: .init(buffer: ByteBuffer(string: "{}")))
        }
        return try await next(request, context)
    }
}
