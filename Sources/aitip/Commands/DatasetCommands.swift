import AITIPCore
import ArgumentParser
import Crypto
import Foundation

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
            try await runClient {
                var client = try APIClient(server: options.server)
                var body: [String: Any] = ["name": name, "format": format, "tags": tag]
                body["description"] = description
                try Output.print(try await client.send(.POST, "/api/v1/projects/\(project)/datasets", body: body), format: options.output,
                                 columns: DatasetsCommand.columns)
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
            try await runClient {
                var client = try APIClient(server: options.server)
                let page = try await client.send(.GET, "/api/v1/projects/\(project)/datasets", query: ["search": search, "tag": tag, "cursor": cursor])
                try Output.print(page, format: options.output, columns: DatasetsCommand.columns)
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
                var client = try APIClient(server: options.server)
                let id = try await reference.id(&client)
                guard let version else {
                    try Output.print(try await client.send(.GET, "/api/v1/datasets/\(id)"), format: options.output,
                                     columns: ["id", "name", "format", "version", "size_bytes", "num_rows", "checksum", "storage_path", "tags"])
                    return
                }
                let shown = try await client.send(.GET, "/api/v1/datasets/\(id)/versions/\(version)")
                try Output.print(shown, format: options.output, columns: ["id", "version", "file_count", "size_bytes", "num_rows", "checksum", "changes"])
                if options.output == .table {
                    let files = try await DatasetsCommand.allFiles(id, version: version, client: &client)
                    print("")
                    print(Output.table(files, columns: ["path", "size_bytes", "sha256"]), terminator: "")
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
                var transform: Any?
                if let transformation {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(transformation.utf8)) as? [String: Any] else {
                        throw ValidationError("--transformation must be a JSON object, e.g. '{\"script\": \"clean.py\"}'")
                    }
                    transform = object
                }
                var client = try APIClient(server: options.server)
                let id = try await reference.id(&client)
                let (files, cleanup) = try LocalFiles.collect(path, extractArchives: !keepArchive)
                defer { cleanup() }
                guard !files.isEmpty else { throw CLIError(message: "\(path) holds no files", exitCode: 2) }
                var manifest: [[String: Any]] = []
                var entries: [(LocalFiles.Entry, String)] = []
                for entry in files { entries.append((entry, try LocalFiles.sha256(of: entry.url))) }
                let total = entries.reduce(Int64(0)) { $0 + $1.0.size }
                let bar = ProgressBar("push", total: total)
                var skipped = 0
                for (entry, digest) in entries {
                    let sent = try await DatasetsCommand.upload(entry, sha256: digest, dataset: id, chunk: Int64(chunkMib) << 20, client: &client, bar: bar)
                    if !sent { skipped += 1 }
                    manifest.append(["path": entry.path, "sha256": digest, "size_bytes": entry.size])
                }
                bar.finish()
                if skipped > 0 { FileHandle.standardError.write(Data("\(skipped) of \(entries.count) files were already stored; nothing sent for them\n".utf8)) }
                var body: [String: Any] = ["version": version, "files": manifest]
                body["changes"] = changes
                body["base_version"] = base
                if !derivedFrom.isEmpty {
                    body["derived_from"] = derivedFrom.map { id -> [String: Any] in
                        var entry: [String: Any] = ["dataset_version_id": id]
                        entry["transformation"] = transform
                        return entry
                    }
                }
                try Output.print(try await client.send(.POST, "/api/v1/datasets/\(id)/versions", body: body), format: options.output,
                                 columns: ["id", "version", "file_count", "size_bytes", "num_rows", "checksum"])
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
                var client = try APIClient(server: options.server)
                let id = try await reference.id(&client)
                let shown = try await client.send(.GET, "/api/v1/datasets/\(id)") as? [String: Any] ?? [:]
                guard let version = version ?? shown["version"] as? String else { throw CLIError(message: "The dataset has no versions yet", exitCode: 1) }
                let directory = URL(fileURLWithPath: dir ?? "\(shown["name"] as? String ?? id)-\(version)").standardizedFileURL
                var files = try await DatasetsCommand.allFiles(id, version: version, client: &client)
                if let path { files = files.filter { $0["path"] as? String == path } }
                guard !files.isEmpty else { throw CLIError(message: path.map { "'\($0)' is not a file of version \(version)" } ?? "No files", exitCode: 1) }
                let total = files.reduce(Int64(0)) { $0 + (($1["size_bytes"] as? NSNumber)?.int64Value ?? 0) }
                let bar = ProgressBar("pull", total: total)
                var skipped = 0
                for file in files {
                    let relative = file["path"] as? String ?? ""
                    let expected = file["sha256"] as? String ?? ""
                    let size = (file["size_bytes"] as? NSNumber)?.int64Value ?? 0
                    let target = try LocalFiles.safeTarget(relative, in: directory)
                    if FileManager.default.fileExists(atPath: target.path), (try? LocalFiles.sha256(of: target)) == expected {
                        skipped += 1
                        bar.skip(size)
                        continue
                    }
                    let digest = try await client.download("/api/v1/datasets/\(id)/versions/\(version)/download", query: ["path": relative], to: target) {
                        bar.advance($0)
                    }
                    guard digest == expected else {
                        try? FileManager.default.removeItem(at: target)
                        throw CLIError(message: "\(relative): received content has sha256 \(digest), the manifest says \(expected); removed it", exitCode: 1)
                    }
                }
                bar.finish()
                print("\(files.count) files of \(shown["name"] as? String ?? id):\(version) in \(directory.path)" + (skipped > 0 ? " (\(skipped) already there)" : ""))
            }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Versions of a dataset, newest first.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var reference: DatasetReference

        func run() async throws {
            try await runClient {
                var client = try APIClient(server: options.server)
                let id = try await reference.id(&client)
                try Output.print(try await client.send(.GET, "/api/v1/datasets/\(id)/versions", query: ["limit": "500"]), format: options.output,
                                 columns: ["version", "file_count", "size_bytes", "num_rows", "checksum", "created_at", "changes"])
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
                var client = try APIClient(server: options.server)
                let id = try await reference.id(&client)
                let graph = try await client.send(.GET, "/api/v1/datasets/\(id)/lineage",
                                                  query: ["version": version, "direction": direction, "depth": String(depth)])
                guard options.output == .table, let object = graph as? [String: Any] else {
                    try Output.print(graph, format: options.output, columns: [])
                    return
                }
                let nodes = object["nodes"] as? [[String: Any]] ?? []
                let label = Dictionary(nodes.map { ("\($0["kind"] ?? ""):\($0["id"] ?? "")", "\($0["label"] ?? "") (\($0["kind"] ?? ""))") }) { first, _ in first }
                func name(_ end: Any?) -> String {
                    let end = end as? [String: Any] ?? [:]
                    return label["\(end["kind"] ?? ""):\(end["id"] ?? "")"] ?? "\(end["kind"] ?? "") \(end["id"] ?? "")"
                }
                let edges = object["edges"] as? [[String: Any]] ?? []
                if edges.isEmpty { print("No lineage recorded for \(nodes.map { "\($0["label"] ?? "")" }.joined(separator: ", "))") }
                for edge in edges { print("\(name(edge["source"]))  --\(edge["relation"] ?? "")-->  \(name(edge["target"]))") }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a dataset with all its versions and the files no other dataset uses.")
        @OptionGroup var options: ClientOptions
        @OptionGroup var reference: DatasetReference

        func run() async throws {
            try await runClient {
                var client = try APIClient(server: options.server)
                let id = try await reference.id(&client)
                _ = try await client.send(.DELETE, "/api/v1/datasets/\(id)")
                print("Deleted dataset \(id)")
            }
        }
    }

    /// An id as given, or the id of the project's dataset with exactly this name.
    static func resolve(_ reference: String, project: String?, client: inout APIClient) async throws -> String {
        if UUID(uuidString: reference) != nil { return reference.lowercased() }
        guard let project else { throw ValidationError("'\(reference)' is not a dataset id: give --project to look it up by name") }
        let page = try await client.send(.GET, "/api/v1/projects/\(project)/datasets", query: ["search": reference, "limit": "500"]) as? [String: Any]
        guard let match = (page?["items"] as? [[String: Any]] ?? []).first(where: { $0["name"] as? String == reference }),
              let id = match["id"] as? String else { throw CLIError(message: "No dataset named '\(reference)' in project \(project)", exitCode: 1) }
        return id
    }

    static func allFiles(_ id: String, version: String, client: inout APIClient) async throws -> [[String: Any]] {
        var files: [[String: Any]] = []
        var cursor: String?
        repeat {
            let page = try await client.send(.GET, "/api/v1/datasets/\(id)/versions/\(version)/files", query: ["limit": "5000", "cursor": cursor]) as? [String: Any]
            files += page?["items"] as? [[String: Any]] ?? []
            cursor = page?["next_cursor"] as? String
        } while cursor != nil
        return files
    }

    /// Sends one file's content unless the server holds it; continues an interrupted upload from the byte the
    /// server has. Returns whether bytes were sent.
    static func upload(_ entry: LocalFiles.Entry, sha256: String, dataset: String, chunk: Int64, client: inout APIClient,
                       bar: ProgressBar) async throws -> Bool {
        let session = try await client.send(.POST, "/api/v1/datasets/\(dataset)/uploads",
                                            body: ["sha256": sha256, "size_bytes": entry.size, "path": entry.path]) as? [String: Any] ?? [:]
        guard session["status"] as? String == "open", let uploadId = session["id"] as? String else {
            bar.skip(entry.size)
            return false
        }
        var offset = (session["received_bytes"] as? NSNumber)?.int64Value ?? 0
        bar.skip(offset)
        while offset < entry.size {
            let length = min(chunk, entry.size - offset)
            do {
                let answer = try await client.putFileRange("/api/v1/dataset-uploads/\(uploadId)", file: entry.url, offset: offset, length: length,
                                                           headers: ["Upload-Offset": String(offset)]) { bar.advance($0) } as? [String: Any]
                offset = (answer?["received_bytes"] as? NSNumber)?.int64Value ?? offset + length
            } catch let error as CLIError where error.message.hasPrefix("Error 409") {
                // Someone (an earlier run) got further: ask where to continue.
                let state = try await client.send(.GET, "/api/v1/dataset-uploads/\(uploadId)") as? [String: Any]
                let received = (state?["received_bytes"] as? NSNumber)?.int64Value ?? offset
                guard state?["status"] as? String == "open", received != offset else { throw error }
                bar.skip(received - offset)
                offset = received
            }
        }
        return true
    }
}

/// The dataset a command works on: an id, or a name with --project.
struct DatasetReference: ParsableArguments {
    @Option(help: "Project id (when naming the dataset).") var project: String?
    @Argument(help: "Dataset id or name.") var dataset: String

    func id(_ client: inout APIClient) async throws -> String {
        try await DatasetsCommand.resolve(dataset, project: project, client: &client)
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
        guard let enumerator = FileManager.default.enumerator(at: root.resolvingSymlinksInPath(), includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
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
