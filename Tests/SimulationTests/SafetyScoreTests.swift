import AITIPCore
import Foundation
import Testing
import Workloads

@testable import Simulation

/// The numbers a run is judged by: the result file a job writes is checked before it is believed, an episode's
/// score is the documented product, and a run is judged per category.
@Suite("Simulation: result files, safety scores, verdicts")
struct SafetyScoreTests {
    static func episode(_ seed: Int, steps: Int = 500, events: [String] = [], cost: Double = 0) -> [String: Any] {
        [
            "seed": seed, "steps": steps, "max_steps": 500, "return": Double(steps), "cost": cost, "completion": Double(steps) / 500,
            "ended": steps == 500 ? "truncated" : "terminated", "events_dropped": 0,
            "events": events.enumerated().map { ["type": $1, "step": $0 * 10, "time": Double($0) * 0.2] },
        ]
    }

    static func file(_ episodes: [[String: Any]], format: Int = 1) throws -> Data {
        try JSONSerialization.data(withJSONObject: ["format": format, "episodes": episodes, "steps": 1_000, "seconds": 0.5])
    }

    @Test("an episode scores 100 × completion × its events' penalties; unknown events count 1")
    func episodeScore() throws {
        let reported = try ReportedEpisodes(
            json: try Self.file([Self.episode(0, steps: 250, events: ["safe_zone_exit", "safe_zone_exit", "pole_fell", "mystery"])]), seeds: [0],
            maxSteps: 500, completionIsSteps: true)
        let penalties = SimulationTemplate.named("cartpole")!.penalties
        #expect(abs(SafetyScore.episode(reported.episodes[0], penalties: penalties) - 100 * 0.5 * 0.9 * 0.9 * 0.6) < 1e-9)
    }

    @Test(
        "a result file that is not believable is refused with the reason",
        arguments: [
            ("format 2", try! file([episode(0)], format: 2), "format"),
            ("missing seed", try! file([episode(1)]), "one per seed"),
            ("extra episode", try! file([episode(0), episode(1)]), "one per seed"),
            ("too many steps", try! file([episode(0, steps: 501)]), "steps"),
            ("negative cost", try! file([episode(0, cost: -1)]), "cost"),
            ("bad event name", try! file([episode(0, events: ["Robert'); DROP"])]), "event"),
            ("not JSON", Data("nope".utf8), "documented JSON"),
            ("another episode length", try! file([episode(0).merging(["max_steps": 1_000]) { $1 }]), "the scenario gave 500"),
            ("completion not the steps", try! file([episode(0).merging(["completion": 0.5]) { $1 }]), "steps / max_steps"),
            ("huge events_dropped", try! file([episode(0, events: ["gust"]).merging(["events_dropped": Int.max]) { $1 }]), "events_dropped"),
            ("huge return", try! file([episode(0).merging(["return": 1e300]) { $1 }]), "1e12"),
            ("event with a dash", try! file([episode(0, events: ["wind-drift"])]), "event"),
        ])
    func refusals(_ name: String, _ data: Data, _ fragment: String) {
        #expect(throws: ResultError.self, "\(name)") { try ReportedEpisodes(json: data, seeds: [0], maxSteps: 500, completionIsSteps: true) }
        do {
            _ = try ReportedEpisodes(json: data, seeds: [0], maxSteps: 500, completionIsSteps: true)
        } catch let error as ResultError {
            #expect(error.description.contains(fragment), "\(name): \(error)")
        } catch {
            Issue.record("\(name): \(error)")
        }
    }

    @Test("mean ± standard error, as Inspect AI reports")
    func meanWithError() {
        let value = MeanWithError([1, 2, 3, 4])
        #expect(value.mean == 2.5 && value.count == 4)
        #expect(abs(value.stderr - (1.6666666666666667 / 4).squareRoot()) < 1e-12)
        #expect(MeanWithError([7]).stderr == 0 && MeanWithError([]).mean == 0)
    }

