import AITIPCore
import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// Successful mutations are audited by their use case, inside their transaction. This records the ones that
/// failed or were refused, so every mutating request leaves an audit entry. Groups whose POSTs change nothing
/// (MLflow's searches) are registered without it.
package struct AuditFailureMiddleware: RouterMiddleware {
    package typealias Context = AppRequestContext
    let audit: AuditLog
    let projects: ProjectService

    package init(audit: AuditLog, projects: ProjectService) {
        self.audit = audit
        self.projects = projects
    }

    static let mutatingMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.mutatingMethods.contains(request.method) else {
            return try await next(request, context)
        }
        do {
            return try await next(request, context)
        } catch {
            let appError = ProblemMiddleware.appError(from: error, logger: context.logger)
            let target = Self.target(of: request.uri.path, parameters: context.parameters)
            let orgId = await organization(of: request, target: target, context: context)
            await audit.recordFailure(
                RequestScope.caller, orgId: orgId, action: Self.action(method: request.method, path: request.uri.path),
                targetType: target.type, targetId: target.id,
                outcome: [401, 403, 404].contains(appError.kind.status) ? .denied : .failure,
                statusCode: appError.kind.status, detail: String(appError.detail.prefix(500)))
            throw appError
        }
    }

    /// "POST /api/v1/orgs/{id}/members" → "members.post": stable names derived from the route.
    static func action(method: HTTPRequest.Method, path: String) -> String {
        let words = path.split(separator: "/").dropFirst(2).filter { UUID(uuidString: String($0)) == nil }
        return (words.isEmpty ? "api" : words.joined(separator: ".")) + "." + method.rawValue.lowercased()
    }

    /// Files the entry under the organization the request aimed at, so that organization's admins see it: the
    /// org_id in the path, else the project's organization, else org_id in the body, else the API key's
    /// organization, else the caller's only organization. Entries with none are kept but only listed by id.
    private func organization(of request: Request, target: (type: String, id: String?, orgId: UUID?), context: Context) async -> UUID? {
        if let orgId = target.orgId { return orgId }
        if let projectId = context.parameters.get("project_id").flatMap(UUID.init(uuidString:)) {
            return await projects.organization(ofProject: projectId)
        }
        // BodyLimitMiddleware has already collected JSON bodies into memory, so reading one again is cheap. A streamed
        // upload was consumed by its handler and must not be read twice, whatever its Content-Type says (reading it
        // again stopped a debug server: one failed upload labelled application/json was enough).
        if context.bodyCollected, request.headers[.contentType]?.hasPrefix("application/json") == true,
            let buffer = try? await request.body.collect(upTo: .max),
            let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any],
            let orgId = (object["org_id"] as? String).flatMap(UUID.init(uuidString:))
        {
            return orgId
        }
        guard let principal = context.principal else { return nil }
        if case .apiKey(_, let orgId, _) = principal.credential { return orgId }
        return principal.visibleOrgIds.count == 1 ? principal.visibleOrgIds.first : nil
    }

    static func target(of path: String, parameters: Parameters) -> (type: String, id: String?, orgId: UUID?) {
        let segments = path.split(separator: "/").map(String.init)
        var type = segments.last ?? "api"
        var id: String?
        if let last = segments.last, UUID(uuidString: last) != nil, segments.count >= 2 {
            id = last
            type = segments[segments.count - 2]
        }
        let orgId = parameters.get("org_id").flatMap(UUID.init(uuidString:))
        return (type, id, orgId)
    }
}
