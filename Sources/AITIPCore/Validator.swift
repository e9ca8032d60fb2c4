import Foundation

/// Collects every field error of a request before failing, so a client learns all its mistakes at once.
package struct Validator: Sendable {
    package private(set) var errors: [FieldError] = []

    package init() {}

    package mutating func add(_ field: String, _ message: String) {
        errors.append(FieldError(field: field, message: message))
    }

    package mutating func check(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) {
        if !condition { add(field, message()) }
    }

    /// A trimmed, non-empty string no longer than `maxLength`; returns the trimmed value.
    @discardableResult
    package mutating func requireText(_ value: String?, _ field: String, maxLength: Int) -> String {
        guard let value else {
            add(field, "is required")
            return ""
        }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            add(field, "must not be empty")
        } else if trimmed.count > maxLength {
            add(field, "must be at most \(maxLength) characters")
        }
        return trimmed
    }

    package mutating func optionalText(_ value: String?, _ field: String, maxLength: Int) -> String? {
        guard let value else { return nil }
        if value.count > maxLength { add(field, "must be at most \(maxLength) characters") }
        return value
    }

    /// Slugs are lowercase letters, digits and single hyphens: safe in URLs, paths and Kubernetes names.
    package mutating func checkSlug(_ slug: String, _ field: String) {
        if !Slug.isValid(slug) {
            add(field, "must be 1–63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit")
        }
    }

    package func finish() throws(AppError) {
        if !errors.isEmpty { throw AppError.validation(errors) }
    }
}

package enum Slug {
    package static func isValid(_ slug: String) -> Bool {
        guard (1...63).contains(slug.count), let first = slug.first, let last = slug.last else { return false }
        guard first != "-", last != "-", !slug.contains("--") else { return false }
        return slug.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// Derives a slug from a display name: "My Team (EU)" → "my-team-eu".
    package static func from(_ name: String) -> String {
        var result = ""
        for scalar in name.lowercased().unicodeScalars {
            if ("a"..."z").contains(Character(scalar)) || ("0"..."9").contains(Character(scalar)) {
                result.unicodeScalars.append(scalar)
            } else if !result.isEmpty, result.last != "-" {
                result.append("-")
            }
        }
        while result.hasSuffix("-") { result.removeLast() }
        return String(result.prefix(63)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    }
}
