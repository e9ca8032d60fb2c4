import AITIPCore

/// An element of an XML document read by `XMLReader`.
package struct XMLNode: Sendable, Equatable {
    package var name: String
    package var attributes: [String: String]
    package var children: [XMLNode]
    /// The character data directly inside it (CDATA included), entities resolved.
    package var text: String

    package func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    package func first(_ name: String) -> XMLNode? { children.first { $0.name == name } }
}

/// A small XML reader for the reports test tools write (JUnit, Cobertura), built to be safe on hostile input: a
/// document type declaration is refused outright — entities it could define are how "billion laughs" documents
/// grow without bound and how external entities reach files — so only the five predefined entities and character
/// references exist. Depth, element count and size are bounded; every error names the line.
package struct XMLReader {
    package struct Limits: Sendable {
        package var maxDepth = 256
        package var maxElements = 2_000_000

        package init() {}
    }

    private let bytes: [UInt8]
    private let limits: Limits
    /// The request field errors are reported against.
    private let field: String
    private var position = 0
    private var line = 1
    private var elements = 0

    package static func parse(_ bytes: [UInt8], field: String = "xml", limits: Limits = .init()) throws(AppError) -> XMLNode {
        var reader = XMLReader(bytes: bytes, limits: limits, field: field)
        return try reader.document()
    }

    private init(bytes: [UInt8], limits: Limits, field: String) {
        self.bytes = bytes
        self.limits = limits
        self.field = field
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    private mutating func document() throws(AppError) -> XMLNode {
        var root: XMLNode?
        while true {
            skipWhitespace()
            guard position < bytes.count else { break }
            guard peek("<") else { throw fail("text outside the root element") }
            if peek("<?") {
                try skip(past: "?>", what: "a processing instruction")
            } else if peek("<!--") {
                try skip(past: "-->", what: "a comment")
            } else if peek("<!DOCTYPE") || peek("<!doctype") {
                throw fail("a document type declaration (<!DOCTYPE …>) is not accepted: its entities could expand without bound")
            } else if peek("<!") {
                throw fail("unexpected markup declaration")
            } else {
                guard root == nil else { throw fail("a second root element") }
                root = try element(depth: 1)
            }
        }
        guard let root else { throw fail("no root element") }
        return root
    }

    private mutating func element(depth: Int) throws(AppError) -> XMLNode {
        guard depth <= limits.maxDepth else { throw fail("elements nest deeper than \(limits.maxDepth)") }
        elements += 1
        guard elements <= limits.maxElements else { throw fail("more than \(limits.maxElements) elements") }
        position += 1 // <
        let name = try self.name()
        var node = XMLNode(name: name, attributes: [:], children: [], text: "")
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw fail("the tag <\(name)> is not closed") }
            if peek("/>") {
                position += 2
                return node
            }
            if peek(">") {
                position += 1
                break
            }
            let attribute = try self.name()
            skipWhitespace()
            guard peek("=") else { throw fail("attribute \(attribute) of <\(name)> has no value") }
            position += 1
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'") else {
                throw fail("attribute \(attribute) of <\(name)> is not quoted")
            }
            let quote = bytes[position]
            position += 1
            guard node.attributes[attribute] == nil else { throw fail("attribute \(attribute) of <\(name)> is given twice") }
            node.attributes[attribute] = try characters(until: quote, inAttribute: true)
            position += 1
        }
        var text: [UInt8] = []
        while true {
            guard position < bytes.count else { throw fail("<\(name)> is not closed before the end") }
            if peek("</") {
                position += 2
                let closing = try self.name()
                guard closing == name else { throw fail("</\(closing)> closes <\(name)>") }
                skipWhitespace()
                guard peek(">") else { throw fail("</\(closing)> is not closed") }
                position += 1
                node.text = String(decoding: text, as: UTF8.self)
                return node
            } else if peek("<!--") {
                try skip(past: "-->", what: "a comment")
            } else if peek("<![CDATA[") {
                position += 9
                guard let end = find("]]>") else { throw fail("a CDATA section is not closed") }
                text += bytes[position..<end]
                countLines(position..<end)
                position = end + 3
            } else if peek("<?") {
                try skip(past: "?>", what: "a processing instruction")
            } else if peek("<!") {
                throw fail("unexpected markup declaration inside <\(name)>")
            } else if peek("<") {
                node.children.append(try element(depth: depth + 1))
            } else {
                text += Array(try characters(until: UInt8(ascii: "<"), inAttribute: false).utf8)
            }
        }
    }

    private mutating func name() throws(AppError) -> String {
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            let isNameByte =
                (byte >= 0x80) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":")].contains(byte)
            guard isNameByte else { break }
            position += 1
        }
        guard position > start, position - start <= 1_000 else { throw fail("a tag or attribute has no valid name") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// Character data up to `terminator` (not consumed), with entity and character references resolved.
    private mutating func characters(until terminator: UInt8, inAttribute: Bool) throws(AppError) -> String {
        var out: [UInt8] = []
        while position < bytes.count, bytes[position] != terminator {
            let byte = bytes[position]
            if inAttribute && byte == UInt8(ascii: "<") { throw fail("'<' inside an attribute value") }
            if byte == UInt8(ascii: "\n") { line += 1 }
            if byte == UInt8(ascii: "&") {
                out += Array(try reference().utf8)
                continue
            }
            out.append(byte)
            position += 1
        }
        guard position < bytes.count else {
            throw fail(inAttribute ? "an attribute value is not closed" : "an element is not closed before the end of the document")
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func reference() throws(AppError) -> String {
        guard let end = bytes[position..<min(bytes.count, position + 12)].firstIndex(of: UInt8(ascii: ";")) else {
            throw fail("'&' does not start a reference (write &amp;)")
        }
        let body = String(decoding: bytes[(position + 1)..<end], as: UTF8.self)
        position = end + 1
        switch body {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        default:
            let number = body.hasPrefix("#x") ? UInt32(body.dropFirst(2), radix: 16) : body.hasPrefix("#") ? UInt32(body.dropFirst()) : nil
            guard let number, let scalar = Unicode.Scalar(number) else { throw fail("unknown entity &\(body); (no entities are defined here)") }
            return String(Character(scalar))
        }
    }

    private func peek(_ text: String) -> Bool {
        let pattern = Array(text.utf8)
        return bytes.count - position >= pattern.count && bytes[position..<(position + pattern.count)].elementsEqual(pattern)
    }

    private func find(_ text: String) -> Int? {
        let pattern = Array(text.utf8)
        var index = position
        while index + pattern.count <= bytes.count {
            if bytes[index] == pattern[0], bytes[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
            index += 1
        }
        return nil
    }

    private mutating func skip(past text: String, what: String) throws(AppError) {
        guard let end = find(text) else { throw fail("\(what) is not closed") }
        countLines(position..<end)
        position = end + text.utf8.count
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) {
            if bytes[position] == 0x0A { line += 1 }
            position += 1
        }
    }

    private mutating func countLines(_ range: Range<Int>) {
        line += bytes[range].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    private func fail(_ message: String) -> AppError {
        AppError.validation([FieldError(field: field, message: "line \(line): \(message)")])
    }
}
