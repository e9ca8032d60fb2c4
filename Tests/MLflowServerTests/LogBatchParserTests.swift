import AITIPCore
import Foundation
import NIOCore
import Testing
import Tracking

@testable import MLflowServer

@Suite("MLflow log-batch parser")
struct LogBatchParserTests {
    func parse(_ text: String) throws -> LogBatchParser.Body {
        try LogBatchParser.parse(ByteBuffer(string: text), now: 42)
    }

    @Test("protobuf JSON numbers, NaN and infinities, optional fields, nulls and unknown fields")
    func parses() throws {
        let body = try parse(
            """
            {"run_id": "r1", "metrics": [
                {"key": "loss", "value": 0.5, "timestamp": 1700000000000, "step": 3},
                {"key": "big", "value": "NaN", "timestamp": "1700000000001", "step": "9007199254740993"},
                {"key": "up", "value": "Infinity"}, {"key": "down", "value": "-Infinity", "step": null, "extra": [1, {"a": null}]},
                {"key": "text", "value": "2.5e-3"}],
             "params": [{"key": "lr", "value": "0.1"}, {"key": "empty"}, {"key": "nil", "value": null}],
             "tags": [{"key": "mlflow.runName", "value": "tab\\there"}], "model_id": "ignored"}
            """)
        #expect(body.runId == "r1")
        #expect(body.metrics.count == 5)
        #expect(body.metrics[0] == MetricPoint(key: "loss", value: 0.5, timestampMs: 1_700_000_000_000, step: 3))
        #expect(body.metrics[1].value.isNaN && body.metrics[1].timestampMs == 1_700_000_000_001 && body.metrics[1].step == 9_007_199_254_740_993)
        #expect(body.metrics[2].value == .infinity && body.metrics[2].timestampMs == 42 && body.metrics[2].step == 0)
        #expect(body.metrics[3].value == -.infinity && body.metrics[4].value == 0.0025)
        #expect(body.params == [KeyValue(key: "lr", value: "0.1"), KeyValue(key: "empty", value: ""), KeyValue(key: "nil", value: "")])
        #expect(body.tags == [KeyValue(key: "mlflow.runName", value: "tab\there")])
        #expect(try parse(#"{"run_uuid": "r2", "metrics": null}"#).runId == "r2")
        #expect(try parse("{}").runId == nil)
    }

    @Test(
        "wrong shapes are refused with the field at fault",
        arguments: [
            #"{"metrics": [{"value": 1}]}"#, #"{"metrics": [{"key": "k"}]}"#, #"{"metrics": [{"key": "k", "value": "many"}]}"#,
            #"{"metrics": [{"key": "k", "value": 1, "step": 1.5}]}"#, #"{"metrics": [{"key": "k", "value": 1, "step": "x"}]}"#,
            #"{"metrics": [{"key": 7, "value": 1}]}"#, #"{"params": [{"value": "v"}]}"#, #"{"params": [{"key": "k", "value": 3}]}"#,
            #"{"metrics": {"key": "k"}}"#, #"{"run_id": 5}"#, #"{"metrics": [] } trailing"#, "not json", #"{"metrics": ["#,
        ])
    func refuses(text: String) {
        #expect(throws: AppError.self) { try parse(text) }
    }
}

@Suite("Security review: MLflow's log-batch limits")
struct LogBatchLimitTests {
    @Test("finding 3: a batch over MLflow's limits is refused as soon as the parser passes the limit")
    func oversizedBatches() throws {
        let metrics = (0..<1_001).map { "{\"key\":\"m\",\"value\":1,\"timestamp\":1,\"step\":\($0)}" }.joined(separator: ",")
        let body = ByteBuffer(string: "{\"run_id\":\"x\",\"metrics\":[\(metrics)]}")
        #expect(throws: AppError.self) { _ = try LogBatchParser.parse(body, now: 0) }
        do { _ = try LogBatchParser.parse(body, now: 0) } catch {
            #expect(error.detail.contains("at most 1000 metrics") && error.detail.contains("more than 1000"))
        }
    }
}
