import AITIPAPI
import ArgumentParser
import Foundation
import OpenAPIRuntime
import Yams

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml
}

/// Options every client command takes.
struct ClientOptions: ParsableArguments {
    @Option(help: "Server URL (default: AITIP_SERVER, else the one you logged in to).") var server: String?
    @Option(name: [.customShort("o"), .long], help: "Output format: table, json or yaml.") var output: OutputFormat = .table
}

/// Prints API answers as a table (chosen columns), JSON or YAML.
enum Output {
    /// An answer of the generated client, printed with the API's own names and timestamps.
    static func show(_ value: some Encodable, format: OutputFormat, columns: [String]) throws {
        try print(try JSONSerialization.jsonObject(with: try encoder.encode(value), options: [.fragmentsAllowed]), format: format, columns: columns)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        let timestamps = LenientISO8601Transcoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try timestamps.encode(date))
        }
        return encoder
    }()

    static func print(_ value: Any?, format: OutputFormat, columns: [String]) throws {
        guard let value else { return }
        switch format {
        case .json:
            let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed])
            Swift.print(String(decoding: data, as: UTF8.self))
        case .yaml:
            Swift.print(try Yams.dump(object: plain(value), sortKeys: true), terminator: "")
        case .table:
            if let object = value as? [String: Any], let items = object["items"] as? [[String: Any]] {
                Swift.print(table(items, columns: columns), terminator: "")
                if let cursor = object["next_cursor"] as? String { Swift.print("(more: --cursor \(cursor))") }
            } else if let object = value as? [String: Any] {
                let keys = columns.isEmpty ? object.keys.sorted() : columns
                let width = keys.map(\.count).max() ?? 0
                for key in keys where object[key] != nil {
                    Swift.print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + cell(object[key]))
                }
            } else {
                Swift.print(cell(value))
            }
        }
    }

    static func table(_ rows: [[String: Any]], columns: [String]) -> String {
        let header = columns.map { $0.uppercased() }
        let cells = rows.map { row in columns.map { cell(row[$0]) } }
        let widths = columns.indices.map { index in ([header[index]] + cells.map { $0[index] }).map(\.count).max() ?? 0 }
        func line(_ values: [String]) -> String {
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces) + "\n"
        }
        return ([header] + cells).map(line).joined()
    }

    static func cell(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return ""
        case let text as String: return text
        case let array as [Any]: return array.map { cell($0) }.joined(separator: ",")
        case let number as NSNumber: return number.stringValue
        case let object as [String: Any]:
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "" }
            return String(decoding: data, as: UTF8.self)
        default: return "\(value!)"
        }
    }

    /// Foundation JSON values → values Yams can dump.
    static func plain(_ value: Any) -> Any {
        switch value {
        case let object as [String: Any]: return object.mapValues(plain)
        case let array as [Any]: return array.map(plain)
        case is NSNull: return NSNull()
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { return number.boolValue } // JSON true/false
            return number.doubleValue == number.doubleValue.rounded() ? number.intValue as Any : number.doubleValue as Any
        default: return value
        }
    }
}

/// Runs a client command body and turns CLIError into its message and exit code.
func runClient(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data((error.message + "\n").utf8))
        throw ExitCode(error.exitCode)
    } catch let error as ClientError {
        let error = CLIError(error, server: error.baseURL?.absoluteString ?? "the server")
        FileHandle.standardError.write(Data((error.message + "\n").utf8))
        throw ExitCode(error.exitCode)
    }
}

/// A decoding error in the words of the document's own keys, e.g. "resources.gpu_count: Expected to decode Int".
struct DecodingProblem: CustomStringConvertible {
    let error: DecodingError

    init(_ error: DecodingError) { self.error = error }

    var description: String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "\(path(context).isEmpty ? "" : path(context) + ".")\(key.stringValue) is missing"
        @unknown default:
            return "\(error)"
        }
    }
}
