import RelayPrimitives
import RelayTestSupport
import SenderKit
import Senders
import Testing

@testable import Relay

@Suite("Rate limiting per source")
struct RateLimiterTests {
    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        private let instant = Locked(ContinuousClock.now)
        var now: ContinuousClock.Instant { instant.withLock { $0 } }
        func advance(_ duration: Duration) { instant.withLock { $0 = $0.advanced(by: duration) } }
    }

    @Test("A full bucket admits the burst, then one request per 1/rate seconds, and says how long to wait")
    func burstThenRate() {
        let clock = ManualClock()
        let limiter = RateLimiter(limits: ["docutray": .init(rate: 2, burst: 5)]) { clock.now }
        for _ in 0..<5 { #expect(limiter.admit("docutray") == nil) }
        #expect(limiter.admit("docutray") == 1)
        clock.advance(.milliseconds(400))
        #expect(limiter.admit("docutray") == 1, "0.8 tokens is not a request")
        clock.advance(.milliseconds(100))
        #expect(limiter.admit("docutray") == nil, "one token after 1/rate = 0.5 s")
        #expect(limiter.admit("docutray") == 1)
        clock.advance(.seconds(60))
        for _ in 0..<5 { #expect(limiter.admit("docutray") == nil) }
        #expect(limiter.admit("docutray") != nil, "an idle minute refills to the burst, not beyond")
    }

    @Test("Retry-After is the wait rounded up to whole seconds, at least 1")
    func roundsUp() {
        let clock = ManualClock()
        let limiter = RateLimiter(limits: ["docutray": .init(rate: 1, burst: 1)]) { clock.now }
        #expect(limiter.admit("docutray") == nil)
        clock.advance(.milliseconds(100))
        #expect(limiter.admit("docutray") == 1, "0.9 s left")
        clock.advance(.milliseconds(899))
        #expect(limiter.admit("docutray") == 1, "1 ms left")
        clock.advance(.milliseconds(1))
        #expect(limiter.admit("docutray") == nil)
    }

    @Test("Sources are limited independently; unlimited sources and a rate of 0 are never refused")
    func independentSources() {
        let clock = ManualClock()
        let limiter = RateLimiter(
            limits: ["docutray": .init(rate: 1, burst: 1), "other": .init(rate: 0, burst: 0)]
        ) { clock.now }
        #expect(limiter.admit("docutray") == nil)
        #expect(limiter.admit("docutray") != nil)
        for _ in 0..<1000 {
            #expect(limiter.admit("other") == nil)
            #expect(limiter.admit("unlisted") == nil)
        }
    }
}
