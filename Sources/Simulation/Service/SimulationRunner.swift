import Foundation

/// The Python side of a scenario, shipped inside the binary (Sources/Simulation/Python) and packed into each run's
/// code package: `aitip_sim.py`, the adapter library (scenario, policy, perturbations, recorder) that custom
/// simulators import too, and `sim_runner.py`, which plays the built-in templates with it.
enum SimulationRunner {
    static let libraryFile = "aitip_sim.py"
    static let runnerFile = "sim_runner.py"
    static var librarySource: String { String(decoding: PackageResources.aitip_sim_py, as: UTF8.self) }
    static var runnerSource: String { String(decoding: PackageResources.sim_runner_py, as: UTF8.self) }

    /// What a scenario's workload is told (`AITIP_SCENARIO_FILE`).
    struct ScenarioFile: Encodable {
        var template: String
        var templateVersion: Int
        var seeds: [Int]
        var maxSteps: Int
        var frames: Int
        var scenario: ScenarioSuite.Scenario

        enum CodingKeys: String, CodingKey {
            case template, seeds, scenario, frames
            case templateVersion = "template_version"
            case maxSteps = "max_steps"
        }
    }
}
