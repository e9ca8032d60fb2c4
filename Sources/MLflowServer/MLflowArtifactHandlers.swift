import AITIPCore
import Foundation
import HTTPServer
import HTTPTypes
import Hummingbird
import NIOCore
import Tracking

/// The proxied artifact store (`mlflow server --serve-artifacts`): the client uploads, lists, downloads and deletes
/// files under `mlflow-artifacts:/<experiment>/<run>/artifacts/…` through these routes.
struct MLflowArtifactHandlers: Sendable {
    let artifacts: ArtifactService
    /// The largest file one upload may carry (max_artifact_bytes).
    let maxBytes: Int

    static let filePath = "artifacts/**"

    /// `uploads` is not body-limited: the upload reads its own body, up to `maxBytes`, after the permission check.
    func register(reads: RouterGroup<AppRequestContext>, mutations: RouterGroup<AppRequestContext>, uploads: RouterGroup<AppRequestContext>) {
        for (method, path) in [(HTTPRequest.Method.put, Self.filePath), (.get, Self.filePath), (.get, "artifacts"), (.delete, Self.filePath)] {
            _ = MLflowRoutePermissions.declaration(method, path)
        }
        uploads.put(RouterPath(Self.filePath)) { request, context in
            try await artifacts.upload(try ArtifactLocation(path: Self.path(context)), caller: RequestScope.caller) {
                let tooLarge = AppError(
                    .payloadTooLarge, "The file is larger than the \(maxBytes) bytes this server accepts for one artifact (AITIP_MAX_ARTIFACT_BYTES)")
                if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes { throw tooLarge }
                do {
                    return Data(try await request.body.collect(upTo: maxBytes).readableBytesView)
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw tooLarge
                }
            }
            return Response(status: .ok)
        }
        reads.get(RouterPath(Self.filePath)) { _, context in
            let location = try ArtifactLocation(path: Self.path(context))
            let data = try await artifacts.download(location, caller: RequestScope.caller)
            let name = location.relativePath.split(separator: "/").last.map(String.init) ?? "artifact"
            return Response(
                status: .ok,
                headers: [
                    .contentType: ContentTypes.guess(name),
                    .contentDisposition: "attachment; filename=\"\(name.replacingOccurrences(of: "\"", with: ""))\"",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        reads.get("artifacts") { request, _ in
            let path = MLflowCall.formDecodedQuery(request.uri.query).first { $0.0 == "path" }?.1 ?? ""
            guard !path.isEmpty else { return MLflowResponse.empty() }
            let entries = try await artifacts.list(try ArtifactLocation(path: path), caller: RequestScope.caller)
            guard !entries.isEmpty else { return MLflowResponse.empty() }
            return try MLflowResponse.json(["files": entries.map { FileInfo(path: $0.name, is_dir: $0.isDirectory, file_size: $0.size) }])
        }
        mutations.delete(RouterPath(Self.filePath)) { _, context in
            try await artifacts.delete(try ArtifactLocation(path: Self.path(context)), caller: RequestScope.caller)
            return MLflowResponse.empty()
        }
    }

    struct FileInfo: Encodable {
        var path: String
        var is_dir: Bool
        var file_size: Int?
    }

    static func path(_ context: AppRequestContext) -> String {
        context.parameters.getCatchAll().joined(separator: "/")
    }
}

enum ContentTypes {
    static func guess(_ name: String) -> String {
        switch name.split(separator: ".").last?.lowercased() ?? "" {
        case "txt", "log", "yaml", "yml", "md": "text/plain; charset=utf-8"
        case "json": "application/json"
        case "html", "htm": "text/plain; charset=utf-8" // never rendered as a page from this origin
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "csv": "text/csv; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}
