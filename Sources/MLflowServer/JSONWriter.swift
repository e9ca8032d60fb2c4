import Foundation
import HTTPServer
import NIOCore

/// Writes JSON straight into bytes, for the responses that carry thousands of values (metric histories, run
/// searches): Foundation's JSONEncoder spent most of those requests' time (measured in bench/tracking.sh).
/// Non-finite numbers are written as MLflow's protobuf JSON writes them: "NaN", "Infinity", "-Infinity".
///
/// The bytes live in memory the writer owns (hence `~Copyable`) and are written through a pointer: appending to an
/// `Array` or a `ByteBuffer` byte by byte costs a capacity and uniqueness check per call, which was a third of a
/// 10,000-point history request (perf, bench/tracking.sh).
struct JSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    /// One bit per open container (bit 0 = top level): whether the next value needs a comma before it.
    /// Nesting here is shallow; 64 levels is plenty.
    private var commaBits: UInt64 = 0
    private var depth = 0

    init(capacity: Int = 4_096) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The JSON written, as the buffer a response sends.
    consuming func byteBuffer() -> ByteBuffer { takeWritten() }

    /// How many bytes were written and not yet taken.
    var pendingBytes: Int { count }

    /// Hands over what was written so far and goes on empty, in the same place of the document: a streamed response
    /// sends each piece as it is ready, so a large body is neither held whole nor waited for.
    mutating func takeWritten() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        buffer.writeBytes(UnsafeRawBufferPointer(start: base, count: count))
        count = 0
        return buffer
    }

    /// The JSON written so far, as text (tests).
    var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        beginObject()
        body(&self)
        endObject()
    }

    mutating func array<S: Sequence>(_ elements: S, _ body: (inout JSONWriter, S.Element) -> Void) {
        beginArray()
        for element in elements { body(&self, element) }
        endArray()
    }

    /// The open/close pairs behind `object` and `array`, for a writer that must stop between elements (streaming).
    mutating func beginObject() { open(UInt8(ascii: "{")) }
    mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func beginArray() { open(UInt8(ascii: "[")) }
    mutating func endArray() { close(UInt8(ascii: "]")) }

    /// A key inside an object; the next value written belongs to it. Keys are literals of this code base, so
    /// they are copied as they are (they contain nothing that needs escaping).
    mutating func key(_ name: StaticString) {
        separate()
        reserve(name.utf8CodeUnitCount + 3)
        base[count] = UInt8(ascii: "\"")
        (base + count + 1).update(from: name.utf8Start, count: name.utf8CodeUnitCount)
        count += name.utf8CodeUnitCount + 1
        base[count] = UInt8(ascii: "\"")
        base[count + 1] = UInt8(ascii: ":")
        count += 2
        commaBits &= ~(1 << UInt64(depth))
    }

    mutating func field(_ name: StaticString, _ value: String) { key(name); string(value) }
    mutating func field(_ name: StaticString, _ value: Int64) { key(name); number(value) }
    mutating func field(_ name: StaticString, _ value: Double) { key(name); number(value) }
    mutating func field(_ name: StaticString, _ value: Int64?) { if let value { field(name, value) } }
    mutating func field(_ name: StaticString, _ value: String?) { if let value { field(name, value) } }

    mutating func string(_ value: String) {
        separate()
        appendString(value)
    }

    mutating func number(_ value: Int64) {
        separate()
        reserve(20)
        if value < 0 {
            base[count] = UInt8(ascii: "-")
            count += 1
        }
        var magnitude = value.magnitude
        var digits = 1
        var power: UInt64 = 10
        while digits < 20 && magnitude >= power {
            digits += 1
            power = power &* 10
        }
        var index = count + digits - 1
        repeat {
            base[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            index -= 1
        } while magnitude > 0
        count += digits
    }

    mutating func number(_ value: Double) {
        separate()
        if value.isNaN {
            append("\"NaN\"")
        } else if value.isInfinite {
            append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"")
        } else {
            var text = value.description
            text.withUTF8 { append($0) }
        }
    }

    /// Pre-encoded JSON (e.g. a stored JSON column), written as is.
    mutating func raw(_ json: String) {
        separate()
        var json = json
        json.withUTF8 { append($0) }
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        append(bracket)
        depth += 1
        precondition(depth < 64, "JSON nested too deeply for JSONWriter")
        commaBits &= ~(1 << UInt64(depth))
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        append(bracket)
    }

    private mutating func separate() {
        let bit: UInt64 = 1 << UInt64(depth)
        if commaBits & bit != 0 { append(UInt8(ascii: ",")) }
        commaBits |= bit
    }

    private mutating func appendString(_ value: String) {
        var value = value
        let plain = value.withUTF8 { utf8 in
            !utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        append(UInt8(ascii: "\""))
        if plain {
            value.withUTF8 { append($0) }
        } else {
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case UInt8(ascii: "\n"): append("\\n")
                case UInt8(ascii: "\r"): append("\\r")
                case UInt8(ascii: "\t"): append("\\t")
                case 0..<0x20:
                    let hex: StaticString = "0123456789abcdef"
                    append("\\u00")
                    append(hex.utf8Start[Int(byte >> 4)])
                    append(hex.utf8Start[Int(byte & 0xF)])
                default: append(byte)
                }
            }
        }
        append(UInt8(ascii: "\""))
    }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(toFit: extra) }
    }

    private mutating func grow(toFit extra: Int) {
        let larger = max(capacity * 2, count + extra)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    private mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress else { return }
        reserve(bytes.count)
        (base + count).update(from: start, count: bytes.count)
        count += bytes.count
    }

    private mutating func append(_ literal: StaticString) {
        append(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}