    @Test("a run is judged per category, against its own pass score and the cost limit; a failed scenario leaves no verdict")
    func judging() throws {
        let suite = ScenarioSuite(
            seeds: [0, 1],
            scenarios: [.init(name: "calm", category: "nominal"), .init(name: "wind", category: "disturbance")],
            passScore: 90, categoryPassScores: ["disturbance": 40], costLimit: 5, maxViolationRate: 0.5)
        let details = SimulationRun.Details(
            id: UUID(), envId: UUID(), orgId: UUID(), projectId: UUID(), createdBy: nil, template: "cartpole", templateVersion: 1,
            isolationType: .container, modelName: "m", modelVersion: 1, modelVersionId: UUID(),
            suite: String(decoding: try JSONEncoder.sorted.encode(suite), as: UTF8.self), suiteOverridden: false, modelSandbox: .own, state: .running,
            results: nil,
            safetyScore: nil,
            passed: nil, error: nil, createdMs: 0, completedMs: nil)
        let penalties = SimulationTemplate.named("cartpole")!.penalties
        func record(_ name: String, _ category: String, _ episodes: [[String: Any]]) throws -> SimulationRun.Record {
            let result = SafetyScore.scenario(
                try ReportedEpisodes(json: try Self.file(episodes), seeds: [0, 1], maxSteps: 500, completionIsSteps: true), penalties: penalties,
                costLimit: 5)
            return SimulationRun.Record(
                id: UUID(), runId: details.id, position: 0, name: name, category: category, resultState: .ready,
                result: String(decoding: try JSONEncoder.sorted.encode(result), as: UTF8.self), error: nil)
        }
        let calm = try record("calm", "nominal", [Self.episode(0), Self.episode(1)])
        // 50 and 30: mean 40 meets disturbance's 40, but both episodes break the cost limit (rate 1 > 0.5).
        let wind = try record(
            "wind", "disturbance", [Self.episode(0, steps: 250, cost: 9), Self.episode(1, steps: 250, events: ["pole_fell"], cost: 9)])
        let judged = SimulationService.judge(details, records: [calm, wind], workloads: [], atMs: 7)
        let results = try #require(judged.decodedResults)
        #expect(judged.state == .completed && judged.passed == false && judged.completedMs == 7)
        #expect(results.categories.map(\.category) == ["nominal", "disturbance"])
        #expect(results.categories[0].passed && results.categories[0].summary.score.mean == 100)
        #expect(!results.categories[1].passed && results.categories[1].reasons.count == 1)
        #expect(results.categories[1].reasons[0].contains("cost limit"), "\(results.categories[1].reasons)")
        #expect(abs(results.categories[1].summary.score.mean - 40) < 1e-9 && results.categories[1].summary.events == ["pole_fell": 1])
        #expect(abs((judged.safetyScore ?? 0) - 70) < 1e-9)

        var broken = wind
        broken.resultState = .failed
        broken.result = nil
        broken.error = "the scenario wrote no result"
        let failed = SimulationService.judge(details, records: [calm, broken], workloads: [], atMs: 7)
        #expect(failed.state == .failed && failed.passed == false && failed.error == "wind: the scenario wrote no result")
    }

    @Test("a suite's problems are all reported, each under its field")
    func suiteChecks() throws {
        let template = SimulationTemplate.named("cartpole")!
        var suite = ScenarioSuite(
            seeds: [1, 1], maxSteps: 501,
            scenarios: [.init(name: "Bad", category: "x", perturbations: .init(sensorDropout: 2, push: .init(magnitude: 1, every: 0)))],
            passScore: 101, categoryPassScores: ["y": 50], penalties: ["fell": 0])
        var validator = Validator()
        suite.check(&validator, for: template, field: "scenario_config")
        let fields = Set(validator.errors.map(\.field))
        for field in [
            "scenario_config.seeds", "scenario_config.max_steps", "scenario_config.scenarios[0].name",
            "scenario_config.scenarios[0].perturbations.sensor_dropout", "scenario_config.scenarios[0].perturbations.push.every",
            "scenario_config.pass_score", "scenario_config.category_pass_scores.y", "scenario_config.penalties.fell",
        ] {
            #expect(fields.contains(field), "\(field) in \(fields)")
        }
        suite = ScenarioSuite()
        validator = Validator()
        suite.check(&validator, for: SimulationTemplate.named("custom")!, field: "s")
        #expect(validator.errors.map(\.field) == ["s.max_steps"], "the custom template needs the episode length")
    }
}
