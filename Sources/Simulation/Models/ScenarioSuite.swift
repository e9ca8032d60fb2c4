import AITIPCore
import Foundation

/// A parameterised suite: every scenario (a named set of perturbations in a category) is played over the same
/// seeds; each scenario becomes one workload, and the gate judges each category. Stored as an environment's
/// `scenario_config`, and resolved into every run (a run may replace the seeds or the scenarios).
package struct ScenarioSuite: Sendable, Codable, Equatable {
    package var seeds: [Int]
    /// Steps per episode; nil: the template's (custom: required).
    package var maxSteps: Int?
    package var scenarios: [Scenario]
    /// The mean safety score a category needs to pass, unless `categoryPassScores` names it.
    package var passScore: Double
    package var categoryPassScores: [String: Double]
    /// Per-episode cost above which an episode is a violation; nil: the template's.
    package var costLimit: Double?
    /// The share of a category's episodes that may break the cost limit; nil: not part of the gate.
    package var maxViolationRate: Double?
    /// Penalty per event type, over the template's (the custom template's only source).
    package var penalties: [String: Double]
    /// Frames of each scenario's first episode the built-in templates render; nil: `defaultFrames`, 0: none.
    package var frames: Int?

    package struct Scenario: Sendable, Codable, Equatable {
        package var name: String
        package var category: String
        package var perturbations: Perturbations

        package init(name: String, category: String, perturbations: Perturbations = .init()) {
            self.name = name
            self.category = category
            self.perturbations = perturbations
        }
    }

    /// What the runner (`aitip_sim.Perturbations`) does to a scenario's episodes; all optional.
    package struct Perturbations: Sendable, Codable, Equatable {
        /// σ of Gaussian noise added to what the model sees.
        package var observationNoise: Double?
        /// Chance per step that the model sees its previous observation again (a frozen sensor).
        package var sensorDropout: Double?
        /// An impulse of ± magnitude on the template's push axis every `every` steps (wind, a shove).
        package var push: Push?
        /// Uniform ± noise added to the initial state.
        package var initialStateNoise: Double?

        package struct Push: Sendable, Codable, Equatable {
            package var magnitude: Double
            package var every: Int

            package init(magnitude: Double, every: Int) {
                self.magnitude = magnitude
                self.every = every
            }
        }

        package init(observationNoise: Double? = nil, sensorDropout: Double? = nil, push: Push? = nil, initialStateNoise: Double? = nil) {
            self.observationNoise = observationNoise
            self.sensorDropout = sensorDropout
            self.push = push
            self.initialStateNoise = initialStateNoise
        }

        enum CodingKeys: String, CodingKey {
            case push
            case observationNoise = "observation_noise"
            case sensorDropout = "sensor_dropout"
            case initialStateNoise = "initial_state_noise"
        }
    }

    enum CodingKeys: String, CodingKey {
        case seeds, scenarios, penalties, frames
        case maxSteps = "max_steps"
        case passScore = "pass_score"
        case categoryPassScores = "category_pass_scores"
        case costLimit = "cost_limit"
        case maxViolationRate = "max_violation_rate"
    }

    package init(
        seeds: [Int] = Array(0..<Self.defaultSeeds), maxSteps: Int? = nil, scenarios: [Scenario] = [.init(name: "nominal", category: "nominal")],
        passScore: Double = Self.defaultPassScore, categoryPassScores: [String: Double] = [:], costLimit: Double? = nil,
        maxViolationRate: Double? = nil, penalties: [String: Double] = [:], frames: Int? = nil
    ) {
        self.frames = frames
        self.seeds = seeds
        self.maxSteps = maxSteps
        self.scenarios = scenarios
        self.passScore = passScore
        self.categoryPassScores = categoryPassScores
        self.costLimit = costLimit
        self.maxViolationRate = maxViolationRate
        self.penalties = penalties
    }

    package static let defaultSeeds = 20
    package static let defaultFrames = 20
    /// `aitip_sim.MAX_FRAMES`: what a scenario keeps at most.
    static let maxFrames = 200
    package static let defaultPassScore = 80.0
    static let maxSeeds = 1_000
    static let maxScenarios = 50
    static let maxCustomSteps = 1_000_000

    /// The categories, in the order their first scenario appears.
    package var categories: [String] {
        var seen: Set<String> = []
        return scenarios.map(\.category).filter { seen.insert($0).inserted }
    }

    package func passScore(of category: String) -> Double {
        categoryPassScores[category] ?? passScore
    }

    /// Names of scenarios, categories and event types: what a URL, a file name or a metric can carry.
    static func isName(_ text: String) -> Bool {
        (1...63).contains(text.count)
            && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
            && text.unicodeScalars.first.map { ("a"..."z").contains($0) } == true
    }

    /// Every problem of the suite for this template, each under `field` (e.g. `scenario_config`).
    package func check(_ validator: inout Validator, for template: SimulationTemplate, field: String) {
        validator.check((1...Self.maxSeeds).contains(seeds.count), "\(field).seeds", "must hold 1 to \(Self.maxSeeds) seeds")
        validator.check(Set(seeds).count == seeds.count, "\(field).seeds", "names a seed twice")
        validator.check(seeds.allSatisfy { (0...Int(Int32.max)).contains($0) }, "\(field).seeds", "must be between 0 and 2147483647")
        if template.runner == .custom {
            validator.check(maxSteps != nil, "\(field).max_steps", "is required for the custom template: the steps of a full episode")
        }
        if let maxSteps {
            let limit = template.runner == .custom ? Self.maxCustomSteps : template.maxSteps
            validator.check((1...limit).contains(maxSteps), "\(field).max_steps", "must be between 1 and \(limit) for \(template.name)")
        }
        validator.check((1...Self.maxScenarios).contains(scenarios.count), "\(field).scenarios", "must hold 1 to \(Self.maxScenarios) scenarios")
        var names: Set<String> = []
        for (index, scenario) in scenarios.enumerated() {
            let place = "\(field).scenarios[\(index)]"
            validator.check(Self.isName(scenario.name), "\(place).name", "must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter")
            validator.check(names.insert(scenario.name).inserted, "\(place).name", "'\(scenario.name.prefix(63))' is used twice")
            validator.check(
                Self.isName(scenario.category), "\(place).category", "must be 1-63 lowercase letters, digits, '-' or '_', starting with a letter")
            scenario.perturbations.check(&validator, field: "\(place).perturbations")
        }
        validator.check(Self.isScore(passScore), "\(field).pass_score", "must be between 0 and 100")
        validator.check(categoryPassScores.count <= Self.maxScenarios, "\(field).category_pass_scores", "names too many categories")
        let categories = Set(self.categories)
        for (category, score) in categoryPassScores {
            validator.check(
                categories.contains(category), "\(field).category_pass_scores.\(category.prefix(63))", "is not a category of the scenarios")
            validator.check(Self.isScore(score), "\(field).category_pass_scores.\(category.prefix(63))", "must be between 0 and 100")
        }
        if let costLimit { validator.check(costLimit.isFinite && costLimit >= 0, "\(field).cost_limit", "must be 0 or more") }
        if let maxViolationRate {
            validator.check((0...1).contains(maxViolationRate), "\(field).max_violation_rate", "must be between 0 and 1")
        }
        if let frames {
            validator.check((0...Self.maxFrames).contains(frames), "\(field).frames", "must be between 0 and \(Self.maxFrames)")
        }
        validator.check(penalties.count <= 100, "\(field).penalties", "may name at most 100 event types")
        for (event, factor) in penalties {
            validator.check(
                Self.isEventType(event), "\(field).penalties.\(event.prefix(63))", "is not an event type (lowercase letters, digits, '_')")
            validator.check(factor > 0 && factor <= 1, "\(field).penalties.\(event.prefix(63))", "must be more than 0 and at most 1")
        }
    }

    /// Event types (penalty keys): what `aitip_sim` writes, lowercase letters, digits and '_' from a letter on.
    static func isEventType(_ text: String) -> Bool {
        isName(text) && !text.contains("-")
    }

    static func isScore(_ value: Double) -> Bool { value.isFinite && (0...100).contains(value) }
}

extension ScenarioSuite.Perturbations {
    func check(_ validator: inout Validator, field: String) {
        if let observationNoise {
            validator.check(
                observationNoise.isFinite && (0...100).contains(observationNoise), "\(field).observation_noise", "must be between 0 and 100")
        }
        if let sensorDropout {
            validator.check((0...1).contains(sensorDropout), "\(field).sensor_dropout", "must be a probability between 0 and 1")
        }
        if let push {
            validator.check(push.magnitude.isFinite && (0...1_000).contains(push.magnitude), "\(field).push.magnitude", "must be between 0 and 1000")
            validator.check((1...1_000_000).contains(push.every), "\(field).push.every", "must be between 1 and 1000000 steps")
        }
        if let initialStateNoise {
            validator.check(
                initialStateNoise.isFinite && (0...100).contains(initialStateNoise), "\(field).initial_state_noise", "must be between 0 and 100")
        }
    }
}
