import AITIPCore
import Foundation
import HTTPServer
import HTTPTypes
import Hummingbird
import NIOCore
import ObjectStore
import Tracking

/// The proxied artifact store (`mlflow server --serve-artifacts`): the client uploads, lists, downloads and deletes
/// files under `mlflow-artifacts:/<experiment>/<run>/artifacts/…` through these routes, and sends large files in parts
/// (`mpu/…`) when `server-info` offers multipart uploads. Bytes stream through in both directions.
struct MLflowArtifactHandlers: Sendable {
    let artifacts: ArtifactService

    static let filePath = "artifacts/**"
    static let partPath = "mpu/parts/:upload/:part"
    /// The header that carries an upload's secret on its part URLs (given to the client with each URL).
    static let uploadTokenHeader = HTTPField.Name("X-Aitip-Upload-Token")!

    /// `uploads` is not body-limited: an upload streams its body to the object store, counted against
    /// max_artifact_bytes, after the permission check.
    func register(reads: RouterGroup<AppRequestContext>, mutations: RouterGroup<AppRequestContext>, uploads: RouterGroup<AppRequestContext>) {
        for (method, path) in [
            (HTTPRequest.Method.put, Self.filePath), (.get, Self.filePath), (.get, "artifacts"), (.delete, Self.filePath),
            (.post, "mpu/create/**"), (.post, "mpu/complete/**"), (.post, "mpu/abort/**"),
        ] {
            _ = MLflowRoutePermissions.declaration(method, path)
        }
        uploads.put(RouterPath(Self.filePath)) { request, context in
            try await artifacts.upload(
                try ArtifactLocation(path: Self.path(context)), caller: RequestScope.caller,
                declaredLength: request.headers[.contentLength].flatMap(Int64.init), body: .pulling(request.body))
            return Response(status: .ok)
        }
        reads.get(RouterPath(Self.filePath)) { _, context in
            let location = try ArtifactLocation(path: Self.path(context))
            let download = try await artifacts.download(location, caller: RequestScope.caller)
            let name = location.relativePath.split(separator: "/").last.map(String.init) ?? "artifact"
            return Response(
                status: .ok,
                headers: [
                    .contentType: ContentTypes.guess(name), .contentLength: String(download.size),
                    .contentDisposition: "attachment; filename=\"\(name.replacingOccurrences(of: "\"", with: ""))\"",
                ],
                body: ResponseBody(asyncSequence: download.body))
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
        registerMultipart(mutations)
    }

    /// `mpu/create` answers one URL per part; the client PUTs each part there with the headers given (the upload's
    /// secret), then lists the parts' ETags in `mpu/complete`.
    private func registerMultipart(_ mutations: RouterGroup<AppRequestContext>) {
        mutations.post("mpu/create/**") { request, context in
            let call = try await MLflowCall.parse(request, context: context)
            let location = try Self.fileLocation(context, call)
            let grant = try await artifacts.startMultipart(location, parts: try call.int("num_parts", default: 1), caller: call.caller)
            let base = try Self.partURLBase(request)
            let credentials = (1...grant.parts).map { number in
                Credential(
                    url: "\(base)/\(grant.uploadId.lowercasedString)/\(number)", part_number: number,
                    headers: [Self.uploadTokenHeader.rawName: grant.token])
            }
            return try MLflowResponse.json(CreateAnswer(upload_id: grant.uploadId.lowercasedString, credentials: credentials))
        }
        mutations.post("mpu/complete/**") { request, context in
            let call = try await MLflowCall.parse(request, context: context)
            var parts: [UploadedPart] = []
            for part in try call.objects("parts") {
                guard let number = (part["part_number"] as? NSNumber)?.intValue ?? (part["part_number"] as? String).flatMap(Int.init) else {
                    throw MLflowCall.missing("parts.part_number")
                }
                parts.append(UploadedPart(number: number, etag: part["etag"] as? String ?? ""))
            }
            try await artifacts.completeMultipart(
                try Self.fileLocation(context, call), upload: try Self.uploadId(call), parts: parts, caller: call.caller)
            return MLflowResponse.empty()
        }
        mutations.post("mpu/abort/**") { request, context in
            let call = try await MLflowCall.parse(request, context: context)
            try await artifacts.abortMultipart(try Self.fileLocation(context, call), upload: try Self.uploadId(call), caller: call.caller)
            return MLflowResponse.empty()
        }
    }

    /// The part route, authorized by the upload's secret rather than the caller's credentials: `group` has no
    /// authentication (only MLflow's error shape and the body-rate guard).
    func registerParts(on group: RouterGroup<AppRequestContext>) {
        group.put(RouterPath(Self.partPath)) { request, context in
            guard let upload = context.parameters.get("upload").flatMap(UUID.init(uuidString:)),
                let number = context.parameters.get("part").flatMap(Int.init)
            else {
                throw AppError.notFound("Multipart upload part")
            }
            let etag = try await artifacts.putPart(
                upload: upload, number: number, token: request.headers[Self.uploadTokenHeader] ?? "",
                length: request.headers[.contentLength].flatMap(Int64.init), body: .pulling(request.body))
            return Response(status: .ok, headers: [.eTag: etag])
        }
    }

    struct Credential: Encodable {
        var url: String
        var part_number: Int
        var headers: [String: String]
    }

    struct CreateAnswer: Encodable {
        var upload_id: String
        var credentials: [Credential]
    }

    /// The file a multipart call is about: the route names the directory, `path` the client's local file, whose
    /// name the artifact takes (as MLflow's server does).
    static func fileLocation(_ context: AppRequestContext, _ call: MLflowCall) throws -> ArtifactLocation {
        let local = try call.requiredString("path")
        guard let name = local.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init), name != ".", name != ".." else {
            throw MLflowCall.invalid("path", local)
        }
        return try ArtifactLocation(path: path(context) + "/" + name)
    }

    static func uploadId(_ call: MLflowCall) throws -> UUID {
        try MLflowCall.uuid(try call.requiredString("upload_id"), what: "Multipart upload \(call.string("upload_id") ?? "")")
    }

    /// Where this server takes parts, as the client reached it: the Host it sent, https when a proxy says so, and the
    /// prefix the create call came under (`…/api/2.0/mlflow-artifacts`, scoped or not).
    static func partURLBase(_ request: Request) throws -> String {
        guard let host = request.head.authority, !host.isEmpty, !host.contains("/"), !host.contains("@") else {
            throw AppError.badRequest("The request has no Host header to build the part URLs from")
        }
        let scheme = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https" ? "https" : "http"
        let path = request.uri.path
        guard let marker = path.range(of: "/mpu/create/") else { throw AppError.badRequest("Not a multipart upload route") }
        return "\(scheme)://\(host)\(path[..<marker.lowerBound])/mpu/parts"
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
