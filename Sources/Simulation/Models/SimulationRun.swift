import Foundation
import Workloads

/// A simulation run (`simulation_runs`): one model version played over an environment's suite. Its scenarios run
/// as workloads of the kind `simulation`, in parallel as far as the queue's quota allows; once all have ended the
/// run is scored and judged.
package struct SimulationRun: Sendable {
    package var details: Details
    /// In suite order, each with its workload.
    package var scenarios: [Scenario]

    /// `running` until every scenario's workload has ended; then `completed` (scored, `passed` says the verdict),
    /// `failed` (a scenario could not be scored, or the run could not be judged) or `stopped`.
    package enum State: String, Sendable, Codable {
        case running, completed, failed, stopped
    }

    /// Where the model ran: `own`, a sandbox of its own beside the simulator's (the executor's companion), asked
    /// over a socket, so that its code cannot touch the simulator, its records or its result; `shared`, loaded into
    /// the simulator's process, where the executor cannot run a second sandbox.
    package enum ModelSandbox: String, Sendable, Codable {
        case own, shared
    }

    package struct Details: Sendable, Codable, Equatable {
        package var id: UUID
        package var envId: UUID
        package var orgId: UUID
        package var projectId: UUID
        package var createdBy: UUID?
        package var template: String
        package var templateVersion: Int
        package var isolationType: IsolationType
        package var modelName: String
        package var modelVersion: Int
        package var modelVersionId: UUID
        /// JSON `ScenarioSuite`, as resolved when the run began.
        package var suite: String
        /// The run replaced the environment's seeds or scenarios: a gate should know it was not the environment's suite.
        package var suiteOverridden: Bool
        package var modelSandbox: ModelSandbox
        package var state: State
        /// JSON `SimulationResults`, once scored.
        package var results: String?
        package var safetyScore: Double?
        package var passed: Bool?
        package var error: String?
        package var createdMs: Int64
        package var completedMs: Int64?

        enum CodingKeys: String, CodingKey {
            case id, template, suite, state, results, passed, error
            case envId = "env_id"
            case orgId = "org_id"
            case projectId = "project_id"
            case createdBy = "created_by"
            case templateVersion = "template_version"
            case isolationType = "isolation_type"
            case modelName = "model_name"
            case modelVersion = "model_version"
            case modelVersionId = "model_version_id"
            case safetyScore = "safety_score"
            case suiteOverridden = "suite_overridden"
            case modelSandbox = "model_sandbox"
            case createdMs = "created_ms"
            case completedMs = "completed_ms"
        }

        package var modelURI: String { "models:/\(modelName)/\(modelVersion)" }

        package var decodedSuite: ScenarioSuite? { try? JSONDecoder().decode(ScenarioSuite.self, from: Data(suite.utf8)) }

        package var decodedResults: SimulationResults? {
            results.flatMap { try? JSONDecoder().decode(SimulationResults.self, from: Data($0.utf8)) }
        }
    }

    /// One scenario of a run (`simulation_scenarios`), with its workload.
    package struct Scenario: Sendable {
        package var record: Record
        package var workload: Workload
    }

    package enum ResultState: String, Sendable, Codable {
        case pending, ready, failed
    }

    package struct Record: Sendable, Codable, Equatable {
        /// The workload's id.
        package var id: UUID
        package var runId: UUID
        package var position: Int
        package var name: String
        package var category: String
        package var resultState: ResultState
        /// JSON `ScenarioResult`, once read.
        package var result: String?
        package var error: String?

        enum CodingKeys: String, CodingKey {
            case id, position, name, category, result, error
            case runId = "run_id"
            case resultState = "result_state"
        }

        package var decodedResult: ScenarioResult? {
            result.flatMap { try? JSONDecoder().decode(ScenarioResult.self, from: Data($0.utf8)) }
        }
    }
}

/// What a scenario's workload reported, scored.
package struct ScenarioResult: Sendable, Codable, Equatable {
    package var summary: SafetyScore.Summary
    package var stepsPerSecond: Double
    package var episodes: [EpisodeResult]

    package struct EpisodeResult: Sendable, Codable, Equatable {
        package var seed: Int
        package var score: Double
        package var completion: Double
        package var reward: Double
        package var cost: Double
        package var steps: Int
        package var ended: String
        /// The first `keptEvents` events; `eventsTotal` counts all, dropped ones included.
        package var events: [ReportedEpisodes.Event]
        package var eventsTotal: Int

        enum CodingKeys: String, CodingKey {
            case seed, score, completion, cost, steps, ended, events
            case reward = "return"
            case eventsTotal = "events_total"
        }
    }

    enum CodingKeys: String, CodingKey {
        case summary, episodes
        case stepsPerSecond = "steps_per_second"
    }

    /// Events kept per episode in a run's record (every event is counted in the summaries).
    static let keptEvents = 20
}

/// A run's scores and its gate: the verdict the release pipeline reads.
package struct SimulationResults: Sendable, Codable, Equatable {
    package var overall: SafetyScore.Summary
    package var categories: [CategoryVerdict]
    package var penalties: [String: Double]
    package var costLimit: Double
    package var passed: Bool

    package struct CategoryVerdict: Sendable, Codable, Equatable {
        package var category: String
        package var summary: SafetyScore.Summary
        package var passScore: Double
        package var maxViolationRate: Double?
        package var passed: Bool
        /// Why it failed, in words; empty when it passed.
        package var reasons: [String]

        enum CodingKeys: String, CodingKey {
            case category, summary, passed, reasons
            case passScore = "pass_score"
            case maxViolationRate = "max_violation_rate"
        }
    }

    enum CodingKeys: String, CodingKey {
        case overall, categories, penalties, passed
        case costLimit = "cost_limit"
    }
}
