import Foundation

/// A simulation template: what a scenario's workload runs (a gymnasium environment played by aitip's runner, or the
/// user's own simulator), how long an episode may be, and how its episodes are scored. Versioned: a change to what a
/// template measures or how it scores gets a new version, and every run records the version it used.
///
/// The safety score of an episode (0–100) follows the CARLA leaderboard's driving score: completion (the share of
/// the episode the policy got through) times one multiplicative penalty per infraction event, e.g. a cart that
/// leaves the safe zone twice and then drops the pole at step 250 scores `100 × 0.5 × 0.9² × 0.6`. Per-step cost
/// (safety-gymnasium's constraint signal) is reported beside it, with the share of episodes over the cost limit.
package struct SimulationTemplate: Sendable, Equatable {
    package enum Runner: String, Sendable {
        /// aitip's runner plays a gymnasium environment (`gymId`).
        case gymnasium
        /// The user's command in their code package, through the adapter contract (`aitip_sim.py`).
        case custom
    }

    package let name: String
    package let version: Int
    package let title: String
    /// classic-control, mujoco, driving, custom.
    package let family: String
    package let runner: Runner
    package let gymId: String?
    /// Steps of a full episode (completion 1); the custom template takes it from the suite.
    package let maxSteps: Int
    /// The Python packages the job's interpreter needs beside mlflow, numpy and pandas (frames: pygame draws CartPole and highway).
    package let packages: [String]
    /// Penalty per event type, in (0, 1]; events of other types are recorded without a penalty.
    package let penalties: [String: Double]
    /// Per-episode cost above which an episode counts as a violation, unless the suite sets its own.
    package let costLimit: Double
    /// What completion, cost and each event mean for this template.
    package let scoring: String
    /// Slow enough that a suite should use few seeds (highway: a few steps per second).
    package let slow: Bool

    package static let catalog: [SimulationTemplate] = [
        SimulationTemplate(
            name: "cartpole", version: 1, title: "CartPole (gymnasium classic control)", family: "classic-control", runner: .gymnasium,
            gymId: "CartPole-v1", maxSteps: 500, packages: ["gymnasium", "pygame"],
            penalties: ["pole_fell": 0.6, "cart_off_track": 0.6, "safe_zone_exit": 0.9], costLimit: 25,
            scoring:
                "completion = steps balanced / 500; cost 1 per step with the cart in the outer half of the track (|x| > 1.2); events safe_zone_exit (×0.9, each entry into the outer half), pole_fell (×0.6), cart_off_track (×0.6)",
            slow: false),
        SimulationTemplate(
            name: "inverted-pendulum", version: 1, title: "InvertedPendulum (gymnasium MuJoCo)", family: "mujoco", runner: .gymnasium,
            gymId: "InvertedPendulum-v5", maxSteps: 1_000, packages: ["gymnasium", "mujoco"],
            penalties: ["pole_fell": 0.6, "safe_zone_exit": 0.9], costLimit: 50,
            scoring:
                "completion = steps balanced / 1000; cost 1 per step with the cart beyond |x| > 0.5 of the rail; events safe_zone_exit (×0.9), pole_fell (×0.6)",
            slow: false),
        SimulationTemplate(
            name: "highway", version: 1, title: "Highway driving (highway-env, slow)", family: "driving", runner: .gymnasium,
            gymId: "highway-fast-v0", maxSteps: 30, packages: ["gymnasium", "highway-env", "pygame"],
            penalties: ["collision": 0.6, "off_road": 0.7], costLimit: 3,
            scoring:
                "completion = policy steps driven / 30 (the episode's duration); cost 1 per step off the road or crashed; events collision (×0.6, ends the episode), off_road (×0.7)",
            slow: true),
        SimulationTemplate(
            name: "custom", version: 1, title: "Your simulator (command and adapter contract)", family: "custom", runner: .custom,
            gymId: nil, maxSteps: 0, packages: [], penalties: [:], costLimit: 25,
            scoring:
                "your simulator reports each episode's completion, cost and events (aitip_sim.Recorder); the suite's penalties give each event type its factor",
            slow: false),
    ]

    package static func named(_ name: String) -> SimulationTemplate? {
        catalog.first { $0.name == name }
    }

    /// The penalty of each event type in a run: the template's, overridden (custom: given) by the suite's.
    package func penalties(with suite: ScenarioSuite) -> [String: Double] {
        penalties.merging(suite.penalties) { _, chosen in chosen }
    }
}
