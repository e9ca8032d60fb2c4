import AITIPCore
import Datasets
import Foundation
import Tracking
import Workloads

/// Benchmarks whose job scores each model itself — a custom script, lm-evaluation-harness, aitip's serving load
/// test — and hands a result file back through its log (`LogFiles`): what such a job is packed and run with, and how
/// its results are read.
extension EvaluationService {
    /// lm-evaluation-harness's options (`lm_eval --tasks … --num_fewshot … --limit … --batch_size …`).
    package struct LMEvalOptions: Sendable, Equatable {
        package var tasks: [String]
        package var numFewshot: Int?
        package var limit: Int?
        /// nil: `auto`.
        package var batchSize: Int?

        package init(tasks: [String], numFewshot: Int?, limit: Int?, batchSize: Int?) {
            self.tasks = tasks
            self.numFewshot = numFewshot
            self.limit = limit
            self.batchSize = batchSize
        }
    }

    static let dataFolder = "data"
    static let maxDataFiles = 10_000
    static func resultFile(_ role: String) -> String { ".aitip-result-\(role).json" }
    static func resultName(_ role: String) -> String { "result.\(role)" }

    /// What a script benchmark's job runs: the dataset version's files (or the one named) under `data/`, each model's
    /// files in its folder, the user's code package for a custom script; and the wrapper that runs each model in
    /// turn, the baseline first, and prints its result file to the log.
    func scriptJob(
        _ benchmark: Benchmark, input: Input, candidate: ModelVersionDetail, baseline: ModelVersionDetail?,
        data: (files: [DatasetFile], orgId: UUID)
    ) async throws -> (archive: String, entrypoint: String) {
        guard data.files.count <= Self.maxDataFiles else {
            throw AppError.validation([
                FieldError(
                    field: "dataset.path",
                    message: "the version has \(data.files.count) files, more than a job takes (\(Self.maxDataFiles)): name the one it needs")
            ])
        }
        let dataFiles = try data.files.map { (try DatasetService.blobKey(orgId: data.orgId, sha256: $0.sha256), "\(Self.dataFolder)/\($0.path)") }
        let folders = try Self.modelFolders(candidate, baseline)
        var modelFolders: [String: HuggingFaceFolder] = [:]
        let archive = try await workloads.packCode(
            objectsUnder: folders, objects: dataFiles, includingCode: benchmark.runner == .script ? input.codeArchive : nil, extra: [:],
            org: data.orgId
        ) { folder, files in
            guard benchmark.runner == .lmEval else { return }
            let version = folder == Self.candidateFolder ? candidate : baseline!
            modelFolders[folder] = try HuggingFaceFolder(files, of: version.uri, field: folder == Self.candidateFolder ? "model" : "baseline")
        }
        let roles = folders.map(\.folder)
        let script: String
        switch benchmark.runner {
        case .script:
            script = Self.customEntrypoint(command: input.command ?? "", roles: roles)
        case .lmEval:
            script = Self.lmEvalEntrypoint(python: input.python, options: input.lmEval!, roles: roles.map { ($0, modelFolders[$0]!) })
        case .predictions, .serving:
            throw AppError(.internalError, "\(benchmark.name) is not a script benchmark")
        }
        return (archive.sha256, script)
    }

    /// The user's command, once per model, inside the unpacked code package.
    static func customEntrypoint(command: String, roles: [String]) -> String {
        var script = """
            here=$PWD
            mkdir -p .aitip-code && tar -xzf \(WorkloadService.codePackageFile) -C .aitip-code || { echo "aitip: the code package could not be unpacked"; exit 1; }

            """
        for role in roles {
            script += """
                (
                cd .aitip-code || exit 1
                export AITIP_MODEL_ROLE=\(role) AITIP_MODEL_DIR="$here/\(role)" AITIP_DATASET_DIR="$here/\(dataFolder)" AITIP_RESULT_FILE="$here/\(resultFile(role))"
                \(command)
                ) || { status=$?; echo "aitip: the command failed for the \(role) model (exit status $status)"; exit $status; }
                \(LogFiles.printing(resultName(role), at: resultFile(role)))

                """
        }
        return script
    }

    /// `python -m lm_eval` with each model's Hugging Face folder, on the GPU the job was given.
    static func lmEvalEntrypoint(python: String, options: LMEvalOptions, roles: [(String, HuggingFaceFolder)]) -> String {
        var flags = "--tasks '\(options.tasks.joined(separator: ","))' --device cuda --batch_size \(options.batchSize.map(String.init) ?? "auto")"
        flags += " --include_path \(dataFolder)"
        if let shots = options.numFewshot { flags += " --num_fewshot \(shots)" }
        if let limit = options.limit { flags += " --limit \(limit)" }
        var script = ""
        for (role, folder) in roles {
            var arguments = "pretrained=$PWD/\(role)\(folder.model.map { "/\($0)" } ?? "")"
            if let tokenizer = folder.tokenizer, tokenizer != folder.model { arguments += ",tokenizer=$PWD/\(role)/\(tokenizer)" }
            script += """
                AITIP_MODEL_ROLE=\(role) \(python) -m lm_eval --model hf --model_args "\(arguments)" \(flags) --output_path .aitip-lm-eval/\(role) \
                || { status=$?; echo "aitip: lm_eval failed for the \(role) model (exit status $status)"; exit $status; }
                found=$(find .aitip-lm-eval/\(role) -name 'results_*.json' | sort | tail -n 1)
                [ -n "$found" ] && cp "$found" \(resultFile(role))
                \(LogFiles.printing(resultName(role), at: resultFile(role)))

                """
        }
        return script
    }

