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
