import AITIPCore
import Foundation
import Workloads

/// A workload log followed live, in one of two framings:
/// - `.serverSentEvents`: one `line` event per output line, `id` = the byte offset after the line (what
///   `Last-Event-ID` resumes from); a comment while idle keeps proxies and clients from timing out; an `end` event
///   with the final status closes the stream.
/// - `.webSocket`: one JSON message per batch of lines, `{"type":"lines","offset":N,"lines":[…]}` (offset = after
///   the last line), `{"type":"keepalive"}` while idle, and `{"type":"end","status":…}` last.
/// Pull-based: each `next()` reads what the log hub has past the offset, or waits for more, so the stream needs no
/// task of its own.
actor LogEventStream {
    enum Framing: Sendable { case serverSentEvents, webSocket }

    private let workloadId: UUID
    private let logs: LogHub
    private let follow: Bool
    /// The workload's state now (for deciding whether a quiet log has ended).
    private let state: @Sendable () async throws -> WorkloadState
    private var offset: Int64
    private var partial = Data()
    /// Log offset of `partial`'s first byte.
    private var partialStart: Int64
    private var done = false
    /// The last wait ended with nothing new (a keep-alive went out): the state is read even while the log counts as
    /// live, so a log left open after its workload ended (a close that failed) cannot hold a follower forever.
    private var quiet = false
    private let framing: Framing

    init(
        workloadId: UUID, logs: LogHub, from offset: Int64, follow: Bool, framing: Framing = .serverSentEvents,
        state: @escaping @Sendable () async throws -> WorkloadState
    ) {
        self.framing = framing
        self.workloadId = workloadId
        self.logs = logs
        self.offset = offset
        partialStart = offset
        self.follow = follow
        self.state = state
    }

    func next() async throws -> ArraySlice<UInt8>? {
        guard !done else { return nil }
        while true {
            let slice = try await logs.read(workloadId, from: offset, limit: 1 << 20)
            if !slice.data.isEmpty {
                quiet = false
                offset = slice.nextOffset
                if let events = events(from: slice.data) { return events }
                continue
            }
            if !slice.live || quiet {
                let current = try await state()
                if current.isFinal || !follow {
                    done = true
                    let last = partial
                    partial = Data()
                    switch framing {
                    case .serverSentEvents:
                        var tail = last.isEmpty ? Data() : Self.event(last, id: offset)
                        tail.append(Data("event: end\ndata: \(current.rawValue)\n\n".utf8))
                        return ArraySlice(tail)
                    case .webSocket:
                        // The last line without a newline goes out on its own before the end message.
                        let tail =
                            last.isEmpty
                            ? "" : Self.message(["type": "lines", "offset": offset, "lines": [String(decoding: last, as: UTF8.self)]]) + "\n"
                        return ArraySlice(Data((tail + Self.message(["type": "end", "status": current.rawValue])).utf8))
                    }
                }
            }
            let before = offset
            await logs.waitForData(workloadId, beyond: before, seen: slice.generation)
            if try await logs.read(workloadId, from: offset, limit: 1).data.isEmpty {
                quiet = true
                return ArraySlice(Data((framing == .webSocket ? Self.message(["type": "keepalive"]) : ": keep-alive\n\n").utf8))
            }
        }
    }

    /// Complete lines of `data` (after what was left over) as events; the rest waits for its newline.
    private func events(from data: Data) -> ArraySlice<UInt8>? {
        partial.append(data)
        guard let lastNewline = partial.lastIndex(of: 0x0A) else { return nil }
        if framing == .webSocket {
            let lines = partial[..<lastNewline].split(separator: 0x0A, omittingEmptySubsequences: false)
                .map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }
            partialStart += Int64(partial.distance(from: partial.startIndex, to: lastNewline) + 1)
            partial = Data(partial[(lastNewline + 1)...])
            return ArraySlice(Data(Self.message(["type": "lines", "offset": partialStart, "lines": lines]).utf8))
        }
        var output = Data()
        output.reserveCapacity(partial.count + partial.count / 4)
        var lineStart = partial.startIndex
        for index in partial[...lastNewline].indices where partial[index] == 0x0A {
            var line = partial[lineStart..<index]
            if line.last == 0x0D { line = line.dropLast() }
            output.append(Self.event(line, id: partialStart + Int64(partial.distance(from: partial.startIndex, to: index) + 1)))
            lineStart = index + 1
        }
        partialStart += Int64(partial.distance(from: partial.startIndex, to: lastNewline) + 1)
        partial = Data(partial[(lastNewline + 1)...])
        return ArraySlice(output)
    }

    private static func message(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func event(_ line: Data, id: Int64) -> Data {
        var event = Data("id: \(id)\nevent: line\ndata: ".utf8)
        event.append(line)
        event.append(contentsOf: [0x0A, 0x0A])
        return event
    }
}