    /// Where a model version's Hugging Face files are: the folder of its `config.json` and of its tokenizer (they
    /// differ in an MLflow `transformers` model), as plain relative paths (they go on a command line).
    struct HuggingFaceFolder {
        /// nil: the version's top folder.
        var model: String?
        var tokenizer: String?

        init(_ files: [String], of uri: String, field: String) throws {
            func folder(holding names: [String]) -> String?? {
                let found = files.filter { file in names.contains { file == $0 || file.hasSuffix("/\($0)") } }
                guard let shortest = found.min(by: { ($0.count, $0) < ($1.count, $1) }) else { return nil }
                let parent = (shortest as NSString).deletingLastPathComponent
                return .some(parent.isEmpty ? nil : parent)
            }
            guard let model = folder(holding: ["config.json"]) else {
                throw AppError.validation([
                    FieldError(
                        field: field,
                        message:
                            "\(uri) has no config.json: lm-eval loads a Hugging Face transformers model (save_pretrained, or mlflow.transformers)")
                ])
            }
            self.model = model
            self.tokenizer = folder(holding: ["tokenizer_config.json", "tokenizer.json"]) ?? model
            for path in [self.model, self.tokenizer].compactMap({ $0 }) where !Self.isPlainPath(path) {
                throw AppError.validation([
                    FieldError(
                        field: field, message: "\(uri)'s folder '\(path.prefix(80))' is not a plain path (letters, digits, '.', '_', '-', '/')")
                ])
            }
        }

        static func isPlainPath(_ path: String) -> Bool {
            path.count <= 255 && !path.split(separator: "/").contains("..")
                && path.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._-/".unicodeScalars.contains($0) }
        }
    }

    /// A script benchmark's results: each model's result file, checked, with the gate decided on the directions the
    /// files declare.
    func reportedResults(_ job: EvaluationJob.Details, benchmark: Benchmark) async throws -> EvaluationJob.Results {
        let names = Set([Self.candidateFolder, Self.baselineFolder].map(Self.resultName))
        let found = try await LogFiles.read(from: logs, of: job.id, names: names, maxBytes: ReportedResult.maxBytes)
        func result(_ role: String, _ uri: String) throws -> ReportedResult {
            let name = Self.resultName(role)
            // aitip's wrapper prints each result once; a second line was printed by code the job ran (a model's own
            // code can write to the log), so neither can be trusted.
            guard !found.repeated.contains(name) else {
                throw AppError.badRequest("the log holds two results for \(uri): something the job ran printed one of its own")
            }
            guard !found.oversized.contains(name) else {
                throw AppError.badRequest("\(uri)'s result is larger than \(ReportedResult.maxBytes >> 20) MiB")
            }
            guard let data = found.files[name] else {
                let what =
                    switch benchmark.runner {
                    case .lmEval: "lm_eval wrote no results file"
                    case .serving: "the serving run wrote no result"
                    case .script, .predictions: "the command wrote no result to AITIP_RESULT_FILE"
                    }
                throw AppError.badRequest("\(what) for \(uri): see the job's log")
            }
            do {
                return benchmark.runner == .lmEval ? try ReportedResult.lmEval(data) : try ReportedResult.script(data)
            } catch let error as AppError {
                throw AppError.badRequest("\(uri)'s result: \(error.detail)")
            }
        }
        let candidate = try result(Self.candidateFolder, job.modelURI)
        let baseline = try job.baselineURI.map { try result(Self.baselineFolder, $0) }
        let baselineSlices = Dictionary((baseline?.slices ?? []).map { ("\($0.column)\u{0}\($0.value)", $0.metrics) }) { first, _ in first }
        let slices = candidate.slices.map { slice in
            EvaluationJob.Results.Slice(
                column: slice.column, value: slice.value, rows: slice.rows, candidate: slice.metrics,
                baseline: baseline.map { _ in baselineSlices["\(slice.column)\u{0}\(slice.value)"] ?? [:] })
        }
        // The benchmark's own metrics keep their direction; others go as the files declared them, and the two files
        // must agree (the candidate cannot turn a loss into a win by flipping a direction).
        if let baseline,
            let metric = candidate.directions.first(where: { name, greater in baseline.directions[name].map { $0 != greater } ?? false })?.key
        {
            throw AppError.badRequest("the candidate and the baseline declare opposite directions for \(metric)")
        }
        let declared = (baseline?.directions ?? [:]).merging(candidate.directions) { _, candidate in candidate }
        let directions = declared.merging(benchmark.directions) { _, known in known }
        return EvaluationJob.Results(
            rows: candidate.rows ?? 0, candidate: candidate.metrics, baseline: baseline?.metrics, slices: slices,
            gate: GateVerdict.decide(job.decodedThresholds, directions: directions, candidate: candidate.metrics, baseline: baseline?.metrics),
            directions: directions)
    }
}
