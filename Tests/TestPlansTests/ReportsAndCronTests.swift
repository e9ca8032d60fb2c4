import AITIPCore
import Foundation
import Testing

@testable import TestPlans

@Suite struct XMLReaderTests {
    @Test func readsElementsAttributesTextAndReferences() throws {
        let xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <!-- a comment -->
            <root a="1 &amp; 2" b='x'><child>&lt;tag&gt; &#65;&#x42; <![CDATA[<raw> & text]]></child><empty/></root>
            """
        let root = try XMLReader.parse(Array(xml.utf8))
        #expect(root.name == "root" && root.attributes == ["a": "1 & 2", "b": "x"])
        #expect(root.first("child")?.text == "<tag> AB <raw> & text")
        #expect(root.first("empty") != nil)
    }

    @Test func refusesWhatCouldExpandOrIsMalformed() {
        let laughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
            <testsuites><testsuite name="&lol2;"/></testsuites>
            """
        let cases: [(String, String)] = [
            (laughs, "line 2: a document type declaration"),
            ("<a><b></a>", "</a> closes <b>"),
            ("<a x=1/>", "is not quoted"),
            ("<a>&ent;</a>", "unknown entity &ent;"),
            ("<a>unclosed", "not closed"),
            ("<a/><b/>", "a second root element"),
            ("", "no root element"),
            ("<a x='1' x='2'/>", "given twice"),
        ]
        for (xml, words) in cases {
            let error = #expect(throws: AppError.self) { try XMLReader.parse(Array(xml.utf8)) }
            #expect(error?.fieldErrors.first?.message.contains(words) == true, "\(xml): \(String(describing: error))")
        }
        var deep = XMLReader.Limits()
        deep.maxDepth = 3
        #expect(throws: AppError.self) { try XMLReader.parse(Array("<a><b><c><d/></c></b></a>".utf8), limits: deep) }
    }
}

@Suite struct JUnitAndCoberturaTests {
    @Test func countsCasesOfNestedSuites() throws {
        let junit = """
            <testsuites><testsuite name="outer"><testsuite name="inner">
              <testcase classname="m" name="ok" time="0.5"/>
              <testcase classname="m" name="bad" time="1.25"><failure message="expected 2">assert 1 == 2</failure></testcase>
              <testcase classname="m" name="crash"><error message="boom"/></testcase>
              <testcase classname="m" name="later"><skipped message="not today"/></testcase>
            </testsuite></testsuite></testsuites>
            """
        let cases = try TestReports.junit(Array(junit.utf8))
        #expect(cases.map(\.status) == [.passed, .failed, .error, .skipped])
        #expect(cases[1].durationMs == 1_250 && cases[1].message == "expected 2\nassert 1 == 2" && cases[1].suite == "inner")
        let totals = CaseTotals(cases)
        #expect((totals.total, totals.passed, totals.failed, totals.skipped) == (4, 1, 2, 1))
        #expect(throws: AppError.self) { try TestReports.junit(Array("<html/>".utf8)) }
        #expect(throws: AppError.self) { try TestReports.junit(Array("<testsuite><testcase/></testsuite>".utf8)) }
    }

    @Test func coverageFromLineRateOrLineCounts() throws {
        #expect(try TestReports.coveragePercent(Array("<coverage line-rate=\"0.8312\"/>".utf8)) == 83.12)
        #expect(try TestReports.coveragePercent(Array("<coverage lines-covered=\"3\" lines-valid=\"4\"/>".utf8)) == 75)
        #expect(throws: AppError.self) { try TestReports.coveragePercent(Array("<coverage line-rate=\"7\"/>".utf8)) }
        #expect(throws: AppError.self) { try TestReports.coveragePercent(Array("<report/>".utf8)) }
    }
}

@Suite struct CronTests {
    func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    @Test func nextFiringTimes() throws {
        let monday = date("2026-12-07T09:07:30Z")
        #expect(try CronSchedule("*/15 * * * *").next(after: monday) == date("2026-12-07T09:15:00Z"))
        #expect(try CronSchedule("0 3 * * 1-5").next(after: monday) == date("2026-12-08T03:00:00Z"))
        #expect(try CronSchedule("@weekly").next(after: monday) == date("2026-12-13T00:00:00Z"))
        #expect(try CronSchedule("30 2 29 2 *").next(after: monday) == date("2028-02-29T02:30:00Z"))
        // Both day fields restricted: either one matches (the 1st, or a Friday).
        #expect(try CronSchedule("0 0 1 * 5").next(after: monday) == date("2026-12-11T00:00:00Z"))
        #expect(try CronSchedule("0 0 31 2 *").next(after: monday) == nil)
        #expect(try CronSchedule("5 * * * *").next(after: date("2026-12-07T09:05:00Z")) == date("2026-12-07T10:05:00Z"))
    }

    @Test func invalidExpressionsNameTheField() {
        for (text, words) in [
            ("* * * *", "five fields"), ("61 * * * *", "minute '61'"), ("* 24 * * *", "hour"), ("* * 0 * *", "day-of-month"),
            ("*/0 * * * *", "step"), ("5-1 * * * *", "range"), ("x * * * *", "not a number"),
        ] {
            let error = #expect(throws: AppError.self) { try CronSchedule(text) }
            #expect(error?.fieldErrors.first?.message.contains(words) == true, "\(text): \(String(describing: error))")
        }
    }

    @Test func flakyMeansAlternatingNotBroken() {
        #expect(Flakiness.isFlaky([.passed, .failed, .passed]))
        #expect(!Flakiness.isFlaky([.passed, .passed, .failed, .failed]))
        #expect(!Flakiness.isFlaky([.passed, .skipped, .passed]))
        #expect(Flakiness.flips([.failed, .skipped, .passed, .error]) == 2)
    }
}
