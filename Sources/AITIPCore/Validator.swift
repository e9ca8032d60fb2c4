import Foundation

/// Collects every field error of a request before failing, so a client learns all its mistakes at once.
public struct Validator: Sendable {
    public private(set) var errors: [FieldError] = []

    public init() {}

    public mutating func add(_ field: String, _ message: String) {
        errors.append(FieldError(field: field, message: message))
    }

    public mutating func check(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) {
        if !condition { add(field, message()) }
    }

    /// A trimmed, non-empty string no longer than `maxLength`; returns the trimmed value.
    @discardableResult
    public mutating func requireText(_ value: String?, _ field: String, maxLength: Int) -> String {
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

    public mutating func optionalText(_ value: String?, _ field: String, maxLength: Int) -> String? {
        guard let value else { return nil }
        if value.count > maxLength { add(field, "must be at most \(maxLength) characters") }
        return value
    }

    /// Slugs are lowercase letters, digits and single hyphens: safe in URLs, paths and Kubernetes names.
    public mutating func checkSlug(_ slug: String, _ field: String) {
        if !Slug.isValid(slug) {
            add(field, "must be 1–63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit")
        }
    }

    public func finish() throws(AppError) {
        if !errors.isEmpty { throw AppError.validation(errors) }
    }
}

public enum Slug {
    public static func isValid(_ slug: String) -> Bool {
        guard (1...63).contains(slug.count), let first = slug.first, let last = slug.last else { return false }
        guard first != "-", last != "-", !slug.contains("--") else { return false }
        return slug.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// Derives a slug from a display name: "My Team (EU)" → "my-team-eu".
    public static func from(_ name: String) -> String {
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
