import Foundation
import Testing

@testable import Simulation

/// A frames file is the job's writing: only PNG images of a sensible size reach a browser.
@Suite("Simulation frames")
struct ScenarioFramesTests {
    static func png(width: UInt32, height: UInt32) -> Data {
        var data = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
        data.append(contentsOf: Array("IHDR".utf8))
        for value in [width, height] { withUnsafeBytes(of: value.bigEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: [8, 2, 0, 0, 0, 0, 0, 0, 0])
        return data
    }

    static func file(_ entries: [String], dropped: Int = 0) -> Data {
        Data(#"{"format": 1, "dropped": \#(dropped), "frames": [\#(entries.joined(separator: ","))]}"#.utf8)
    }

    static func entry(step: Int, png: String) -> String { #"{"seed": 0, "step": \#(step), "time": \#(Double(step) * 0.02), "png": "\#(png)"}"# }

    @Test("PNG images are kept in order; anything else, or an image over 4096 pixels a side, is dropped and counted")
    func checksEachFrame() throws {
        let good = Self.png(width: 600, height: 400).base64EncodedString()
        let frames = try ScenarioFrames(
            json: Self.file(
                [
                    Self.entry(step: 0, png: good), Self.entry(step: 10, png: Data("<svg onload=alert(1)>".utf8).base64EncodedString()),
                    Self.entry(step: 20, png: Self.png(width: 5_000, height: 10).base64EncodedString()), Self.entry(step: 30, png: "not base64!"),
                    Self.entry(step: 40, png: good),
                ], dropped: 3))
        #expect(frames.frames.map(\.step) == [0, 40])
        #expect(frames.frames.allSatisfy { $0.png == Self.png(width: 600, height: 400) })
        #expect(frames.dropped == 6)
    }

    @Test("a file of another format, or not JSON, is refused with the reason")
    func refusesOtherFiles() {
        #expect(throws: ResultError.self) { try ScenarioFrames(json: Data(#"{"format": 2, "frames": []}"#.utf8)) }
        #expect(throws: ResultError.self) { try ScenarioFrames(json: Data("aitip".utf8)) }
    }

    @Test("at most 200 frames are kept")
    func keepsAtMost200() throws {
        let good = Self.png(width: 2, height: 2).base64EncodedString()
        let frames = try ScenarioFrames(json: Self.file((0..<250).map { Self.entry(step: $0, png: good) }))
        #expect(frames.frames.count == 200 && frames.dropped == 50)
    }
}
