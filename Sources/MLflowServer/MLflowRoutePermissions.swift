import AITIPCore
import HTTPTypes

/// Who may call each MLflow route, declared in one table as the API's operations declare it in openapi.yaml
/// (`x-aitip-permission`). The services check the permission on the project the call reaches; this table says what
/// they check, so the access matrix (Tests/HTTPServerTests/AccessMatrix) can derive every caller's expected answer
/// from it. Registering a route that is not listed here stops the server at start.
package enum MLflowRoutePermissions {
    /// A route below every MLflow prefix: method and path as registered ("experiments/create", "artifacts/**").
    package struct Route: Hashable, Sendable, CustomStringConvertible {
        package var method: HTTPRequest.Method
        package var path: String
        package var description: String { "\(method.rawValue) \(path)" }
    }

    /// Which prefix family a route is registered under: the MLflow REST API or the proxied artifact store.
    package enum Family: Sendable {
        /// `/api/2.0/mlflow`; `apiV3` is `/api/3.0/mlflow`, where MLflow 3 puts its trace calls.
        case api, apiV3, artifacts

        package var prefixes: [String] {
            switch self {
            case .api: MLflowRoutes.apis
            case .apiV3: MLflowRoutes.apisV3
            case .artifacts: MLflowRoutes.artifactAPIs
            }
        }
    }

    package struct Declaration: Sendable {
        package var permission: Permission
        package var family: Family
        /// A POST that only reads (MLflow's searches): neither audited nor changing anything.
        package var readOnly: Bool
    }

    private static func api(_ method: HTTPRequest.Method, _ path: String, _ permission: Permission, readOnly: Bool = false) -> (
        Route, Declaration
    ) {
        (Route(method: method, path: path), Declaration(permission: permission, family: .api, readOnly: readOnly))
    }

    private static func apiV3(_ method: HTTPRequest.Method, _ path: String, _ permission: Permission, readOnly: Bool = false) -> (
        Route, Declaration
    ) {
        (Route(method: method, path: path), Declaration(permission: permission, family: .apiV3, readOnly: readOnly))
    }

    private static func artifacts(_ method: HTTPRequest.Method, _ path: String, _ permission: Permission) -> (Route, Declaration) {
        (Route(method: method, path: path), Declaration(permission: permission, family: .artifacts, readOnly: false))
    }

    /// Every MLflow route and the permission it needs. Not listed: the public server-info route, the public OTLP route
    /// that only answers it is not supported, and the part route of multipart uploads, which the upload's own secret
    /// authorizes.
    package static let declared: [Route: Declaration] = Dictionary(
        uniqueKeysWithValues: [
            // experiments
            api(.post, "experiments/create", .experimentsWrite),
            api(.get, "experiments/get", .experimentsRead),
            api(.get, "experiments/get-by-name", .experimentsRead),
            api(.post, "experiments/search", .experimentsRead, readOnly: true),
            api(.get, "experiments/search", .experimentsRead),
            api(.post, "experiments/update", .experimentsWrite),
            api(.post, "experiments/delete", .experimentsDelete),
            api(.post, "experiments/restore", .experimentsWrite),
            api(.post, "experiments/set-experiment-tag", .experimentsWrite),
            api(.post, "experiments/delete-experiment-tag", .experimentsWrite),
            // runs
            api(.post, "runs/create", .experimentsWrite),
            api(.get, "runs/get", .experimentsRead),
            api(.post, "runs/update", .experimentsWrite),
            api(.post, "runs/delete", .experimentsDelete),
            api(.post, "runs/restore", .experimentsWrite),
            api(.post, "runs/search", .experimentsRead, readOnly: true),
            api(.post, "runs/log-metric", .experimentsWrite),
            api(.post, "runs/log-parameter", .experimentsWrite),
            api(.post, "runs/set-tag", .experimentsWrite),
            api(.post, "runs/delete-tag", .experimentsWrite),
            api(.post, "runs/log-batch", .experimentsWrite),
            api(.post, "runs/log-inputs", .experimentsWrite),
            api(.post, "runs/outputs", .experimentsWrite),
            api(.post, "runs/log-model", .experimentsWrite),
            api(.get, "metrics/get-history", .experimentsRead),
            api(.get, "artifacts/list", .experimentsRead),
            // logged models (MLflow 3)
            api(.post, "logged-models", .experimentsWrite),
            api(.get, "logged-models/:model_id", .experimentsRead),
            api(.patch, "logged-models/:model_id", .experimentsWrite),
            api(.delete, "logged-models/:model_id", .experimentsDelete),
            api(.patch, "logged-models/:model_id/tags", .experimentsWrite),
            api(.delete, "logged-models/:model_id/tags/:tag_key", .experimentsWrite),
            api(.post, "logged-models/search", .experimentsRead, readOnly: true),
            // model registry
            api(.post, "registered-models/create", .releaseWrite),
            api(.get, "registered-models/get", .releaseRead),
            api(.patch, "registered-models/update", .releaseWrite),
            api(.post, "registered-models/rename", .releaseWrite),
            api(.delete, "registered-models/delete", .releaseDelete),
            api(.post, "registered-models/set-tag", .releaseWrite),
            api(.delete, "registered-models/delete-tag", .releaseWrite),
            api(.post, "registered-models/alias", .releaseWrite),
            api(.delete, "registered-models/alias", .releaseWrite),
            api(.get, "registered-models/alias", .releaseRead),
            api(.get, "registered-models/search", .releaseRead),
            api(.post, "registered-models/search", .releaseRead, readOnly: true),
            api(.post, "registered-models/get-latest-versions", .releaseRead, readOnly: true),
            api(.get, "registered-models/get-latest-versions", .releaseRead),
            api(.post, "model-versions/create", .releaseWrite),
            api(.get, "model-versions/get", .releaseRead),
            api(.get, "model-versions/get-download-uri", .releaseRead),
            api(.patch, "model-versions/update", .releaseWrite),
            api(.delete, "model-versions/delete", .releaseDelete),
            api(.post, "model-versions/transition-stage", .releaseWrite),
            api(.post, "model-versions/set-tag", .releaseWrite),
            api(.delete, "model-versions/delete-tag", .releaseWrite),
            api(.get, "model-versions/search", .releaseRead),
            api(.post, "model-versions/search", .releaseRead, readOnly: true),
            // the proxied artifact store
            // webhooks (MLflow 3): registry events of the project
            api(.post, "webhooks", .releaseWrite),
            api(.get, "webhooks", .releaseRead),
            api(.get, "webhooks/:webhook_id", .releaseRead),
            api(.patch, "webhooks/:webhook_id", .releaseWrite),
            api(.delete, "webhooks/:webhook_id", .releaseDelete),
            api(.post, "webhooks/:webhook_id/test", .releaseWrite),
            // traces (MLflow 3): summaries under the v3 prefix, tags and deletion under v2, as the client calls them
            apiV3(.post, "traces", .experimentsWrite),
            apiV3(.get, "traces/:trace_id", .experimentsRead),
            apiV3(.post, "traces/search", .experimentsRead, readOnly: true),
            api(.patch, "traces/:trace_id/tags", .experimentsWrite),
            api(.delete, "traces/:trace_id/tags", .experimentsWrite),
            api(.post, "traces/delete-traces", .experimentsDelete),
            artifacts(.put, MLflowArtifactHandlers.filePath, .experimentsWrite),
            artifacts(.get, MLflowArtifactHandlers.filePath, .experimentsRead),
            artifacts(.get, "artifacts", .experimentsRead),
            artifacts(.delete, MLflowArtifactHandlers.filePath, .experimentsDelete),
            artifacts(.post, "mpu/create/**", .experimentsWrite),
            artifacts(.post, "mpu/complete/**", .experimentsWrite),
            artifacts(.post, "mpu/abort/**", .experimentsWrite),
        ])

    /// The declaration of a route being registered; a route without one is a programming error caught at start.
    static func declaration(_ method: HTTPRequest.Method, _ path: String, readOnly: Bool = false) -> Declaration {
        guard let found = declared[Route(method: method, path: path)] else {
            preconditionFailure("MLflow route \(method.rawValue) \(path) declares no permission in MLflowRoutePermissions.declared")
        }
        precondition(
            found.readOnly == readOnly, "MLflow route \(method.rawValue) \(path): registered read-only \(readOnly), declared \(found.readOnly)")
        return found
    }
}
