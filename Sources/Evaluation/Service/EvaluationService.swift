import AITIPCore
import Datasets
import Foundation
import Identity
import ObjectStore
import Storage
import Tracking
import Workloads

/// Evaluation jobs (design §1 evaluation service): a registered model version — and its baseline, by default the
/// model's `champion` — predicts a csv dataset version's features in a sandboxed workload; aitip keeps the label
/// column, scores the predictions with the benchmark's metrics (overall and per slice, with bootstrap intervals),
/// decides the gate against the thresholds, logs the metrics to the version's tracking run and links the
/// evaluation in lineage.
package struct EvaluationService: Sendable {
    /// Evaluation jobs as a workload kind: App registers it with WorkloadService. Their `evaluation_jobs` row goes
    /// with the workload (ON DELETE CASCADE).
    package static let kind = WorkloadKind(
        name: "evaluation", title: "Evaluation job", read: Permission(.evaluation, .read), write: Permission(.evaluation, .write),
        delete: Permission(.evaluation, .delete))

    package struct Configuration: Sendable {
        /// Rows an evaluation's dataset file may have (every label is held in memory while scoring).
        package var maxRows: Int
        /// Chromium (or Chrome) for PDF reports; nil: PDF reports are refused with the reason.
        package var chromium: String?

        package init(maxRows: Int = 1_000_000, chromium: String?) {
            self.maxRows = maxRows
            self.chromium = chromium
        }
    }

    let database: Database
    let clock: any Clock
    package let workloads: WorkloadService
    let datasets: DatasetService
    let tracking: TrackingService
    package let configuration: Configuration
    /// Rings when an evaluation workload may have ended (the scorer runs a pass).
    package let wakeup = Wakeup()

    package init(
        database: Database, clock: any Clock, workloads: WorkloadService, datasets: DatasetService, tracking: TrackingService,
        configuration: Configuration
    ) {
        self.database = database
        self.clock = clock
        self.workloads = workloads
        self.datasets = datasets
        self.tracking = tracking
        self.configuration = configuration
    }

    /// What a user asks to evaluate.
    package struct Input: Sendable {
        /// Resources, queue, priority and name of the workload; its command and code are aitip's.
        package var submission: WorkloadService.Submission
        package var model: String
        /// `models:/…`; nil: the model's `champion` alias, if it has one; "none": no baseline.
        package var baseline: String?
        package var benchmark: String
        package var datasetId: UUID
        package var datasetVersion: String?
        package var datasetPath: String?
        /// The label column (predictions benchmarks); empty for the others.
        package var target: String
        package var sliceBy: [String]
        package var thresholds: [String: MetricThreshold]
        /// The interpreter that loads the models (it needs mlflow and pandas), or runs lm_eval.
        package var python: String
        /// A custom script's command and the uploaded code package (sha256) it runs in.
        package var command: String?
        package var codeArchive: String?
        package var lmEval: LMEvalOptions?
        package var serving: ServingOptions?

        package init(
            submission: WorkloadService.Submission, model: String, baseline: String?, benchmark: String, datasetId: UUID,
            datasetVersion: String?, datasetPath: String?, target: String?, sliceBy: [String], thresholds: [String: MetricThreshold],
            python: String?, command: String? = nil, codeArchive: String? = nil, lmEval: LMEvalOptions? = nil,
            serving: ServingOptions? = nil
        ) {
            self.serving = serving
            self.command = command
            self.codeArchive = codeArchive
            self.lmEval = lmEval
            self.submission = submission
            self.model = model
            self.baseline = baseline
            self.benchmark = benchmark
            self.datasetId = datasetId
            self.datasetVersion = datasetVersion
            self.datasetPath = datasetPath
            self.target = target ?? ""
            self.sliceBy = sliceBy
            self.thresholds = thresholds
            self.python = python ?? "python3"
        }
    }

    /// The dataset version (and its file, or all of them: an empty path) an evaluation is recorded with.
    private struct DatasetChoice {
        var dataset: Dataset
        var version: DatasetVersion
        var path: String
        var sha256: String
        var sizeBytes: Int64
    }

    /// Each model's files and the folder they go in: the baseline's first (it runs first), then the candidate's.
    static func modelFolders(_ candidate: ModelVersionDetail, _ baseline: ModelVersionDetail?) throws -> [(prefix: ObjectKey, folder: String)] {
        (try baseline.map { [(try $0.artifactPrefix(field: "baseline"), baselineFolder)] } ?? [])
            + [(try candidate.artifactPrefix(field: "model"), candidateFolder)]
    }

    private static func requireSameOrganization(_ dataset: Dataset, _ scope: ProjectScope) throws {
        guard dataset.orgId == scope.orgId else {
            throw AppError.validation([FieldError(field: "dataset_id", message: "is not a dataset of this organization")])
        }
    }

    static let maxSliceColumns = 5
    static let maxSliceValues = 100

    package func submit(_ input: Input, project projectId: UUID, caller: Caller) async throws -> EvaluationJob {
        let scope = try await workloads.scope(project: projectId, permission: Self.kind.write, caller: caller)
        let principal = try caller.requirePrincipal()
        // Evaluating a model reads it: the registry's permission is asked as well as the evaluation's.
        try Policy.authorize(principal, .experimentsRead, on: scope.policyResource)
        let benchmark = try validate(input)
        let candidate = try await tracking.modelVersion(try reference(input.model, field: "model"), inProject: scope, field: "model")
        let (baseline, baselineReason) = try await baseline(of: candidate, input.baseline, in: scope)
        if baseline == nil, let metric = input.thresholds.first(where: { $0.value.needsBaseline })?.key {
            throw AppError.validation([
                FieldError(
                    field: "thresholds.\(metric)",
                    message: "compares with a baseline, and there is none (\(baselineReason)): name one with baseline, or drop the change thresholds")
            ])
        }
        var submission = input.submission
        submission.name = submission.name ?? "eval-\(candidate.modelName)-v\(candidate.version.version)"
        // What could never run (resources no node has, a queue that does not exist) is refused before anything is
        // read or packed.
        var probe = submission
        (probe.entrypoint, probe.codeArchive) = ("true", nil)
        let check = probe
        _ = try await database.read { sql in try await workloads.prepare(check, kind: Self.kind, in: scope, caller: caller, on: sql) }
        let dataset: DatasetChoice
        if benchmark.runner == .predictions || benchmark.runner == .serving {
            let table = try await datasets.tableFile(input.datasetId, version: input.datasetVersion, path: input.datasetPath, caller: caller)
            try Self.requireSameOrganization(table.dataset, scope)
            let features = try await features(of: table, input: input, benchmark: benchmark, orgId: scope.orgId)
            let folders = try Self.modelFolders(candidate, baseline)
            let scripts = benchmark.runner == .serving ? Self.servingFiles : [Self.runnerScript: Data(Self.runnerSource.utf8)]
            let archive = try await workloads.packCode(
                objectsUnder: folders, extra: scripts.merging([Self.featuresFile: features]) { script, _ in script }, org: scope.orgId
            ) { folder, files in
                let (version, field) = folder == Self.candidateFolder ? (candidate, "model") : (baseline!, "baseline")
                try version.requireMLflowModel(files, field: field, otherwise: "an evaluation loads the model with mlflow.pyfunc")
            }
            if benchmark.runner == .serving {
                submission.entrypoint = try Self.servingEntrypoint(
                    python: input.python, options: input.serving ?? .init(), roles: folders.map(\.folder))
            } else {
                submission.entrypoint = "exec \(input.python) \(Self.runnerScript)"
            }
            submission.codeArchive = archive.sha256
            dataset = DatasetChoice(
                dataset: table.dataset, version: table.version, path: table.file.path, sha256: table.file.sha256, sizeBytes: table.file.sizeBytes)
        } else {
            let (found, version, files) = try await datasets.versionFiles(
                input.datasetId, version: input.datasetVersion, path: input.datasetPath, caller: caller)
            try Self.requireSameOrganization(found, scope)
            let job = try await scriptJob(benchmark, input: input, candidate: candidate, baseline: baseline, data: (files, scope.orgId))
            submission.entrypoint = job.entrypoint
            submission.codeArchive = job.archive
            // One file: its own address; the whole version: the version's checksum over its files.
            let single = input.datasetPath != nil ? files.first : nil
            dataset = DatasetChoice(
                dataset: found, version: version, path: single?.path ?? "", sha256: single?.sha256 ?? version.checksum,
                sizeBytes: single?.sizeBytes ?? version.sizeBytes)
        }
        submission.systemEnv = ["AITIP_MODEL_URI": candidate.uri, "AITIP_BASELINE_URI": baseline?.uri ?? ""]
        let workloadSubmission = submission
        let canLogToRun = Policy.allows(principal, .experimentsWrite, on: scope.policyResource)
        let now = clock.now().epochMilliseconds
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let job: EvaluationJob = try await database.transaction { sql in
            let workload = try await workloads.prepare(workloadSubmission, kind: Self.kind, in: scope, caller: caller, on: sql)
            let details = EvaluationJob.Details(
                id: workload.id, orgId: scope.orgId, projectId: scope.projectId, benchmark: benchmark.name, benchmarkVersion: benchmark.version,
                modelName: candidate.modelName, modelVersion: candidate.version.version, modelVersionId: candidate.version.id,
                baselineName: baseline?.modelName, baselineVersion: baseline?.version.version, baselineVersionId: baseline?.version.id,
                baselineReason: baselineReason, datasetId: dataset.dataset.id, datasetName: dataset.dataset.name,
                datasetVersionId: dataset.version.id,
                datasetVersion: dataset.version.version, datasetPath: dataset.path, datasetSha256: dataset.sha256,
                datasetSizeBytes: dataset.sizeBytes, targetColumn: input.target,
                sliceColumns: String(decoding: try encoder.encode(input.sliceBy), as: UTF8.self),
                thresholds: String(decoding: try encoder.encode(input.thresholds), as: UTF8.self),
                runId: canLogToRun ? candidate.version.runId : nil, resultState: .pending, createdMs: now)
            try await workloads.insert(workload, caller: caller, on: sql)
            try await EvaluationStore.insert(details, on: sql)
            return EvaluationJob(workload: workload, details: details)
        }
        workloads.wake()
        return job
    }

    // MARK: reading

    package func job(_ id: UUID, caller: Caller) async throws -> EvaluationJob {
        let workload = try await workloads.workload(id, of: Self.kind, caller: caller)
        return try await assemble([workload])[0]
    }

    package func list(_ query: WorkloadService.ListQuery, caller: Caller) async throws -> Page<EvaluationJob> {
        let page = try await workloads.list(query, of: Self.kind, caller: caller)
        return Page(items: try await assemble(page.items), nextCursor: page.nextCursor)
    }

    package func stop(_ id: UUID, caller: Caller) async throws -> EvaluationJob {
        let workload = try await workloads.stop(id, of: Self.kind, caller: caller)
        return try await assemble([workload])[0]
    }

    package func delete(_ id: UUID, caller: Caller) async throws {
        try await workloads.delete(id, of: Self.kind, caller: caller)
    }

    /// Checks read access to a job's log (the HTTP layer then streams it from the log hub).
    package func authorizeLogs(_ id: UUID, caller: Caller) async throws -> Workload {
        try await workloads.workload(id, of: Self.kind, caller: caller)
    }

    package var logs: LogHub { workloads.logs }

    private func assemble(_ items: [Workload]) async throws -> [EvaluationJob] {
        let details = try await database.read { sql in try await EvaluationStore.details(of: items.map(\.id), on: sql) }
        let byId = Dictionary(uniqueKeysWithValues: details.map { ($0.id, $0) })
        return try items.map { workload in
            guard let detail = byId[workload.id] else { throw AppError(.internalError, "evaluation job \(workload.id) has no evaluation record") }
            return EvaluationJob(workload: workload, details: detail)
        }
    }

    // MARK: submission helpers

    private func validate(_ input: Input) throws -> Benchmark {
        var validator = Validator()
        let benchmark = Benchmark.named(input.benchmark)
        validator.check(
            benchmark != nil, "benchmark", "must be one of \(Benchmark.catalog.map(\.name).joined(separator: ", ")) (GET /evaluation/benchmarks)")
        switch benchmark?.runner {
        case .predictions:
            validator.check(!input.target.isEmpty && input.target.count <= 255, "target", "must name the dataset's label column")
            validator.check(input.sliceBy.count <= Self.maxSliceColumns, "slice_by", "may name at most \(Self.maxSliceColumns) columns")
            validator.check(!input.sliceBy.contains(input.target), "slice_by", "cannot slice by the target column")
            validator.check(Set(input.sliceBy).count == input.sliceBy.count, "slice_by", "names a column twice")
        case .serving:
            validator.check(input.target.count <= 255, "target", "must name a column to leave out of the requests, or be omitted")
            validator.check(input.sliceBy.isEmpty, "slice_by", "is for classification and regression")
        case .script, .lmEval, nil:
            let name = input.benchmark
            validator.check(input.target.isEmpty, "target", "is for classification and regression: \(name) scores itself")
            validator.check(input.sliceBy.isEmpty, "slice_by", "is for classification and regression: \(name) reports its own slices")
        }
        let isCustom = benchmark?.runner == .script
        if isCustom {
            let command = input.command ?? ""
            validator.check(!command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "command", "is required: what runs each model")
            validator.check(command.utf8.count <= 16_384, "command", "is longer than 16 KiB")
            let archive = input.codeArchive ?? ""
            validator.check(
                archive.count == 64 && archive.allSatisfy(\.isHexDigit), "code_archive",
                "must be the sha256 of an uploaded code package (POST /api/v1/training/code, or aitip eval run --code DIR)")
        } else {
            validator.check(input.command == nil, "command", "is for the custom benchmark")
            validator.check(input.codeArchive == nil, "code_archive", "is for the custom benchmark")
        }
        if benchmark?.runner == .lmEval {
            let options = input.lmEval ?? LMEvalOptions(tasks: [], numFewshot: nil, limit: nil, batchSize: nil)
            validator.check((1...50).contains(options.tasks.count), "lm_eval.tasks", "must name 1 to 50 lm-eval tasks")
            for task in options.tasks
            where !(1...100).contains(task.count)
                || !task.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0) })
            {
                validator.add("lm_eval.tasks", "'\(task.prefix(100))' is not a task name (letters, digits, '_', '.', '-')")
            }
            if let shots = options.numFewshot { validator.check((0...100).contains(shots), "lm_eval.num_fewshot", "must be between 0 and 100") }
            if let limit = options.limit { validator.check((1...10_000_000).contains(limit), "lm_eval.limit", "must be between 1 and 10,000,000") }
            if let size = options.batchSize {
                validator.check((1...4_096).contains(size), "lm_eval.batch_size", "must be between 1 and 4096 (omit it for auto)")
            }
            validator.check(
                (input.submission.gpuCount ?? 0) >= 1, "resources.gpu_count",
                "lm-eval runs the model on a GPU: ask for 1 or more (it is refused where no node has one)")
        } else {
            validator.check(input.lmEval == nil, "lm_eval", "is for the lm-eval benchmark")
        }
        if benchmark?.runner == .serving {
            (input.serving ?? .init()).check(&validator)
        } else {
            validator.check(input.serving == nil, "serving", "is for the serving benchmark")
        }
        validator.check(WorkloadService.isPlainProgram(input.python), "python", "must be an interpreter's name or absolute path")
        validator.check(input.thresholds.count <= 50, "thresholds", "may hold at most 50 metrics")
        for (metric, threshold) in input.thresholds {
            if let benchmark, !benchmark.metrics.isEmpty {
                validator.check(
                    benchmark.metric(metric) != nil, "thresholds.\(metric)",
                    "is not a metric of \(benchmark.name) (\(benchmark.metrics.map(\.name).joined(separator: ", ")))")
            }
            validator.check(ReportedResult.isMetricName(metric), "thresholds.\(metric.prefix(80))", "is not a metric name")
            let bounds = [threshold.threshold, threshold.minAbsoluteChange, threshold.minRelativeChange].compactMap { $0 }
            validator.check(bounds.allSatisfy(\.isFinite), "thresholds.\(metric)", "must be finite numbers")
            validator.check(!bounds.isEmpty, "thresholds.\(metric)", "needs threshold, min_absolute_change or min_relative_change")
        }
        try validator.finish()
        return benchmark!
    }

    private func reference(_ text: String, field: String) throws -> ModelReference {
        guard let reference = ModelReference(text) else {
            throw AppError.validation([FieldError(field: field, message: "must be models:/<name>/<version> or models:/<name>@<alias>")])
        }
        return reference
    }

    /// The version to compare with, and why it is that one.
    private func baseline(of candidate: ModelVersionDetail, _ choice: String?, in scope: ProjectScope) async throws -> (ModelVersionDetail?, String) {
        switch choice {
        case "none":
            return (nil, "none asked for")
        case let text?:
            let version = try await tracking.modelVersion(try reference(text, field: "baseline"), inProject: scope, field: "baseline")
            return (version, "given: \(text)")
        case nil:
            do {
                let champion = try await tracking.modelVersion(named: candidate.modelName, version: nil, alias: "champion", inProject: scope)
                return (champion, "the champion alias of \(candidate.modelName)")
            } catch let error as AppError where error.kind == .notFound {
                return (nil, "\(candidate.modelName) has no champion alias")
            }
        }
    }

    /// The table's columns without the target (the models never see the labels; a serving evaluation may name no
    /// target), as csv; the target, slices and size are checked here, so that a job that cannot be scored is refused
    /// before it runs.
    private func features(of table: DatasetService.TableFile, input: Input, benchmark: Benchmark, orgId: UUID) async throws -> Data {
        let rows: CSVTable
        do {
            rows = try await datasets.readTable(orgId: orgId, file: table.file, maxRows: configuration.maxRows)
        } catch let error as AppError where error.kind == .badRequest {
            throw AppError.validation([FieldError(field: "dataset", message: "\(table.file.path): \(error.detail)")])
        }
        var validator = Validator()
        let columns = rows.columns.joined(separator: ", ")
        let targetIndex = input.target.isEmpty ? nil : rows.columns.firstIndex(of: input.target)
        guard input.target.isEmpty || targetIndex != nil else {
            throw AppError.validation([FieldError(field: "target", message: "\(table.file.path) has no column '\(input.target)' (it has \(columns))")]
            )
        }
        validator.check(!rows.rows.isEmpty, "dataset", "\(table.file.path) has no rows")
        validator.check(rows.columns.count > (targetIndex == nil ? 0 : 1), "dataset", "\(table.file.path) has no column besides the target")
        if benchmark.task == "regression", let target = rows.column(input.target),
            let bad = target.firstIndex(where: { Double($0)?.isFinite != true })
        {
            validator.add("target", "regression needs numbers: row \(bad + 1) of '\(input.target)' is '\(target[bad].prefix(40))'")
        }
        for column in input.sliceBy {
            guard let values = rows.column(column) else {
                validator.add("slice_by", "\(table.file.path) has no column '\(column)'")
                continue
            }
            validator.check(
                Set(values).count <= Self.maxSliceValues, "slice_by", "'\(column)' has more than \(Self.maxSliceValues) distinct values")
        }
        try validator.finish()
        var csv = ""
        for record in [rows.columns] + rows.rows {
            var fields = record
            if let targetIndex { fields.remove(at: targetIndex) }
            csv += fields.map(Self.csvField).joined(separator: ",") + "\n"
        }
        return Data(csv.utf8)
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension EvaluationService {
    /// The job's report: HTML, or that page printed to PDF.
    package func report(_ id: UUID, format: ReportFormat, caller: Caller) async throws -> Data {
        try await format.render(EvaluationReport.html(try await job(id, caller: caller)), chromium: configuration.chromium)
    }
}

/// Evaluations as lineage nodes, read straight from the database: the lineage graph is built before this service
/// (Datasets needs its node sources when it is created). An evaluation's record implies its edges: the dataset
/// version it was scored on and the model version it evaluated (the baseline is in the evaluation's record).
package struct EvaluationLineage: Sendable {
    let database: Database

    package init(database: Database) {
        self.database = database
    }

    package struct Node: Sendable {
        package var id: UUID
        package var orgId: UUID
        package var projectId: UUID
        package var label: String
    }

    package struct Edge: Sendable {
        /// "model_version" or "dataset_version".
        package var sourceKind: String
        package var sourceId: UUID
        package var evaluationId: UUID
        package var orgId: UUID
        package var relation: String
        package var createdMs: Int64
    }

    package func nodes(_ ids: [UUID]) async throws -> [Node] {
        try await database.read { sql in try await EvaluationStore.details(of: ids, on: sql) }.map {
            Node(id: $0.id, orgId: $0.orgId, projectId: $0.projectId, label: "\($0.benchmark) of \($0.modelName) v\($0.modelVersion)")
        }
    }

    /// Edges into these evaluations (`downstream` false), or out of these model and dataset versions.
    package func edges(_ ids: [UUID], downstream: Bool) async throws -> [Edge] {
        let jobs = try await database.read { sql in
            downstream
                ? try await EvaluationStore.lineage(candidates: ids, orDatasetVersions: ids, on: sql)
                : try await EvaluationStore.details(of: ids, on: sql)
        }
        return jobs.flatMap { job in
            [
                Edge(
                    sourceKind: "dataset_version", sourceId: job.datasetVersionId, evaluationId: job.id, orgId: job.orgId, relation: "evaluated_on",
                    createdMs: job.createdMs),
                Edge(
                    sourceKind: "model_version", sourceId: job.modelVersionId, evaluationId: job.id, orgId: job.orgId, relation: "evaluated",
                    createdMs: job.createdMs),
            ]
        }
    }
}
