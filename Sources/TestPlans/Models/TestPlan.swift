import Foundation

/// A test plan (design §3 `test_plans`): what to run (`config`: a command, its code package, environment, where it
/// writes its JUnit and Cobertura reports, resources), and when (`schedule`, cron, UTC).
package struct TestPlan: Sendable, Codable, Equatable {
    package var id: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var ownerId: UUID?
    package var name: String
    package var description: String
    package var testType: String
    /// JSON `TestPlan.Config`.
    package var config: String
    package var schedule: String?
    /// When the schedule fires next (epoch ms); nil without a schedule.
    package var nextRunMs: Int64?
    package var createdMs: Int64
    package var updatedMs: Int64

    package static let testTypes = ["unit", "integration", "e2e", "regression"]

    package struct Config: Sendable, Codable, Equatable {
        package var command: String
        package var codeArchive: String?
        package var env: [String: String]
        package var junitPath: String
        package var coveragePath: String?
        package var cpu: Double?
        package var memoryMiB: Int?
        package var maxRuntimeSeconds: Int?

        package init(
            command: String, codeArchive: String?, env: [String: String], junitPath: String?, coveragePath: String?, cpu: Double?, memoryMiB: Int?,
            maxRuntimeSeconds: Int?
        ) {
            self.command = command
            self.codeArchive = codeArchive
            self.env = env
            self.junitPath = junitPath ?? "junit.xml"
            self.coveragePath = coveragePath
            self.cpu = cpu
            self.memoryMiB = memoryMiB
            self.maxRuntimeSeconds = maxRuntimeSeconds
        }

        enum CodingKeys: String, CodingKey {
            case command, env, cpu
            case codeArchive = "code_archive"
            case junitPath = "junit_path"
            case coveragePath = "coverage_path"
            case memoryMiB = "memory_mib"
            case maxRuntimeSeconds = "max_runtime_seconds"
        }
    }

    package var decodedConfig: Config? { try? JSONDecoder().decode(Config.self, from: Data(config.utf8)) }

    enum CodingKeys: String, CodingKey {
        case id, name, description, config, schedule
        case orgId = "org_id"
        case projectId = "project_id"
        case ownerId = "owner_id"
        case testType = "test_type"
        case nextRunMs = "next_run_ms"
        case createdMs = "created_ms"
        case updatedMs = "updated_ms"
    }
}

/// One run of a plan (design §3 `test_executions`): run by aitip as a workload of the kind `test` (`workloadId`), or
/// reported by a system outside (results posted to the plan).
package struct TestExecution: Sendable, Codable, Equatable {
    package var id: UUID
    package var planId: UUID
    package var orgId: UUID
    package var projectId: UUID
    package var workloadId: UUID?
    package var triggerType: String
    package var triggeredBy: UUID?
    package var resultState: ResultState
    package var exitCode: Int?
    package var totalCases: Int
    package var passedCases: Int
    package var failedCases: Int
    package var skippedCases: Int
    package var coveragePercent: Double?
    package var durationSeconds: Double?
    package var resultError: String?
    package var createdMs: Int64
    package var completedMs: Int64?

    /// `pending` until the run ends and its reports are read; `ready` with results; `failed` when there are none.
    package enum ResultState: String, Sendable, Codable {
        case pending, ready, failed
    }

    package enum Trigger: String, Sendable {
        case manual, scheduled, webhook
    }

    enum CodingKeys: String, CodingKey {
        case id
        case planId = "plan_id"
        case orgId = "org_id"
        case projectId = "project_id"
        case workloadId = "workload_id"
        case triggerType = "trigger_type"
        case triggeredBy = "triggered_by"
        case resultState = "result_state"
        case exitCode = "exit_code"
        case totalCases = "total_cases"
        case passedCases = "passed_cases"
        case failedCases = "failed_cases"
        case skippedCases = "skipped_cases"
        case coveragePercent = "coverage_percent"
        case durationSeconds = "duration_seconds"
        case resultError = "result_error"
        case createdMs = "created_ms"
        case completedMs = "completed_ms"
    }
}
