import Inference
import Testing

@Suite("Autoscaler: recommendations and stabilisation windows")
struct AutoscalerTests {
    let policy = AutoscalePolicy(metric: .concurrency, target: 2, scaleUpWindowSeconds: 0, scaleDownWindowSeconds: 10)

    @Test("load ÷ target per replica, rounded up and kept within the bounds; up at once with no up window")
    func recommendation() {
        var autoscaler = Autoscaler()
        #expect(autoscaler.decide(current: 1, observed: 5, policy: policy, bounds: 1...10, now: 0) == 3)
        #expect(autoscaler.decide(current: 3, observed: 100, policy: policy, bounds: 1...10, now: 1) == 10)
        var quiet = Autoscaler()
        #expect(quiet.decide(current: 1, observed: 0, policy: policy, bounds: 0...10, now: 0) == nil, "no load is not yet idle: one replica stays")
    }

    @Test("to zero only where the bounds allow it and no request came for the whole down window")
    func scaleToZero() {
        var autoscaler = Autoscaler()
        #expect(autoscaler.decide(current: 2, observed: 3, policy: policy, bounds: 0...10, now: 0) == nil)
        #expect(autoscaler.decide(current: 2, observed: 0, policy: policy, bounds: 0...10, now: 5, idle: true) == nil, "2 within the window")
        #expect(autoscaler.decide(current: 2, observed: 0, policy: policy, bounds: 0...10, now: 11, idle: true) == 0)
        var floored = Autoscaler()
        #expect(floored.decide(current: 1, observed: 0, policy: policy, bounds: 1...10, now: 0, idle: true) == nil, "min_replicas 1 holds")
    }

    @Test("a load swinging inside the down window holds the count at its peak instead of following every swing")
    func noOscillation() {
        var autoscaler = Autoscaler()
        var replicas = 1
        var changes = 0
        for second in 0..<60 {
            let load: Double = second % 4 < 2 ? 8 : 1 // 4 replicas' worth, then almost nothing, every 2 s
            if let next = autoscaler.decide(current: replicas, observed: load, policy: policy, bounds: 1...10, now: Double(second)) {
                replicas = next
                changes += 1
            }
        }
        #expect(replicas == 4)
        #expect(changes == 1, "one scale-up, then steady: \(changes) changes")
    }

    @Test("the count comes down only after the load has stayed low for the whole down window")
    func scaleDown() {
        var autoscaler = Autoscaler()
        #expect(autoscaler.decide(current: 1, observed: 8, policy: policy, bounds: 1...10, now: 0) == 4)
        for second in 1...10 {
            #expect(autoscaler.decide(current: 4, observed: 1, policy: policy, bounds: 1...10, now: Double(second)) == nil, "second \(second)")
        }
        #expect(autoscaler.decide(current: 4, observed: 1, policy: policy, bounds: 1...10, now: 11) == 1)
    }

    @Test("with an up window, a blip shorter than the window adds nothing; a sustained load does")
    func scaleUpWindow() {
        let patient = AutoscalePolicy(metric: .rps, target: 10, scaleUpWindowSeconds: 3, scaleDownWindowSeconds: 10)
        var autoscaler = Autoscaler()
        #expect(autoscaler.decide(current: 1, observed: 5, policy: patient, bounds: 1...10, now: 0) == nil)
        #expect(autoscaler.decide(current: 1, observed: 50, policy: patient, bounds: 1...10, now: 1) == nil)
        #expect(autoscaler.decide(current: 1, observed: 5, policy: patient, bounds: 1...10, now: 2) == nil)
        for second in 3...5 {
            _ = autoscaler.decide(current: 1, observed: 30, policy: patient, bounds: 1...10, now: Double(second))
        }
        #expect(autoscaler.decide(current: 1, observed: 30, policy: patient, bounds: 1...10, now: 6) == 3)
    }
}
