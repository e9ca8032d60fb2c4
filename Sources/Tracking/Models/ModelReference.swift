/// `models:/<name>/<version>` or `models:/<name>@<alias>`.
package struct ModelReference: Sendable, Equatable {
    package enum Selector: Sendable, Equatable {
        case version(Int)
        case alias(String)
    }

    package var name: String
    package var selector: Selector

    package init(name: String, selector: Selector) {
        self.name = name
        self.selector = selector
    }

    package init?(_ text: String) {
        guard text.hasPrefix("models:/") else { return nil }
        let rest = text.dropFirst("models:/".count)
        if let at = rest.lastIndex(of: "@") {
            let (name, alias) = (String(rest[..<at]), String(rest[rest.index(after: at)...]))
            guard !name.isEmpty, !alias.isEmpty, !name.contains("/") else { return nil }
            self.name = name
            selector = .alias(alias)
        } else if let slash = rest.lastIndex(of: "/") {
            let (name, number) = (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
            guard !name.isEmpty, let version = Int(number), version > 0 else { return nil }
            self.name = name
            selector = .version(version)
        } else {
            return nil
        }
    }

    package var uri: String {
        switch selector {
        case .version(let number): "models:/\(name)/\(number)"
        case .alias(let alias): "models:/\(name)@\(alias)"
        }
    }
}
