import Relay
import Testing

@Suite("Replay protection")
struct ReplayGuardTests {
    let key = ReplayGuard.Key(source: "docutray", deliveryID: "req_1")
    let body = BodyDigest(of: Array(#"{"a":1}"#.utf8))
    let otherBody = BodyDigest(of: Array(#"{"a":2}"#.utf8))

    @Test("An accepted id with the same body is a duplicate; with another body a conflict")
    func duplicateAndConflict() {
        let guardian = ReplayGuard(window: 300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .fresh)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1001) == .inProgress)
        #expect(guardian.reserve(key, digest: otherBody, signedAt: 1000, now: 1001) == .conflict)
        guardian.confirm(key)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1002) == .duplicate)
        #expect(guardian.reserve(key, digest: otherBody, signedAt: 1000, now: 1002) == .conflict)
    }

    @Test("Ids are per source")
    func perSource() {
        let guardian = ReplayGuard(window: 300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .fresh)
        let other = ReplayGuard.Key(source: "other", deliveryID: "req_1")
        #expect(guardian.reserve(other, digest: body, signedAt: 1000, now: 1000) == .fresh)
    }

    @Test("A released id (nothing was made durable) can be processed again")
    func release() {
        let guardian = ReplayGuard(window: 300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .fresh)
        guardian.release(key)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .fresh)
    }

    @Test("Accepted ids are forgotten only after the window and after their timestamp leaves the tolerance")
    func expiry() {
        let guardian = ReplayGuard(window: 300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1200, now: 1000) == .fresh)
        guardian.confirm(key)
        // Signed 200 s in the future: a replay is accepted by the timestamp check until 1500.
        #expect(guardian.reserve(key, digest: body, signedAt: 1200, now: 1499) == .duplicate)
        #expect(guardian.reserve(key, digest: body, signedAt: 1200, now: 1500) == .fresh)
        #expect(guardian.count == 1)
    }

    @Test("Expired entries do not accumulate")
    func bounded() {
        let guardian = ReplayGuard(window: 10)
        for index in 0..<1000 {
            let key = ReplayGuard.Key(source: "docutray", deliveryID: "req_\(index)")
            _ = guardian.reserve(key, digest: body, signedAt: Int64(index), now: Int64(index))
            guardian.confirm(key)
        }
        #expect(guardian.count <= 11)
    }
}
