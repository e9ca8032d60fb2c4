import AITIPCore
import Foundation
import Testing

@testable import Tracking

@Suite("Search filter grammar")
struct SearchFilterTests {
    @Test("comparisons of every entity, quoted keys, lists and numbers")
    func parses() throws {
        let filter = try SearchFilter(
            "metrics.acc > 0.9 AND params.`learning rate` = '1e-3' AND tags.\"mlflow.user\" LIKE 'ana%' "
                + "AND attributes.status IN ('FINISHED', 'FAILED') AND metrics.loss <= -1.5e-2 AND run_name != 'x'")
        #expect(
            filter.clauses == [
                .init(entity: .metric, key: "acc", comparator: .greater, value: .number(0.9)),
                .init(entity: .param, key: "learning rate", comparator: .equal, value: .string("1e-3")),
                .init(entity: .tag, key: "mlflow.user", comparator: .like, value: .string("ana%")),
                .init(entity: .attribute, key: "status", comparator: .in, value: .list(["FINISHED", "FAILED"])),
                .init(entity: .metric, key: "loss", comparator: .lessOrEqual, value: .number(-0.015)),
                .init(entity: .attribute, key: "run_name", comparator: .notEqual, value: .string("x")),
            ])
        #expect(try SearchFilter("tags.mlflow.runName = 'it''s'").clauses.first?.value == .string("it's"))
        #expect(try SearchFilter("params.a NOT IN ('x')").clauses.first?.comparator == .notIn)
        #expect(try SearchFilter("  ").clauses.isEmpty)
    }

    @Test(
        "mistakes are reported, not guessed",
        arguments: [
            "metrics.acc > 'high'", "params.lr > '1'", "metrics.acc > 1 OR metrics.acc < 0", "params.lr = 'open", "attributes.color = 'red'",
            "metrics.acc", "metrics.acc >> 1", "params.lr IN 'x'", "metrics.acc = 1 metrics.loss = 2", "start_time = 'yesterday'",
        ])
    func rejects(text: String) {
        #expect(throws: AppError.self) { try SearchFilter(text) }
    }

    @Test("order_by entries")
    func orders() throws {
        #expect(try SearchOrder("metrics.acc DESC") == SearchOrder("metrics.acc desc"))
        #expect(try SearchOrder("metrics.acc DESC").ascending == false)
        #expect(try SearchOrder("start_time").entity == .attribute)
        #expect(throws: AppError.self) { try SearchOrder("attributes.color") }
    }
}

@Suite("Metric storage")
struct MetricStorageTests {
    @Test("packed chunks keep every bit, NaN and infinities included")
    func roundTrip() {
        let points = [
            MetricPoint(key: "k", value: .nan, timestampMs: 1, step: -3), MetricPoint(key: "k", value: .infinity, timestampMs: 2, step: 0),
            MetricPoint(key: "k", value: -.infinity, timestampMs: 3, step: Int64.max), MetricPoint(key: "k", value: 0.1, timestampMs: -4, step: 7),
        ]
        var decoded: [MetricPoint] = []
        MetricChunk.unpack(MetricChunk.pack(points), key: "k", into: &decoded)
        #expect(decoded.count == 4)
        #expect(decoded[0].value.isNaN && decoded[0].step == -3)
        #expect(Array(decoded.dropFirst()) == Array(points.dropFirst()))
    }

    @Test("LTTB keeps the ends, the requested count, and a lone spike")
    func downsample() {
        var points = (0..<1_000).map { MetricPoint(key: "k", value: sin(Double($0) / 50), timestampMs: 0, step: Int64($0)) }
        points[503].value = 40
        let kept = Downsample.lttb(points, threshold: 50)
        #expect(kept.count == 50)
        #expect(kept.first?.step == 0 && kept.last?.step == 999)
        #expect(kept.contains { $0.step == 503 })
        #expect(zip(kept, kept.dropFirst()).allSatisfy { $0.step < $1.step })
        #expect(Downsample.lttb(Array(points.prefix(10)), threshold: 50).count == 10)
    }
}

@Suite("Artifact paths")
struct ArtifactLocationTests {
    let experiment = UUID()
    let run = UUID()

    @Test("run and logged-model paths map into the experiment's folder")
    func parses() throws {
        let file = try ArtifactLocation(path: "\(experiment.lowercasedString)/\(run.lowercasedString)/artifacts/plots/a.png")
        #expect(file.owner == .run(run) && file.relativePath == "plots/a.png")
        #expect(file.key?.path == "mlflow/\(experiment.lowercasedString)/\(run.lowercasedString)/artifacts/plots/a.png")
        let model = try ArtifactLocation(uri: "mlflow-artifacts:/\(experiment.lowercasedString)/models/m-abc/artifacts/MLmodel")
        #expect(model.owner == .loggedModel("m-abc") && model.relativePath == "MLmodel")
    }

    @Test(
        "no way out: dot segments, absolute paths, encoded tricks",
        arguments: [
            "../etc/passwd", "X/RUN/artifacts/../../x", "X/RUN/artifacts/..%2F..%2Fx", "X/RUN/artifacts//etc/passwd",
            "X/RUN/artifacts/%2Fetc%2Fpasswd", "X/RUN/artifacts/a\\..\\b", "X/not-a-run/artifacts/a", "X/RUN/elsewhere/a", "not-an-id/a",
        ])
    func rejects(template: String) {
        let path = template.replacingOccurrences(of: "X", with: experiment.lowercasedString).replacingOccurrences(
            of: "RUN", with: run.lowercasedString)
        #expect(throws: AppError.self) { try ArtifactLocation(path: path) }
    }
}

@Suite("Run inputs and outputs as logged by MLflow")
struct RunInputsTests {
    static func run(inputs: String, outputs: String) -> Run {
        Run(
            id: UUID(), experimentId: UUID(), orgId: UUID(), projectId: UUID(), ownerId: nil, name: "r", userId: "u", status: .running,
            startMs: 0, endMs: nil, lifecycleStage: .active, artifactURI: "", trainingJobId: nil, inputs: inputs, outputs: outputs)
    }

    @Test("datasets with their context, models used and produced; other entries and bad JSON are skipped")
    func parses() {
        let run = Self.run(
            inputs: """
                [{"dataset": {"name": "train", "digest": "ab12", "source_type": "local", "source": "{\\"uri\\": \\"/d\\"}",
                  "profile": "{\\"num_rows\\": 3}"}, "tags": [{"key": "team", "value": "x"}, {"key": "mlflow.data.context", "value": "training"}]},
                 {"dataset": {"digest": "no-name"}}, 7, {"model_id": "m-in"}]
                """,
            outputs: #"[{"model_id": "m-out", "step": 12}, {"model_id": "m-late", "step": "40"}, {"step": 1}]"#)
        #expect(
            run.datasetInputs == [
                RunDatasetInput(
                    name: "train", digest: "ab12", sourceType: "local", source: #"{"uri": "/d"}"#, context: "training", schema: nil,
                    profile: #"{"num_rows": 3}"#)
            ])
        #expect(
            run.modelLinks == [
                RunModelLink(modelId: "m-in", direction: .input, step: nil), RunModelLink(modelId: "m-out", direction: .output, step: 12),
                RunModelLink(modelId: "m-late", direction: .output, step: 40),
            ])
        #expect(Self.run(inputs: "not json", outputs: "[]").datasetInputs.isEmpty)
    }
}
