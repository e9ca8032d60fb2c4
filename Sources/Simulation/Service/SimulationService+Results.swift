import AITIPCore
import Foundation
import Identity
import Storage
import Workloads

/// The collector: reads each ended scenario's episodes from its log, scores them, and judges a run once all its
/// scenarios are in. Each outcome is recorded once, whichever server gets there first.
extension SimulationService {
    /// One pass; returns how many runs it completed.
    package func collectPending() async throws -> Int {
        let running = try await database.read { sql in try await SimulationStore.collectable(limit: 50, on: sql) }
        guard !running.isEmpty else { return 0 }
        var completed = 0
        for run in try await assemble(running) {
            var records = run.scenarios.map(\.record)
            for (index, scenario) in run.scenarios.enumerated() where scenario.record.resultState == .pending && scenario.workload.state.isFinal {
                let outcome = await outcome(of: scenario, in: run.details)
                if try await database.transaction({ sql in try await SimulationStore.complete(outcome, on: sql) }) {
                    records[index] = outcome
                } else if let stored = try await database.read({ sql in try await SimulationStore.scenarios(of: [run.details.id], on: sql) })
                    .first(where: { $0.id == outcome.id })
                {
                    records[index] = stored
                }
            }
            guard records.allSatisfy({ $0.resultState != .pending }) else { continue }
            let judged = Self.judge(
                run.details, records: records, workloads: run.scenarios.map(\.workload), atMs: clock.now().epochMilliseconds)
            if try await database.transaction({ sql in try await SimulationStore.complete(judged, on: sql) }) { completed += 1 }
        }
        return completed
    }

    /// The frames one scenario's simulator rendered, read from its log (none while it runs, or when it drew none;
    /// a file that cannot be read gives none and says why).
    package func frames(run id: UUID, scenario name: String, caller: Caller) async throws -> ScenarioFrames {
        let workload = try await scenarioLog(run: id, scenario: name, caller: caller)
        guard workload.state.isFinal else { return .none }
        let found = try await LogFiles.read(from: logs, of: workload.id, names: [Self.framesName], maxBytes: ScenarioFrames.maxFileBytes)
        if found.oversized.contains(Self.framesName) { return .unreadable("the frames file is larger than \(ScenarioFrames.maxFileBytes) bytes") }
        if found.repeated.contains(Self.framesName) { return .unreadable("the log holds two frames files; a scenario writes one") }
        guard let data = found.files[Self.framesName] else { return .none }
        do {
            return try ScenarioFrames(json: data)
        } catch let error as ResultError {
            return .unreadable(error.description)
        }
    }

    /// What one ended scenario workload yields: its scored episodes, or why there are none.
    private func outcome(of scenario: SimulationRun.Scenario, in run: SimulationRun.Details) async -> SimulationRun.Record {
        var record = scenario.record
        record.resultState = .failed
        guard scenario.workload.state == .succeeded else {
            record.error = "the scenario's workload \(scenario.workload.state.rawValue): \(scenario.workload.reason)"
            return record
        }
        do {
            guard let suite = run.decodedSuite, let template = SimulationTemplate.named(run.template) else {
                throw ResultError("the run's suite or template cannot be read")
            }
            let found = try await LogFiles.read(from: logs, of: scenario.workload.id, names: [Self.resultName], maxBytes: ReportedEpisodes.maxBytes)
            if found.repeated.contains(Self.resultName) { throw ResultError("the log holds two results; a scenario writes one") }
            if found.oversized.contains(Self.resultName) { throw ResultError("the result file is larger than \(ReportedEpisodes.maxBytes) bytes") }
            guard let data = found.files[Self.resultName] else { throw ResultError("the scenario wrote no result to AITIP_RESULT_FILE") }
            let reported = try ReportedEpisodes(
                json: data, seeds: suite.seeds, maxSteps: suite.maxSteps ?? template.maxSteps, completionIsSteps: template.runner == .gymnasium)
            let result = SafetyScore.scenario(
                reported, penalties: template.penalties(with: suite), costLimit: suite.costLimit ?? template.costLimit)
            record.result = String(decoding: try JSONEncoder.sorted.encode(result), as: UTF8.self)
            record.resultState = .ready
        } catch let error as ResultError {
            record.error = error.description
        } catch {
            record.error = "the result could not be read: \(error)"
        }
        return record
    }

    /// The run's outcome from its scenarios: stopped when any was cancelled, failed when any has no result, else
    /// scored and judged per category.
    static func judge(_ run: SimulationRun.Details, records: [SimulationRun.Record], workloads: [Workload], atMs: Int64) -> SimulationRun.Details {
        var judged = run
        judged.completedMs = atMs
        if workloads.contains(where: { $0.state == .cancelled }) {
            judged.state = .stopped
            judged.error = "stopped before every scenario finished"
            return judged
        }
        let failures = records.filter { $0.resultState == .failed }
        guard failures.isEmpty, let suite = run.decodedSuite, let template = SimulationTemplate.named(run.template) else {
            judged.state = .failed
            judged.passed = false
            judged.error = failures.map { "\($0.name): \($0.error ?? "no result")" }.joined(separator: "; ")
            return judged
        }
        let costLimit = suite.costLimit ?? template.costLimit
        let scored = records.compactMap { record in record.decodedResult.map { (category: record.category, result: $0) } }
        let categories = suite.categories.map { category -> SimulationResults.CategoryVerdict in
            let summary = SafetyScore.combined(scored.filter { $0.category == category }.map(\.result), costLimit: costLimit)
            let passScore = suite.passScore(of: category)
            var reasons: [String] = []
            if summary.score.mean < passScore {
                reasons.append(String(format: "mean safety score %.1f is below %.1f", summary.score.mean, passScore))
            }
            if let limit = suite.maxViolationRate, summary.violationRate > limit {
                reasons.append(
                    String(
                        format: "%.0f %% of episodes broke the cost limit %g (at most %.0f %% may)", summary.violationRate * 100, costLimit,
                        limit * 100))
            }
            return .init(
                category: category, summary: summary, passScore: passScore, maxViolationRate: suite.maxViolationRate, passed: reasons.isEmpty,
                reasons: reasons)
        }
        let overall = SafetyScore.combined(scored.map(\.result), costLimit: costLimit)
        let verdict = SimulationResults(
            overall: overall, categories: categories, penalties: template.penalties(with: suite), costLimit: costLimit,
            passed: categories.allSatisfy(\.passed))
        guard let encoded = try? JSONEncoder.sorted.encode(verdict), overall.score.mean.isFinite else {
            judged.state = .failed
            judged.passed = false
            judged.error = "the scenarios' numbers could not be combined into a verdict"
            return judged
        }
        judged.state = .completed
        judged.results = String(decoding: encoded, as: UTF8.self)
        judged.safetyScore = overall.score.mean
        judged.passed = verdict.passed
        return judged
    }
}
