import Foundation
import Testing

@testable import MLflowServer

@Suite("JSON writer")
struct JSONWriterTests {
    @Test("nesting, commas, escapes and MLflow's non-finite numbers parse back as written, the buffer growing as it fills")
    func roundTrip() throws {
        var writer = JSONWriter(capacity: 0)
        writer.object { w in
            w.field("plain", "abc")
            w.field("tricky", "quote \" slash \\ newline \n tab \t bell \u{07} ünïcode ✓")
            w.field("big", Int64.max)
            w.field("small", Int64.min)
            w.field("zero", Int64(0))
            w.field("absent", nil as String?)
            w.key("values")
            w.array([0.1, -2.5e-300, 1e21, .nan, .infinity, -.infinity]) { w, value in w.number(value) }
            w.key("empty")
            w.array([Int]()) { _, _ in }
            w.key("nested")
            w.object { w in
                w.key("list"); w.array([1, 2]) { w, n in w.object { w in w.field("n", Int64(n)) } }
            }
            w.key("raw")
            w.raw("[1,{\"a\":true}]")
            w.key("steps")
            w.array([Int64(9), 10, 99, 100, 1_700_000_000_000, -1]) { w, step in w.number(step) }
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(writer.text.utf8)) as? [String: Any])
        #expect(object["plain"] as? String == "abc")
        #expect(object["tricky"] as? String == "quote \" slash \\ newline \n tab \t bell \u{07} ünïcode ✓")
        #expect((object["big"] as? NSNumber)?.int64Value == Int64.max)
        #expect((object["small"] as? NSNumber)?.int64Value == Int64.min)
        #expect(object["absent"] == nil)
        let values = try #require(object["values"] as? [Any])
        #expect((values[0] as? Double) == 0.1 && (values[1] as? Double) == -2.5e-300 && (values[2] as? Double) == 1e21)
        #expect(values[3] as? String == "NaN" && values[4] as? String == "Infinity" && values[5] as? String == "-Infinity")
        #expect((object["empty"] as? [Any])?.isEmpty == true)
        #expect(((object["nested"] as? [String: Any])?["list"] as? [[String: Any]])?.count == 2)
        #expect((object["raw"] as? [Any])?.count == 2)
        #expect((object["steps"] as? [NSNumber])?.map(\.int64Value) == [9, 10, 99, 100, 1_700_000_000_000, -1])
        let body = writer.byteBuffer()
        #expect(body.readableBytes > 64)
    }
}
