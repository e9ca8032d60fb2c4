import AITIPCore
import Foundation
import NIOCore
import Testing
import Tracking

@testable import HTTPServer

@Suite("Bulk ingest parser")
struct RunLogParserTests {
    func parse(_ text: String) throws -> RunLogParser.Body {
        try RunLogParser.parse(Array(text.utf8), now: 42)
    }

    @Test("columns become points; params, tags, escapes and unknown fields")
    func parses() throws {
        let body = try parse(
            """
            { "metrics": [ {"key": "loss", "steps": [0, 1, -2], "values": [1, 0.5, -2.5e-3], "timestamps": [10, 11, 12]},
                           {"key": "a\\"b\\u00e9", "steps": [7], "values": [3], "extra": {"nested": [1, "x", null, true]}} ],
              "params": {"lr": "0.1", "note": "tab\\there"}, "tags": {}, "ignored": [1, 2] }
            """)
        #expect(body.metrics.count == 4)
        #expect(body.metrics[2] == MetricPoint(key: "loss", value: -0.0025, timestampMs: 12, step: -2))
        #expect(body.metrics[3].key == "a\"bé" && body.metrics[3].timestampMs == 42)
        #expect(body.params == [KeyValue(key: "lr", value: "0.1"), KeyValue(key: "note", value: "tab\there")])
        #expect(try parse("{}").metrics.isEmpty)
    }

    @Test(
        "wrong shapes are refused with the field at fault",
        arguments: [
            "{\"metrics\": [{\"key\": \"k\", \"steps\": [1.5], \"values\": [1]}]}",
            "{\"metrics\": [{\"key\": \"k\", \"steps\": [1], \"values\": [\"1\"]}]}",
            "{\"metrics\": [{\"key\": \"k\", \"steps\": [1, 2], \"values\": [1]}]}",
            "{\"metrics\": [{\"steps\": [1], \"values\": [1]}]}",
            "{\"metrics\": [{\"key\": \"k\", \"steps\": [99999999999999999999], \"values\": [1]}]}",
            "{\"params\": {\"a\": 1}}",
            "{\"metrics\": [", "{\"metrics\": []} trailing", "not json", "{\"metrics\": [{\"key\": \"k\", \"steps\": [1], \"values\": [1e999]}]}",
        ])
    func refuses(text: String) {
        #expect(throws: AppError.self) { try parse(text) }
    }
}
