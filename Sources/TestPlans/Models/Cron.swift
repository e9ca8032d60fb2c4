import AITIPCore
import Foundation

/// A five-field cron expression (minute hour day-of-month month day-of-week, in UTC) — `*`, numbers, ranges `a-b`,
/// steps `*/n` and `a-b/n`, lists `a,b`; day-of-week 0–7 with 0 and 7 Sunday; `@hourly`, `@daily`, `@weekly`,
/// `@monthly`. As in cron, when both day fields are restricted a day matching either one fires.
package struct CronSchedule: Sendable, Equatable {
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let daysRestricted: Bool
    let weekdaysRestricted: Bool

    package init(_ text: String) throws(AppError) {
        let aliases = ["@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"]
        let expanded = aliases[text.trimmingCharacters(in: .whitespaces)] ?? text
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw Self.invalid("needs five fields (minute hour day-of-month month day-of-week), e.g. '0 3 * * 1-5'; it has \(fields.count)")
        }
        minutes = try Self.field(fields[0], "minute", 0...59)
        hours = try Self.field(fields[1], "hour", 0...23)
        days = try Self.field(fields[2], "day-of-month", 1...31)
        months = try Self.field(fields[3], "month", 1...12)
        weekdays = Set(try Self.field(fields[4], "day-of-week", 0...7).map { $0 % 7 })
        daysRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
    }

    /// The first time it fires strictly after `instant` (to the minute), within five years; nil if never (31 February).
    package func next(after instant: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = Date(timeIntervalSince1970: (instant.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        var parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: start)
        let lastYear = parts.year! + 5
        while parts.year! <= lastYear {
            guard months.contains(parts.month!) else {
                parts.month! += 1
                (parts.day, parts.hour, parts.minute) = (1, 0, 0)
                if parts.month! > 12 { (parts.year, parts.month) = (parts.year! + 1, 1) }
                continue
            }
            guard let date = calendar.date(from: parts), calendar.component(.month, from: date) == parts.month! else {
                // The day ran past the month's end: on to the next month.
                parts.month! += 1
                (parts.day, parts.hour, parts.minute) = (1, 0, 0)
                if parts.month! > 12 { (parts.year, parts.month) = (parts.year! + 1, 1) }
                continue
            }
            guard dayMatches(day: parts.day!, weekday: calendar.component(.weekday, from: date) - 1) else {
                parts.day! += 1
                (parts.hour, parts.minute) = (0, 0)
                continue
            }
            guard hours.contains(parts.hour!) else {
                parts.hour! += 1
                parts.minute = 0
                if parts.hour! > 23 { (parts.day, parts.hour) = (parts.day! + 1, 0) }
                continue
            }
            guard minutes.contains(parts.minute!) else {
                parts.minute! += 1
                if parts.minute! > 59 { (parts.hour, parts.minute) = (parts.hour! + 1, 0) }
                if parts.hour! > 23 { (parts.day, parts.hour) = (parts.day! + 1, 0) }
                continue
            }
            return date
        }
        return nil
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (daysRestricted, weekdaysRestricted) {
        case (true, true): days.contains(day) || weekdays.contains(weekday)
        case (true, false): days.contains(day)
        case (false, true): weekdays.contains(weekday)
        case (false, false): true
        }
    }

    private static func field(_ text: String, _ name: String, _ bounds: ClosedRange<Int>) throws(AppError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw invalid("\(name) '\(part)' has more than one step") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed >= 1, parsed <= bounds.upperBound else {
                    throw invalid("\(name) step '\(pieces[1])' is not a number from 1")
                }
                step = parsed
            }
            var range: ClosedRange<Int>
            if pieces[0] == "*" {
                range = bounds
            } else if let dash = pieces[0].firstIndex(of: "-") {
                guard let low = Int(pieces[0][..<dash]), let high = Int(pieces[0][pieces[0].index(after: dash)...]), low <= high else {
                    throw invalid("\(name) range '\(pieces[0])' is not low-high")
                }
                range = low...high
            } else {
                guard let single = Int(pieces[0]) else { throw invalid("\(name) '\(part)' is not a number, range or *") }
                guard bounds.contains(single) else { throw invalid("\(name) '\(part)' is outside \(bounds.lowerBound)-\(bounds.upperBound)") }
                range = single...(pieces.count == 2 ? bounds.upperBound : single)
            }
            guard bounds.contains(range.lowerBound), bounds.contains(range.upperBound) else {
                throw invalid("\(name) '\(part)' is outside \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            values.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return values
    }

    private static func invalid(_ message: String) -> AppError {
        AppError.validation([FieldError(field: "schedule", message: message)])
    }
}

/// Whether a case is flaky: over its recent runs (oldest first, skips left out) it both passed and failed, and its
/// outcome changed at least twice — a case that broke once and stays broken is broken, not flaky.
package enum Flakiness {
    package static let window = 10

    package static func flips(_ outcomes: [CaseResult.Status]) -> Int {
        let ran = outcomes.filter { $0 != .skipped }.map { $0 == .passed }
        return zip(ran, ran.dropFirst()).filter { $0 != $1 }.count
    }

    package static func isFlaky(_ outcomes: [CaseResult.Status]) -> Bool {
        flips(Array(outcomes.suffix(window))) >= 2
    }
}
