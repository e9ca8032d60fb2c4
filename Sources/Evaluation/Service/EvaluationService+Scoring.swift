import AITIPCore
import Datasets
import Foundation
import Tracking
import Workloads

/// The workload's side (a script of aitip's that loads each model with mlflow.pyfunc and prints its predictions)
/// and the server's (reading them from the log and scoring them against the labels, which never left the server).
extension EvaluationService {
    static let candidateFolder = "candidate"
    static let baselineFolder = "baseline"
    static let featuresFile = "features.csv"
    static let runnerScript = ".aitip-evaluate.py"
    /// How the runner prints predictions: `aitip.predictions {"model": "candidate", "offset": 0, "values": [...]}`.
    static let predictionsPrefix = "aitip.predictions "

    static let runnerSource = """
        # Written by aitip for an evaluation: each model folder here predicts ./features.csv, and the predictions are
        # printed for aitip, which scores them against the labels it kept (they are not in this sandbox).
        import json
        import math
        import os

        import numpy as np
        import pandas as pd
        from mlflow.pyfunc import load_model

        here = os.path.dirname(os.path.abspath(__file__))
        features = pd.read_csv(os.path.join(here, "features.csv"))


        def plain(value):
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


        for role in ("baseline", "candidate"):
            folder = os.path.join(here, role)
            if not os.path.isdir(folder):
                continue
            values = np.asarray(load_model(folder).predict(features), dtype=object)
            if values.ndim == 2 and values.shape[1] == 1:
                values = values[:, 0]
            if values.ndim != 1 or len(values) != len(features):
                raise SystemExit(f"aitip: the {role} model answered {values.shape} for {len(features)} rows; one value per row is needed")
            values = [plain(value) for value in values]
            for start in range(0, len(values), 10000):
                line = {"model": role, "offset": start, "values": values[start:start + 10000]}
                print("aitip.predictions " + json.dumps(line), flush=True)
            print(f"aitip: {role} predicted {len(values)} rows", flush=True)

        """

    private struct PredictionLine: Decodable {
        var model: String
        var offset: Int
        var values: [JSONValue]
    }

