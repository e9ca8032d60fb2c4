import AITIPCore
import Foundation
import Identity

/// The gates a release passes before traffic moves: each names its evidence, and is read again whenever it is
/// checked (a release is never let through on what a gate said earlier).
extension ReleaseService {
    package struct GateCheck: Sendable, Equatable {
        /// `evaluation`, `test` or `simulation`.
        package var gate: String
        package var evidence: UUID
        package var passed: Bool
        package var detail: String
    }

    func checkGates(_ release: Release, caller: Caller) async -> [GateCheck] {
        let gates = release.decodedGates
        var checks: [GateCheck] = []
        let model = "models:/\(release.modelName)/\(release.modelVersion)"
        if let id = gates.evaluationJobId {
            checks.append(
                await check("evaluation", id) {
                    let job = try await evaluation.job(id, caller: caller).details
                    guard job.modelName == release.modelName, String(job.modelVersion) == release.modelVersion else {
                        return (false, "evaluation \(id.lowercasedString) evaluated models:/\(job.modelName)/\(job.modelVersion), not \(model)")
                    }
                    switch job.gatePassed {
                    case true?: return (true, "the evaluation's gate passed")
                    case false?: return (false, "the evaluation's gate failed")
                    case nil: return (false, "the evaluation has no verdict yet (\(job.resultState.rawValue))")
                    }
                })
        }
        if let id = gates.testExecutionId {
            checks.append(
                await check("test", id) {
                    let (execution, plan, _) = try await testing.execution(id, caller: caller)
                    guard execution.resultState == .ready else {
                        return (false, "test execution of \(plan.name) has no results (\(execution.resultState.rawValue))")
                    }
                    return execution.failedCases == 0
                        ? (true, "\(plan.name): \(execution.passedCases) of \(execution.totalCases) cases passed")
                        : (false, "\(plan.name): \(execution.failedCases) of \(execution.totalCases) cases failed")
                })
        }
        if let id = gates.simulationRunId {
            checks.append(
                await check("simulation", id) {
                    let run = try await simulation.run(id, caller: caller).details
                    guard run.modelName == release.modelName, String(run.modelVersion) == release.modelVersion else {
                        return (false, "simulation run \(id.lowercasedString) played \(run.modelURI), not \(model)")
                    }
                    guard run.state == .completed, let score = run.safetyScore else {
                        return (false, "the simulation run is \(run.state.rawValue)\(run.error.map { ": \($0)" } ?? "")")
                    }
                    let shown = String(format: "%.1f", score)
                    if run.suiteOverridden { return (false, "the run replaced its environment's suite; a gate needs the environment's own") }
                    if run.modelSandbox != .own { return (false, "the model ran in the simulator's sandbox; a gate needs it in its own") }
                    if run.passed != true { return (false, "the simulation's verdict is failed (safety score \(shown))") }
                    if let minimum = gates.minSafetyScore, score < minimum {
                        return (false, "safety score \(shown) is below the gate's \(String(format: "%.1f", minimum))")
                    }
                    return (true, "passed with safety score \(shown)")
                })
        }
        return checks
    }

    /// One gate, with a failure to read its evidence (gone, or not the caller's to see) as a failed check that says so.
    private func check(_ gate: String, _ id: UUID, _ body: () async throws -> (Bool, String)) async -> GateCheck {
        do {
            let (passed, detail) = try await body()
            return GateCheck(gate: gate, evidence: id, passed: passed, detail: detail)
        } catch let error as AppError {
            return GateCheck(gate: gate, evidence: id, passed: false, detail: "its evidence cannot be read: \(error.detail)")
        } catch {
            return GateCheck(gate: gate, evidence: id, passed: false, detail: "its evidence cannot be read")
        }
    }
}
