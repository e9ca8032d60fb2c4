import AITIPTestSupport
import Foundation
import MLflowServer
import Testing

/// Every declared route × every kind of caller, on both databases: the exact status the declarations imply; for every
/// accepted change exactly one audit entry naming the caller; for every refused change nothing changed but the audit
/// trail, which holds exactly one denial. (AccessMatrix says how expectations are derived.)
@Suite("Access matrix")
struct AccessMatrixTests {
    /// The matrix runs no engine: submitted jobs stay queued, so nothing changes the database between two looks at it.
    static let settings = ["simulate_gpus": "a100:2"]

    @Test("every API operation in openapi.yaml × every caller", arguments: DatabaseKind.available)
    func apiOperations(kind: DatabaseKind) async throws {
        try await withApp(kind, settings: Self.settings) { app in
            let operations = try NativeRecipes.operations()
            #expect(operations.count >= 83)
            let failures = try await AccessMatrix.run(operations, in: try await AccessWorld(app), recipe: NativeRecipes.request)
            #expect(
                failures.isEmpty,
                "\(failures.count) of \(operations.count * AccessMatrix.Who.allCases.count) cases:\n\(failures.joined(separator: "\n"))")
        }
    }

    @Test("every MLflow route under each of its prefixes × every caller", arguments: DatabaseKind.available)
    func mlflowRoutes(kind: DatabaseKind) async throws {
        try await withApp(kind, settings: Self.settings) { app in
            let operations = MLflowRecipes.operations()
            #expect(operations.count == MLflowRoutePermissions.declared.count * 4)
            let world = try await AccessWorld(app)
            // (MLflow's unscoped prefixes act in the stranger's own `default` project, which registration made.)
            let failures = try await AccessMatrix.run(operations, in: world, recipe: MLflowRecipes.request)
            #expect(
                failures.isEmpty,
                "\(failures.count) of \(operations.count * AccessMatrix.Who.allCases.count) cases:\n\(failures.joined(separator: "\n"))")
        }
    }
}
