import AITIPCore
import Foundation
import ObjectStore

/// A workload's log: one byte stream across its attempts, persisted to the object store in chunks
/// (`logs/<workload>/<offset>-a<attempt>-<attempt offset>`) and served live from memory.
///
/// Readers pull: `read(from:)` returns what exists past an offset, and `waitForData(beyond:)` suspends until more
/// arrives or the log ends. Bytes are in memory until flushed (every second or 1 MiB) and then in the store; a
/// reader at any offset gets them from wherever they are, so nothing between the two is missed.
package actor LogHub {
    struct Chunk: Sendable {
        var offset: Int64
        var size: Int
        var key: ObjectKey
        var attempt: Int
        var attemptOffset: Int64
    }

    struct Live {
        var chunks: [Chunk]
        /// Bytes not yet in the store, starting at `memoryOffset`; `flushing` is being written now.
        var memory = Data()
        var memoryOffset: Int64
        var flushing: (offset: Int64, data: Data)?
        var attempt: Int
        var attemptOffset: Int64
        var lastFlush: Date
    }

    let store: any ObjectStore
    let flushBytes: Int
    private var live: [UUID: Live] = [:]
    /// Counts the wakes of each workload's readers: a reader that saw generation N before deciding to wait returns at
    /// once if a wake came in between, so no wake (the log closing, the job ending) can be missed.
    private var generations: [UUID: Int] = [:]
    private var indexes: [UUID: [Chunk]] = [:]
    private var waiters: [UUID: [CheckedContinuation<Void, Never>]] = [:]

    package init(store: any ObjectStore, flushBytes: Int = 1 << 20) {
        self.store = store
        self.flushBytes = flushBytes
    }

    // MARK: writing (the engine's log pumps)

    /// Opens the log of `attempt` and returns where to continue reading the attempt's own output: 0 for a new
    /// attempt, or past what was persisted before a restart for a re-adopted one.
    package func open(_ workloadId: UUID, attempt: Int) async throws -> Int64 {
        if let current = live[workloadId], current.attempt == attempt { return current.attemptOffset }
        let chunks = try await index(workloadId)
        let end = chunks.last.map { $0.offset + Int64($0.size) } ?? 0
        let resumeAt = chunks.last.flatMap { $0.attempt == attempt ? $0.attemptOffset + Int64($0.size) : nil } ?? 0
        live[workloadId] = Live(chunks: chunks, memoryOffset: end, attempt: attempt, attemptOffset: resumeAt, lastFlush: Date())
        wake(workloadId)
        return resumeAt
    }

    package func append(_ workloadId: UUID, _ data: Data) async throws {
        guard !data.isEmpty, live[workloadId] != nil else { return }
        live[workloadId]!.memory.append(data)
        wake(workloadId)
        if live[workloadId]!.memory.count >= flushBytes { try await flush(workloadId) }
    }

    /// Writes what is in memory to the store (called every second by the pump, and at the end).
    package func flush(_ workloadId: UUID) async throws {
        guard var state = live[workloadId], !state.memory.isEmpty, state.flushing == nil else { return }
        let data = state.memory
        let offset = state.memoryOffset
        let chunk = Chunk(
            offset: offset, size: data.count,
            key: try Self.key(
                workloadId, offset: offset, attempt: state.attempt,
                attemptOffset: state.attemptOffset),
            attempt: state.attempt, attemptOffset: state.attemptOffset)
        state.flushing = (offset, data)
        state.memory = Data()
        state.memoryOffset = offset + Int64(data.count)
        state.attemptOffset += Int64(data.count)
        state.lastFlush = Date()
        live[workloadId] = state
        do {
            try await store.put(chunk.key, data: data)
        } catch {
            // Keep the bytes: put them back in front of what arrived meanwhile and try again on the next flush.
            if var again = live[workloadId] {
                again.memory = data + again.memory
                again.memoryOffset = offset
                again.attemptOffset -= Int64(data.count)
                again.flushing = nil
                live[workloadId] = again
            }
            throw error
        }
        live[workloadId]?.chunks.append(chunk)
        live[workloadId]?.flushing = nil
        indexes[workloadId] = live[workloadId]?.chunks
    }

    package func secondsSinceFlush(_ workloadId: UUID) -> Double {
        live[workloadId].map { Date().timeIntervalSince($0.lastFlush) } ?? 0
    }

    /// The attempt's output is read to the end: persist the rest and let readers finish.
    package func close(_ workloadId: UUID) async throws {
        try await flush(workloadId)
        if let state = live.removeValue(forKey: workloadId) { indexes[workloadId] = state.chunks }
        wake(workloadId)
    }

    // MARK: reading

    package struct Slice: Sendable {
        package var data: Data
        package var nextOffset: Int64
        /// The log is being written now (an attempt is running).
        package var live: Bool
        /// Pass to `waitForData(_:beyond:seen:)`.
        package var generation: Int = 0
    }

    /// Up to `limit` bytes from `offset`.
    package func read(_ workloadId: UUID, from offset: Int64, limit: Int = 1 << 20) async throws -> Slice {
        let generation = generations[workloadId, default: 0]
        var slice = try await readBytes(workloadId, from: offset, limit: limit)
        slice.generation = generation
        return slice
    }

    /// The whole log as it is now, in pieces that end at a newline (the last may not): `each` sees every line
    /// once, whole, however the log was chunked. Readers that parse lines a workload printed use this.
    /// A line longer than `maxLine` is skipped whole, so that a workload printing without newlines cannot make a
    /// reader hold its whole output.
    nonisolated package func forEachLines(of workloadId: UUID, maxLine: Int = 64 << 20, _ each: (Data) throws -> Void) async throws {
        var offset: Int64 = 0
        var carry = Data()
        var skipping = false
        while true {
            let slice = try await read(workloadId, from: offset, limit: 4 << 20)
            if slice.data.isEmpty { break }
            offset = slice.nextOffset
            carry.append(slice.data)
            guard let lastNewline = carry.lastIndex(of: 0x0A) else {
                if carry.count > maxLine { (carry, skipping) = (Data(), true) }
                continue
            }
            var lines = carry[carry.startIndex...lastNewline]
            if skipping, let end = lines.firstIndex(of: 0x0A) {
                lines = lines[(end + 1)...]
                skipping = false
            }
            if lines.count > maxLine {
                // Rare: a piece this large may hold a line over the limit, which is left out like one still growing.
                var kept = Data()
                for line in lines.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() where line.count <= maxLine {
                    kept.append(contentsOf: line)
                    kept.append(0x0A)
                }
                lines = kept[...]
            }
            if !lines.isEmpty { try each(lines) }
            carry = Data(carry[(lastNewline + 1)...])
        }
        if !carry.isEmpty, !skipping, carry.count <= maxLine { try each(carry) }
    }

    private func readBytes(_ workloadId: UUID, from offset: Int64, limit: Int) async throws -> Slice {
        if let state = live[workloadId] {
            if let flushing = state.flushing, offset >= flushing.offset, offset < flushing.offset + Int64(flushing.data.count) {
                let data = Self.slice(flushing.data, from: offset - flushing.offset, limit: limit)
                return Slice(data: data, nextOffset: offset + Int64(data.count), live: true)
            }
            if offset >= state.memoryOffset {
                let data = Self.slice(state.memory, from: offset - state.memoryOffset, limit: limit)
                return Slice(data: data, nextOffset: offset + Int64(data.count), live: true)
            }
        }
        let chunks = try await index(workloadId)
        guard let chunk = chunks.last(where: { $0.offset <= offset }), offset < chunk.offset + Int64(chunk.size) else {
            return Slice(data: Data(), nextOffset: offset, live: live[workloadId] != nil)
        }
        let bytes = try await store.get(chunk.key)
        let data = Self.slice(bytes, from: offset - chunk.offset, limit: limit)
        return Slice(data: data, nextOffset: offset + Int64(data.count), live: live[workloadId] != nil)
    }

    /// Returns when the log has bytes past `offset`, the log opens or closes, or `wakeAll` is called (the engine does
    /// every few seconds, so idle streams can send keep-alives and notice a gone client).
    package func waitForData(_ workloadId: UUID, beyond offset: Int64, seen generation: Int) async {
        if generations[workloadId, default: 0] != generation { return }
        if let state = live[workloadId], state.memoryOffset + Int64(state.memory.count) > offset { return }
        await withCheckedContinuation { continuation in
            waiters[workloadId, default: []].append(continuation)
        }
    }

    /// Wakes the workload's waiting readers so they look at its state again (it ended, or was cancelled).
    package func notify(_ workloadId: UUID) {
        wake(workloadId)
    }

    /// Wakes every waiting reader (keep-alives for idle streams; the engine calls it periodically).
    package func wakeAll() {
        for id in waiters.keys { wake(id) }
    }

    /// Forgets a deleted workload's log and removes its chunks.
    package func purge(_ workloadId: UUID) async {
        live[workloadId] = nil
        if let chunks = try? await index(workloadId) {
            for chunk in chunks { try? await store.delete(chunk.key) }
        }
        indexes[workloadId] = nil
        wake(workloadId)
    }

    private func wake(_ workloadId: UUID) {
        generations[workloadId, default: 0] += 1
        guard let waiting = waiters.removeValue(forKey: workloadId) else { return }
        for continuation in waiting { continuation.resume() }
    }

    private func index(_ workloadId: UUID) async throws -> [Chunk] {
        if let state = live[workloadId] { return state.chunks }
        if let known = indexes[workloadId] { return known }
        let keys = try await store.list(prefix: try ObjectKey("logs/\(workloadId.lowercasedString)"))
        var chunks: [Chunk] = []
        for key in keys {
            let parts = key.path.split(separator: "/").last?.split(separator: "-") ?? []
            guard parts.count == 3, let offset = Int64(parts[0]), parts[1].hasPrefix("a"), let attempt = Int(parts[1].dropFirst()),
                let attemptOffset = Int64(parts[2]), let size = try await store.size(key)
            else { continue }
            chunks.append(Chunk(offset: offset, size: size, key: key, attempt: attempt, attemptOffset: attemptOffset))
        }
        chunks.sort { $0.offset < $1.offset }
        indexes[workloadId] = chunks
        return chunks
    }

    static func key(_ workloadId: UUID, offset: Int64, attempt: Int, attemptOffset: Int64) throws -> ObjectKey {
        try ObjectKey("logs/\(workloadId.lowercasedString)/\(pad(offset))-a\(attempt)-\(pad(attemptOffset))")
    }

    private static func pad(_ value: Int64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    private static func slice(_ data: Data, from start: Int64, limit: Int) -> Data {
        guard start >= 0, start < data.count else { return Data() }
        let begin = data.startIndex + Int(start)
        return data.subdata(in: begin..<min(data.endIndex, begin + limit))
    }
}
