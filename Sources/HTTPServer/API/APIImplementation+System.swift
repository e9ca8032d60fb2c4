import AITIPAPI

extension APIImplementation {
    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(.init(status: "ok"))))
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        if await dependencies.database.ping() {
            return .ok(.init(body: .json(.init(status: .ready, database: .ok))))
        }
        return .serviceUnavailable(.init(body: .json(.init(status: .notReady, database: .unavailable))))
    }
}
