import Executors
import Foundation

/// How a scenario's workload is kept from the host (design §6.3). `container` and `gvisor` are the local
/// executor's sandboxes (`Isolation`); `vm` (a Firecracker microVM per scenario) is part of the design, and refused
/// with the reason wherever it cannot run — on this server it never can yet (docs/simulation.md has the plan).
package enum IsolationType: String, Sendable, Codable, CaseIterable {
    case container, gvisor, vm

    /// The executor's sandbox; nil for `vm`.
    package var sandbox: Isolation? {
        switch self {
        case .container: .container
        case .gvisor: .gvisor
        case .vm: nil
        }
    }
}

/// A simulation environment (`simulation_environments`, design §3): a template, its scenario suite, the sandbox
/// and resources every scenario runs with, and the model it plays by default.
package struct SimulationEnvironment: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var ownerId: UUID?
    package var name: String
    package var description: String
    package var template: String
    package var templateVersion: Int
    /// JSON `ScenarioSuite`.
    package var scenarioConfig: String
    package var isolationType: IsolationType
    package var cpu: Double
    package var memoryMiB: Int
    package var maxRuntimeSeconds: Int?
    /// The interpreter that runs the scenario (it needs mlflow, numpy, pandas and the template's packages).
    package var python: String
    /// The custom template's command and code package (sha256).
    package var command: String?
    package var codeArchive: String?
    /// `models:/name/version` or `models:/name@alias`, resolved when a run starts; nil: every run names its model.
    package var modelURI: String?
    package var createdMs: Int64
    package var updatedMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, description, template, cpu, python, command
        case orgId = "org_id"
        case projectId = "project_id"
        case ownerId = "owner_id"
        case templateVersion = "template_version"
        case scenarioConfig = "scenario_config"
        case isolationType = "isolation_type"
        case memoryMiB = "memory_mib"
        case maxRuntimeSeconds = "max_runtime_seconds"
        case codeArchive = "code_archive"
        case modelURI = "model_uri"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }

    package var suite: ScenarioSuite {
        get throws { try JSONDecoder().decode(ScenarioSuite.self, from: Data(scenarioConfig.utf8)) }
    }
}
