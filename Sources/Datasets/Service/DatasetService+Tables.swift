import AITIPCore
import Crypto
import Foundation
import Identity

/// Tables for other modules: one csv file of a version, found for a caller (an evaluation being submitted) and read
/// back later by its content address, so that a reader sees exactly the bytes that were chosen.
extension DatasetService {
    /// A csv file of a dataset version, with the organization whose blob holds it.
    package struct TableFile: Sendable {
        package var dataset: Dataset
        package var version: DatasetVersion
        package var file: DatasetFile
    }

    /// The file `path` of the version (`nil`: the dataset's latest), or the version's only csv file when no path is
    /// given. The caller must be able to read the dataset.
    package func tableFile(_ datasetId: UUID, version name: String?, path: String?, caller: Caller) async throws -> TableFile {
        let (dataset, version, files) = try await versionFiles(datasetId, version: name, path: path, caller: caller)
        let tables = files.filter { $0.path.lowercased().hasSuffix(".csv") }
        guard let file = tables.first, tables.count == 1 || path != nil else {
            let message =
                path != nil
                ? "version \(version.version) has no csv file '\(path!)'"
                : tables.isEmpty
                    ? "version \(version.version) has no csv file"
                    : "version \(version.version) has \(tables.count) csv files: say which one with dataset.path"
            throw AppError.validation([FieldError(field: "dataset.path", message: message)])
        }
        return TableFile(dataset: dataset, version: version, file: file)
    }

    /// The file `path` of a version (`nil`: the dataset's latest), or all of its files, for a job that takes them
    /// with it (an evaluation's script). The caller must be able to read the dataset.
    package func versionFiles(
        _ datasetId: UUID, version name: String?, path: String?, caller: Caller
    ) async throws -> (dataset: Dataset, version: DatasetVersion, files: [DatasetFile]) {
        let dataset = try await dataset(datasetId, permission: Permission(.data, .read), caller: caller)
        guard let name = name ?? dataset.version else {
            throw AppError.validation([FieldError(field: "dataset.version", message: "dataset '\(dataset.name)' has no versions yet")])
        }
        let (version, files) = try await database.read { sql -> (DatasetVersion, [DatasetFile]) in
            let version = try await self.version(named: name, of: dataset, on: sql)
            return (version, try await DatasetStore.files(of: version.id, path: path, on: sql))
        }
        if let path, files.isEmpty {
            throw AppError.validation([FieldError(field: "dataset.path", message: "version \(name) has no file '\(path)'")])
        }
        return (dataset, version, files)
    }

    /// A stored file's table, read by its content address in `orgId` and checked against its sha256. No caller is
    /// checked: the asking module chose the file for a caller who could read it.
    package func readTable(orgId: UUID, file: DatasetFile, maxRows: Int) async throws -> CSVTable {
        let data = try await store.get(try Self.blobKey(orgId: orgId, sha256: file.sha256))
        guard SHA256.hash(data: data).hexString == file.sha256 else {
            throw AppError(.internalError, "the stored body of \(file.path) does not match its sha256")
        }
        return try CSVTable(parsing: Array(data), maxRows: maxRows)
    }
}
