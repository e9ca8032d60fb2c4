import HTTPTypes
import Hummingbird
import Synchronization

/// The methods each route path accepts, read from the finished router, so that a request for a known path with
/// another method is told which methods it may use instead of "not found".
package final class MethodTable: Sendable {
    private struct Route: Sendable {
        var components: [RouterPath.Element]
        var method: String
    }

    private let routes = Mutex<[Route]>([])

    package init() {}

    func load(_ descriptions: [Router<AppRequestContext>.RouteDescription]) {
        routes.withLock { $0 = descriptions.map { Route(components: $0.path.components, method: $0.method.rawValue) } }
    }

    /// The methods of the routes the router would pick for this path, sorted; empty when no route matches it. Like the
    /// router, a literal segment wins over a capture, and a capture over a wildcard: `…/annotations/export` is POST's
    /// alone, though `…/annotations/{annotation_id}` takes PUT.
    func allowed(for path: String) -> [String] {
        let segments = path.split(separator: "/")[...]
        let matching = routes.withLock { routes in
            routes.compactMap { route in Self.matches(route.components[...], segments) ? (Self.specificity(route.components), route.method) : nil }
        }
        guard let best = matching.map(\.0).max(by: { $0.lexicographicallyPrecedes($1) }) else { return [] }
        return Set(matching.filter { $0.0 == best }.map(\.1)).sorted()
    }

    private static func matches(_ pattern: ArraySlice<RouterPath.Element>, _ segments: ArraySlice<Substring>) -> Bool {
        guard let element = pattern.first else { return segments.isEmpty }
        if element.description == "**" { return !segments.isEmpty }
        guard let segment = segments.first, element ~= segment else { return false }
        return matches(pattern.dropFirst(), segments.dropFirst())
    }

    /// Per segment: 2 a literal, 1 a capture (whole or partial), 0 a wildcard.
    private static func specificity(_ components: [RouterPath.Element]) -> [Int] {
        components.map { element in
            let text = element.description
            if text.contains("*") { return 0 }
            return text.contains("{") ? 1 : 2
        }
    }
}
