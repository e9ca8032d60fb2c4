import HTTPServer
import Testing

@Suite("In-flight limiter")
struct InFlightLimiterTests {
    @Test("each key holds at most the limit; leaving frees a slot; 0 disables the cap")
    func slots() {
        let limiter = InFlightLimiter(limit: 2)
        #expect(limiter.enter("a") && limiter.enter("a"))
        #expect(!limiter.enter("a"))
        #expect(limiter.enter("b"))
        limiter.leave("a")
        #expect(limiter.inFlight("a") == 1)
        #expect(limiter.enter("a"))
        limiter.leave("a")
        limiter.leave("a")
        limiter.leave("b")
        #expect(limiter.inFlight("a") == 0 && limiter.inFlight("b") == 0)
        let unlimited = InFlightLimiter(limit: 0)
        #expect((0..<1_000).allSatisfy { _ in unlimited.enter("a") })
    }
}
