import AITIPAPI
import AITIPClient
import AITIPCore
import ArgumentParser
import Crypto
import Foundation
import OpenAPIRuntime

struct DatasetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets", abstract: "Datasets: create, push files as a new version (resumable), pull a version, versions, lineage.",
        discussion: """
            A dataset is referred to by id, or by name with --project.
              aitip datasets create --project P --format csv reviews
              aitip datasets push --project P reviews ./data --version v1     # a file, a directory or a .tar/.tar.gz/.tgz
              aitip datasets pull --project P reviews --version v1 --dir ./reviews-v1
            Push sends only content the organization does not hold yet, in chunks; run the same push again after an
            interruption and it continues where it stopped. Pull verifies every file's sha256 and skips files already there.
            """,
        subcommands: [Create.self, List.self, Get.self, Push.self, Pull.self, Versions.self, Lineage.self, Delete.self])

    static let columns = ["id", "name", "format", "version", "size_bytes", "num_rows", "tags"]

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty dataset.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "csv, jsonl, json, parquet, tfrecord, arrow, images, audio, video, text or mixed.") var format: String
        @Option(help: "Description.") var description: String?
        @Option(help: "Tag (repeatable).") var tag: [String] = []
        @Argument(help: "Dataset name.") var name: String

        func run() async throws {
            try await ClientCall.show(options, columns: DatasetsCommand.columns) { api in
                try await api.createDataset(
                    path: .init(projectId: project),
                    body: .json(.init(name: name, description: description, format: format, tags: tag))
                ).created.body.json
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Datasets of a project, newest first.")
        @OptionGroup var options: ClientOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Part of the name.") var search: String?
        @Option(help: "Only datasets with this tag.") var tag: String?
        @Option(help: "Page cursor.") var cursor: String?

        func run() async throws {
            try await ClientCall.show(options, columns: DatasetsCommand.columns) { api in
                try await api.listDatasets(path: .init(projectId: project), query: .init(search: search, tag: tag, cursor: cursor)).ok.body.json
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A dataset, or one version with its files (--version).")
        @OptionGroup var options: ClientOptions
        @OptionGroup var reference: DatasetReference
        @Option(help: "Show this version and its files.") var version: String?

        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let id = try await reference.id(client)
                guard let version else {
                    try Output.show(
                        try await client.api.getDataset(path: .init(datasetId: id)).ok.body.json, format: options.output,
                        columns: ["id", "name", "format", "version", "size_bytes", "num_rows", "checksum", "storage_path", "tags"])
                    return
                }
                let shown = try await client.api.getDatasetVersion(path: .init(datasetId: id, version: version)).ok.body.json
                try Output.show(
                    shown, format: options.output, columns: ["id", "version", "file_count", "size_bytes", "num_rows", "checksum", "changes"])
                if options.output == .table {
                    let files = try await DatasetsCommand.allFiles(id, version: version, client: client)
                    print("")
                    print(
                        Output.table(
                            files.map { ["path": $0.path, "size_bytes": $0.sizeBytes, "sha256": $0.sha256] },
                            columns: ["path", "size_bytes", "sha256"]),
                        terminator: "")
                }
            }
        }
    }

    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a file, a directory or an archive (.tar, .tar.gz, .tgz) as a new version.",
            discussion: "Paths in the version are relative to the directory (or the archive's root); a single file keeps its name.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var reference: DatasetReference
        @Option(help: "Name of the new version.") var version: String
        @Option(help: "What changed.") var changes: String?
        @Option(help: "Start from this version's files (the pushed files are added or replace same-path files).") var base: String?
        @Option(help: "Bytes per request, in MiB.") var chunkMib: Int = 64
        @Option(help: "Id of a dataset version this one was made from (repeatable); recorded in the lineage.") var derivedFrom: [String] = []
        @Option(help: "How it was made from --derived-from, as a JSON object (script, parameters, …).") var transformation: String?
        @Flag(help: "Upload an archive as one file instead of its contents.") var keepArchive = false
        @Argument(help: "File, directory or archive.") var path: String

        func run() async throws {
            try await runClient {
                guard chunkMib >= 1 else { throw ValidationError("--chunk-mib must be at least 1") }
                typealias Derivation = Components.Schemas.DatasetVersionCreate.DerivedFromPayloadPayload
                var transform: Derivation.TransformationPayload?
                if let transformation {
                    do {
                        transform = try JSONDecoder().decode(Derivation.TransformationPayload.self, from: Data(transformation.utf8))
                    } catch {
                        throw ValidationError("--transformation must be a JSON object, e.g. '{\"script\": \"clean.py\"}'")
                    }
                }
                let client = try APIClient(server: options.server)
                let id = try await reference.id(client)
                let (files, cleanup) = try LocalFiles.collect(path, extractArchives: !keepArchive)
                defer { cleanup() }
                guard !files.isEmpty else { throw CLIError(message: "\(path) holds no files", exitCode: 2) }
                var manifest: [Components.Schemas.DatasetFile] = []
                var entries: [(LocalFiles.Entry, String)] = []
                for entry in files { entries.append((entry, try LocalFiles.sha256(of: entry.url))) }
                let total = entries.reduce(Int64(0)) { $0 + $1.0.size }
                let bar = ProgressBar("push", total: total)
                var skipped = 0
                for (entry, digest) in entries {
                    let sent = try await DatasetsCommand.upload(
                        entry, sha256: digest, dataset: id, chunk: Int64(chunkMib) << 20, client: client, bar: bar)
                    if !sent { skipped += 1 }
                    manifest.append(.init(path: entry.path, sizeBytes: entry.size, sha256: digest))
                }
                bar.finish()
                if skipped > 0 {
                    FileHandle.standardError.write(Data("\(skipped) of \(entries.count) files were already stored; nothing sent for them\n".utf8))
                }
                let request = Components.Schemas.DatasetVersionCreate(
                    version: version, changes: changes, baseVersion: base, files: manifest,
                    derivedFrom: derivedFrom.isEmpty ? nil : derivedFrom.map { Derivation(datasetVersionId: $0, transformation: transform) })
                try Output.show(
                    try await client.api.createDatasetVersion(path: .init(datasetId: id), body: .json(request)).created.body.json,
                    format: options.output, columns: ["id", "version", "file_count", "size_bytes", "num_rows", "checksum"])
            }
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a version (or one file of it), verifying every sha256.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var reference: DatasetReference
        @Option(help: "Version (default: the latest).") var version: String?
        @Option(help: "Only this file of the version.") var path: String?
        @Option(help: "Directory to write into (default: ./NAME-VERSION).") var dir: String?

        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let id = try await reference.id(client)
                let shown = try await client.api.getDataset(path: .init(datasetId: id)).ok.body.json
                guard let version = version ?? shown.version else { throw CLIError(message: "The dataset has no versions yet", exitCode: 1) }
                let directory = URL(fileURLWithPath: dir ?? "\(shown.name)-\(version)").standardizedFileURL
                var files = try await DatasetsCommand.allFiles(id, version: version, client: client)
                if let path { files = files.filter { $0.path == path } }
                guard !files.isEmpty else {
                    throw CLIError(message: path.map { "'\($0)' is not a file of version \(version)" } ?? "No files", exitCode: 1)
                }
                let total = files.reduce(Int64(0)) { $0 + $1.sizeBytes }
                let bar = ProgressBar("pull", total: total)
                var skipped = 0
                for file in files {
                    let (relative, expected, size) = (file.path, file.sha256, file.sizeBytes)
                    let target = try LocalFiles.safeTarget(relative, in: directory)
                    if FileManager.default.fileExists(atPath: target.path), (try? LocalFiles.sha256(of: target)) == expected {
                        skipped += 1
                        bar.skip(size)
                        continue
                    }
                    let digest = try await client.download(dataset: id, version: version, path: relative, to: target) { bar.advance($0) }
                    guard digest == expected else {
                        try? FileManager.default.removeItem(at: target)
                        throw CLIError(
                            message: "\(relative): received content has sha256 \(digest), the manifest says \(expected); removed it", exitCode: 1)
                    }
                }
                bar.finish()
                print("\(files.count) files of \(shown.name):\(version) in \(directory.path)" + (skipped > 0 ? " (\(skipped) already there)" : ""))
            }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Versions of a dataset, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var reference: DatasetReference

        func run() async throws {
            try await ClientCall.show(options, columns: ["version", "file_count", "size_bytes", "num_rows", "checksum", "created_at", "changes"]) {
                api in
                try await api.listDatasetVersions(path: .init(datasetId: try await reference.id(api)), query: .init(limit: 500)).ok.body.json
            }
        }
    }

    struct Lineage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What a version was made from (upstream) and what depends on it (downstream).")
        @OptionGroup var options: ClientOptions
        @OptionGroup var reference: DatasetReference
        @Option(help: "Version (default: every version).") var version: String?
        @Option(help: "upstream, downstream or both.") var direction: String = "both"
        @Option(help: "Edges to follow, 1-10.") var depth: Int = 3

        func run() async throws {
            try await runClient {
                let direction: Operations.GetDatasetLineage.Input.Query.DirectionPayload? = try Choice.parse(direction, "--direction")
                let client = try APIClient(server: options.server)
                let id = try await reference.id(client)
                let graph = try await client.api.getDatasetLineage(
                    path: .init(datasetId: id), query: .init(version: version, depth: depth, direction: direction)
                )
                .ok.body.json
                guard options.output == .table else { return try Output.show(graph, format: options.output, columns: []) }
                let label = Dictionary(graph.nodes.map { ("\($0.kind.rawValue):\($0.id)", "\($0.label) (\($0.kind.rawValue))") }) { first, _ in first
                }
                func name(_ end: Components.Schemas.LineageRef) -> String {
                    label["\(end.kind.rawValue):\(end.id)"] ?? "\(end.kind.rawValue) \(end.id)"
                }
                if graph.edges.isEmpty { print("No lineage recorded for \(graph.nodes.map(\.label).joined(separator: ", "))") }
                for edge in graph.edges { print("\(name(edge.source))  --\(edge.relation)-->  \(name(edge.target))") }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a dataset with all its versions and the files no other dataset uses.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var reference: DatasetReference

        func run() async throws {
            try await runClient {
                let client = try APIClient(server: options.server)
                let id = try await reference.id(client.api)
                _ = try await client.api.deleteDataset(path: .init(datasetId: id)).noContent
                print("Deleted dataset \(id)")
            }
        }
    }

    /// An id as given, or the id of the project's dataset with exactly this name.
    static func resolve(_ reference: String, project: String?, api: Client) async throws -> String {
        if UUID(uuidString: reference) != nil { return reference.lowercased() }
        guard let project else { throw ValidationError("'\(reference)' is not a dataset id: give --project to look it up by name") }
        let page = try await api.listDatasets(path: .init(projectId: project), query: .init(search: reference, limit: 500)).ok.body.json
        guard let match = page.items.first(where: { $0.name == reference }) else {
            throw CLIError(message: "No dataset named '\(reference)' in project \(project)", exitCode: 1)
        }
        return match.id
    }

    static func allFiles(_ id: String, version: String, client: APIClient) async throws -> [Components.Schemas.DatasetFile] {
        var files: [Components.Schemas.DatasetFile] = []
        var cursor: String?
        repeat {
            let page = try await client.api.listDatasetFiles(path: .init(datasetId: id, version: version), query: .init(limit: 5000, cursor: cursor))
                .ok.body.json
            files += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return files
    }

    /// Sends one file's content unless the server holds it; continues an interrupted upload from the byte the
    /// server has. Returns whether bytes were sent.
    static func upload(
        _ entry: LocalFiles.Entry, sha256: String, dataset: String, chunk: Int64, client: APIClient,
        bar: ProgressBar
    ) async throws -> Bool {
        let session = try await client.api.startDatasetUpload(
            path: .init(datasetId: dataset),
            body: .json(.init(sha256: sha256, sizeBytes: entry.size, path: entry.path))
        ).created.body.json
        guard session.status == .open else {
            bar.skip(entry.size)
            return false
        }
        var offset = session.receivedBytes
        bar.skip(offset)
        while offset < entry.size {
            let length = min(chunk, entry.size - offset)
            do {
                offset = try await client.append(upload: session.id, file: entry.url, offset: offset, length: length) { bar.advance($0) }
                    .receivedBytes
            } catch  where problemStatus(error) == 409 {
                // Someone (an earlier run) got further: ask where to continue.
                let state = try await client.api.getDatasetUpload(path: .init(uploadId: session.id)).ok.body.json
                guard state.status == .open, state.receivedBytes != offset else { throw error }
                bar.skip(state.receivedBytes - offset)
                offset = state.receivedBytes
            }
        }
        return true
    }
}

/// The dataset a command works on: an id, or a name with --project.
struct DatasetReference: ParsableArguments {
    @Option(help: "Project id (when naming the dataset).") var project: String?
    @Argument(help: "Dataset id or name.") var dataset: String

    func id(_ client: APIClient) async throws -> String { try await id(client.api) }

    func id(_ api: Client) async throws -> String {
        try await DatasetsCommand.resolve(dataset, project: project, api: api)
    }
}
/// The files a push sends: one file, a directory's regular files, or an archive's contents (unpacked by tar).
enum LocalFiles {
    struct Entry {
        var path: String
        var url: URL
        var size: Int64
    }

    static func collect(_ path: String, extractArchives: Bool) throws -> ([Entry], () -> Void) {
        var isDirectory: ObjCBool = false
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CLIError(message: "\(path) does not exist", exitCode: 2)
        }
        let lower = url.lastPathComponent.lowercased()
        if !isDirectory.boolValue, extractArchives, [".tar", ".tar.gz", ".tgz"].contains(where: lower.hasSuffix) {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aitip-push-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
            // No absolute names, no '..' (GNU tar refuses both by default), no owners from the archive.
            tar.arguments = ["-xf", url.path, "-C", directory.path, "--no-same-owner", "--no-same-permissions"]
            try tar.run()
            tar.waitUntilExit()
            let cleanup = { _ = try? FileManager.default.removeItem(at: directory) }
            guard tar.terminationStatus == 0 else {
                cleanup()
                throw CLIError(message: "tar could not unpack \(path)", exitCode: 1)
            }
            return (try walk(directory), cleanup)
        }
        if isDirectory.boolValue { return (try walk(url), {}) }
        return ([Entry(path: url.lastPathComponent, url: url, size: try size(of: url))], {})
    }

    /// Regular files under `root` (symbolic links are not followed), with '/'-separated relative paths, sorted.
    static func walk(_ root: URL) throws -> [Entry] {
        let base = root.resolvingSymlinksInPath().path
        guard let enumerator = FileManager.default.enumerator(at: root.resolvingSymlinksInPath(), includingPropertiesForKeys: [.isRegularFileKey])
        else { return [] }
        var entries: [Entry] = []
        for case let file as URL in enumerator {
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let relative = String(file.standardizedFileURL.path.dropFirst(base.count + 1))
            entries.append(Entry(path: relative, url: file, size: try size(of: file)))
        }
        return entries.sorted { $0.path < $1.path }
    }

    static func size(of url: URL) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func sha256(of url: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw CLIError(message: "Cannot read \(url.path)", exitCode: 1) }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().hexString
    }

    /// Where a manifest path lands under `directory`; a path that would leave it is refused (a server is not trusted).
    static func safeTarget(_ path: String, in directory: URL) throws -> URL {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw CLIError(message: "Refusing to write '\(path)': it would leave \(directory.path)", exitCode: 1)
        }
        return directory.appendingPathComponent(path)
    }
}
