import Foundation

/// The frames a scenario's simulator rendered (`aitip_sim`'s frames file, format 1), as read back from its log:
/// PNG images of an episode at given steps. The file is the job's writing, so every frame is checked to be a PNG of
/// a sensible size before it is handed to a browser; whatever fails the check is dropped and counted.
package struct ScenarioFrames: Sendable, Equatable {
    package struct Frame: Sendable, Equatable {
        package var seed: Int
        package var step: Int
        /// Simulated seconds since the episode began.
        package var time: Double
        package var png: Data
    }

    package var frames: [Frame]
    /// Frames the simulator did not keep (over its limits) or that were not valid PNG images.
    package var dropped: Int
    /// Why there are none although the simulator wrote some.
    package var problem: String?

    /// `aitip_sim.MAX_FRAMES` and `MAX_FRAME_BYTES` (base64 and the JSON around it make the file a third larger).
    static let maxFrames = 200
    package static let maxFileBytes = 9 << 20
    static let maxSide = 4_096

    package static let none = ScenarioFrames(frames: [], dropped: 0)

    static func unreadable(_ problem: String) -> ScenarioFrames {
        var frames = none
        frames.problem = problem
        return frames
    }

    private struct File: Decodable {
        var format: Int
        var frames: [Entry]
        var dropped: Int?
    }

    private struct Entry: Decodable {
        var seed: Int
        var step: Int
        var time: Double
        var png: String
    }

    package init(frames: [Frame], dropped: Int) {
        self.frames = frames
        self.dropped = dropped
    }

    package init(json: Data) throws {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: json)
        } catch {
            throw ResultError("the frames file is not aitip_sim's format (\(error))")
        }
        guard file.format == 1 else { throw ResultError("the frames file has format \(file.format); this server reads format 1") }
        var frames: [Frame] = []
        var dropped = max(0, min(file.dropped ?? 0, 1_000_000))
        for entry in file.frames {
            guard frames.count < Self.maxFrames, entry.step >= 0, entry.time.isFinite, let data = Data(base64Encoded: entry.png),
                Self.isPNG(data)
            else {
                dropped += 1
                continue
            }
            frames.append(Frame(seed: entry.seed, step: entry.step, time: entry.time, png: data))
        }
        self.init(frames: frames, dropped: dropped)
    }

    /// The PNG signature, then an IHDR chunk of 1 to `maxSide` pixels each way.
    static func isPNG(_ data: Data) -> Bool {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, Array(bytes[0..<8]) == signature, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return false }
        func number(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (1...Self.maxSide).contains(number(16)) && (1...Self.maxSide).contains(number(20))
    }
}