    /// Scores every job whose workload has ended; returns how many it completed. Each is recorded once, whichever
    /// server gets there first.
    package func scorePending() async throws -> Int {
        let pending = try await database.read { sql in try await EvaluationStore.pending(limit: 50, on: sql) }
        guard !pending.isEmpty else { return 0 }
        let states = Dictionary(uniqueKeysWithValues: try await workloads.summaries(pending.map(\.id)).map { ($0.id, $0) })
        var completed = 0
        for job in pending {
            guard let summary = states[job.id], summary.state.isFinal else { continue }
            var state = EvaluationJob.ResultState.failed
            var results: EvaluationJob.Results?
            var failure: String?
            if summary.state != .succeeded {
                failure = "the evaluation workload \(summary.state.rawValue): \(summary.reason)"
            } else {
                do {
                    results = try await score(job)
                    state = .ready
                } catch let error as AppError {
                    failure = error.detail
                } catch {
                    // The dataset's file or the log could not be read (deleted since): the job ends without results
                    // rather than being tried again on every pass ahead of the others.
                    failure = "could not be scored: \(error)"
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            var text: String?
            do {
                text = try results.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            } catch {
                // A value JSON cannot hold (an infinite metric from overflowing numbers): no results, and why.
                (state, results, failure) = (.failed, nil, "the results could not be stored: \(error)")
            }
            let now = clock.now().epochMilliseconds
            let (outcome, stored, gatePassed, reason) = (state, text, results?.gate.passed, failure)
            let recorded = try await database.transaction { sql in
                try await EvaluationStore.complete(job.id, state: outcome, results: stored, gatePassed: gatePassed, error: reason, atMs: now, on: sql)
            }
            guard recorded else { continue }
            completed += 1
            if let runId = job.runId, let results {
                let points = results.candidate.sorted { $0.key < $1.key }.map {
                    MetricPoint(key: "eval.\(job.benchmark).\($0.key)", value: $0.value.value, timestampMs: now, step: 0)
                }
                // The result is recorded; a run that cannot take the metrics (deleted meanwhile) holds up no other job.
                try? await tracking.appendMetrics(points, toRun: runId)
            }
        }
        return completed
    }

    /// The job's results from its log and its dataset's labels; an AppError says why there are none.
    func score(_ job: EvaluationJob.Details) async throws -> EvaluationJob.Results {
        guard let benchmark = Benchmark.named(job.benchmark) else { throw AppError.badRequest("benchmark \(job.benchmark) is not known") }
        if benchmark.runner != .predictions { return try await reportedResults(job, benchmark: benchmark) }
        let table = try await datasets.readTable(
            orgId: job.orgId, file: DatasetFile(path: job.datasetPath, sizeBytes: job.datasetSizeBytes, sha256: job.datasetSha256),
            maxRows: configuration.maxRows)
        guard let labels = table.column(job.targetColumn) else { throw AppError.badRequest("the dataset has no column \(job.targetColumn)") }
        let rows = labels.count
        var predictions: [String: [JSONValue?]] = [:]
        let decoder = JSONDecoder()
        try await logs.forEachLines(of: job.id) { chunk in
            for line in chunk.split(separator: 0x0A) where line.starts(with: Self.predictionsPrefix.utf8) {
                guard let parsed = try? decoder.decode(PredictionLine.self, from: Data(line.dropFirst(Self.predictionsPrefix.utf8.count))),
                    [Self.candidateFolder, Self.baselineFolder].contains(parsed.model), parsed.offset >= 0,
                    parsed.offset <= rows - parsed.values.count
                else { throw AppError.badRequest("the log has a malformed predictions line: see the job's log") }
                var values = predictions[parsed.model] ?? Array(repeating: nil, count: rows)
                values.replaceSubrange(parsed.offset..<(parsed.offset + parsed.values.count), with: parsed.values.map(Optional.some))
                predictions[parsed.model] = values
            }
        }
        // The job's id seeds the resamples: scoring the same job again gives the same intervals.
        let seed = withUnsafeBytes(of: job.id.uuid) { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
        let candidate = try complete(predictions[Self.candidateFolder], model: job.modelURI, rows: rows)
        let baseline = try job.baselineURI.map { try complete(predictions[Self.baselineFolder], model: $0, rows: rows) }
        func metrics(_ values: [JSONValue], _ selected: [Int]) throws -> [String: MetricValue] {
            if benchmark.task == "regression" {
                let actual = selected.map { Double(labels[$0])! }
                let predicted = try selected.map { row -> Double in
                    guard let number = Self.number(values[row]) else {
                        throw AppError.badRequest("row \(row + 1)'s prediction is not a number: regression needs numbers")
                    }
                    return number
                }
                return Scoring.regression(actual: actual, predicted: predicted, seed: seed)
            }
            return Scoring.classification(
                actual: selected.map { Scoring.canonicalLabel(labels[$0]) }, predicted: selected.map { Self.label(values[$0]) }, seed: seed)
        }
        let everyRow = Array(0..<rows)
        let candidateMetrics = try metrics(candidate, everyRow)
        let baselineMetrics = try baseline.map { try metrics($0, everyRow) }
        var slices: [EvaluationJob.Results.Slice] = []
        for column in job.decodedSliceColumns {
            guard let values = table.column(column) else { continue }
            let groups = Dictionary(grouping: everyRow) { values[$0] }
            for (value, selected) in groups.sorted(by: { $0.key < $1.key }) {
                slices.append(
                    .init(
                        column: column, value: value, rows: selected.count, candidate: try metrics(candidate, selected),
                        baseline: try baseline.map { try metrics($0, selected) }))
            }
        }
        return EvaluationJob.Results(
            rows: rows, candidate: candidateMetrics, baseline: baselineMetrics, slices: slices,
            gate: GateVerdict.decide(job.decodedThresholds, directions: benchmark.directions, candidate: candidateMetrics, baseline: baselineMetrics))
    }

    private func complete(_ values: [JSONValue?]?, model: String, rows: Int) throws -> [JSONValue] {
        guard let values else { throw AppError.badRequest("\(model) printed no predictions: see the job's log") }
        if let missing = values.firstIndex(where: { $0 == nil }) {
            throw AppError.badRequest("\(model) printed no prediction for row \(missing + 1) of \(rows): see the job's log")
        }
        return values.map { $0! }
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let number): number
        case .string(let text): Double(text).flatMap { $0.isFinite ? $0 : nil }
        default: nil
        }
    }

    static func label(_ value: JSONValue) -> String {
        switch value {
        case .number(let number): Scoring.canonicalLabel(String(number))
        case .string(let text): Scoring.canonicalLabel(text)
        case .bool(let flag): flag ? "true" : "false"
        default: ""
        }
    }
}
