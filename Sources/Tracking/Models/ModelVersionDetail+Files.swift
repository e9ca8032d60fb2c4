import AITIPCore
import ObjectStore

/// A version's files as other modules use them (an inference runtime or an evaluation packs them for a workload).
extension ModelVersionDetail {
    package var uri: String { "models:/\(modelName)/\(version.version)" }

    /// Where the version's files lie in this server's artifact store; files elsewhere are a validation error of the
    /// request field `field`.
    package func artifactPrefix(field: String) throws -> ObjectKey {
        guard version.storagePath.hasPrefix("mlflow-artifacts:/"), let prefix = try ArtifactLocation(uri: version.storagePath).key else {
            throw AppError.validation([
                FieldError(field: field, message: "\(uri)'s files are not in this server's artifact store (\(version.storagePath))")
            ])
        }
        return prefix
    }

    /// Refuses files that are not an MLflow model (no `MLmodel` at their top), saying what to do `otherwise`.
    package func requireMLflowModel(_ files: [String], field: String, otherwise: String) throws {
        guard files.contains("MLmodel") else {
            throw AppError.validation([
                FieldError(
                    field: field,
                    message: "\(uri) has no MLmodel file: it was not logged as an MLflow model (mlflow.<flavor>.log_model); \(otherwise)")
            ])
        }
    }
}

/// MLflow's own scoring server (`/ping`, `/health`, `/version`, `/invocations` with every input format `mlflow models
/// serve` takes), loaded with an MLflow model's folder and run by uvicorn on a Unix socket: what a replica of an
/// `mlflow` inference service runs, and what a serving evaluation measures. Its Python needs `mlflow` and `uvicorn`.
package enum MLflowScoringServer {
    /// The script's name, and the folder beside it the model's files go in unless `AITIP_SERVE_MODEL_DIR` names one.
    package static let script = ".aitip-mlflow-serve.py"
    package static let modelFolder = "model"

    package static let source = """
        # Written by aitip: serves an MLflow model with MLflow's scoring server on the Unix socket $AITIP_SERVE_SOCKET;
        # the model is $AITIP_SERVE_MODEL_DIR, or ./model beside this script.
        import os

        import uvicorn
        from mlflow.pyfunc import load_model, scoring_server

        here = os.path.dirname(os.path.abspath(__file__))
        app = scoring_server.init(load_model(os.environ.get("AITIP_SERVE_MODEL_DIR") or os.path.join(here, "model")))
        uvicorn.run(app, uds=os.environ["AITIP_SERVE_SOCKET"], log_level="info", access_log=False)

        """
}
