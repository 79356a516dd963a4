import RelayTestSupport
import SenderKit
import Senders
import Testing

@testable import Relay

@Suite("Dedup guard")
struct DedupGuardTests {
    let key = DedupGuard.Key(source: "docutray", deliveryID: "req_1")
    let body = BodyDigest(of: Array(#"{"a":1}"#.utf8))
    let otherBody = BodyDigest(of: Array(#"{"a":2}"#.utf8))

    @Test("An accepted id with the same body is a duplicate; with another body a conflict")
    func duplicateAndConflict() {
        let guardian = DedupGuard(window: 300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .fresh)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1001) == .inProgress)
        #expect(guardian.reserve(key, digest: otherBody, signedAt: 1000, now: 1001) == .conflict)
        guardian.confirm(key, digest: body)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1002) == .duplicate)
        #expect(guardian.reserve(key, digest: otherBody, signedAt: 1000, now: 1002) == .conflict)
    }

    @Test("A delivery remembered across a restart keeps its body: a retry is a duplicate, another body a conflict")
    func restored() {
        let guardian = DedupGuard(window: 300)
        guardian.restore(key, digest: body, expiresAt: 1300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .duplicate)
        #expect(guardian.reserve(key, digest: otherBody, signedAt: 1000, now: 1000) == .conflict)
        #expect(guardian.reserve(key, digest: otherBody, signedAt: 1000, now: 1300) == .fresh)
    }

    @Test("A delivery an older relay remembered without a comparable digest: any body is a retry until it expires")
    func restoredWithoutDigest() {
        let guardian = DedupGuard(window: 300)
        let later = DedupGuard.Key(source: "docutray", deliveryID: "req_2")
        guardian.restore(key, digest: nil, expiresAt: 1300)
        guardian.restore(later, digest: nil, expiresAt: 1600)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .duplicate)
        #expect(guardian.reserve(key, digest: otherBody, signedAt: 1000, now: 1299) == .duplicate)
        let fresh = DedupGuard.Key(source: "docutray", deliveryID: "req_3")
        #expect(guardian.reserve(fresh, digest: body, signedAt: 1000, now: 1000) == .fresh)
        #expect(guardian.reserve(fresh, digest: otherBody, signedAt: 1000, now: 1000) == .conflict)
        #expect(guardian.reserve(key, digest: otherBody, signedAt: 1300, now: 1300) == .fresh)
        #expect(guardian.reserve(later, digest: otherBody, signedAt: 1300, now: 1500) == .duplicate)
    }

    @Test("Ids are per source")
    func perSource() {
        let guardian = DedupGuard(window: 300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .fresh)
        let other = DedupGuard.Key(source: "other", deliveryID: "req_1")
        #expect(guardian.reserve(other, digest: body, signedAt: 1000, now: 1000) == .fresh)
    }

    @Test("A released id (nothing was made durable) can be processed again")
    func release() {
        let guardian = DedupGuard(window: 300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .fresh)
        guardian.release(key)
        #expect(guardian.reserve(key, digest: body, signedAt: 1000, now: 1000) == .fresh)
    }

    @Test("Accepted ids are forgotten only after the window and after their timestamp leaves the tolerance")
    func expiry() {
        let guardian = DedupGuard(window: 300)
        #expect(guardian.reserve(key, digest: body, signedAt: 1200, now: 1000) == .fresh)
        guardian.confirm(key, digest: body)
        // Signed 200 s in the future: a replay is accepted by the timestamp check until 1500.
        #expect(guardian.reserve(key, digest: body, signedAt: 1200, now: 1499) == .duplicate)
        #expect(guardian.reserve(key, digest: body, signedAt: 1200, now: 1500) == .fresh)
        #expect(guardian.count(now: 1500) == 1)
    }

    @Test("The compact table agrees with a dictionary under random inserts, acceptances, removals and expiry")
    func tableAgreesWithDictionary() throws {
        var generator = SystemRandomNumberGenerator()
        var table = DedupTableModel()
        for step in 0..<20_000 {
            let now = Int64(step / 10)
            let key = UInt64.random(in: 0..<3000, using: &generator)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<6:
                let entry = (
                    digest: UInt32.random(in: 0...3, using: &generator),
                    expiresAt: now + Int64.random(in: 1...60, using: &generator)
                )
                try table.set(key, entry, now: now)
            case 6:
                let entry = (digest: UInt32(9), expiresAt: now + Int64.random(in: 1...60, using: &generator))
                try table.findOrInsert(key, entry, now: now)
            case 7:
                try table.remove(key)
            case 8:
                try table.accept(key, now: now)
            default:
                break
            }
            #expect(table.agrees(key, now: now), "step \(step)")
        }
    }

    @Test("A copy of the table is a value: changing one copy leaves the other as it was")
    func tableCopiesAreValues() throws {
        var original = DedupTableModel()
        for key: UInt64 in 0..<500 { try original.set(key, (digest: 1, expiresAt: 50), now: 0) }
        var copy = original
        for key: UInt64 in 0..<250 { try copy.remove(key) }
        // Another generation: the entry moves, and its old slot is marked removed.
        for key: UInt64 in 250..<500 { try copy.set(key, (digest: 2, expiresAt: 40), now: 1) }
        for key: UInt64 in 500..<1000 { try original.set(key, (digest: 3, expiresAt: 50), now: 1) }
        for key: UInt64 in 0..<1000 {
            #expect(original.agrees(key, now: 1), "original, key \(key)")
            #expect(copy.agrees(key, now: 1), "copy, key \(key)")
        }
    }

    @Test(
        "The bound is shared by every source: at it a new delivery is full, a known one still found, expiry frees room"
    )
    func boundedInEntries() {
        let capacity = DedupCapacity(maximumEntries: 3)
        let first = DedupGuard(window: 10, capacity: capacity)
        let second = DedupGuard(window: 10, capacity: capacity)
        func key(_ id: String) -> DedupGuard.Key { DedupGuard.Key(source: "s", deliveryID: id) }
        #expect(first.reserve(key("a"), digest: body, signedAt: 0, now: 0) == .fresh)
        #expect(first.reserve(key("b"), digest: body, signedAt: 0, now: 0) == .fresh)
        #expect(second.reserve(key("c"), digest: body, signedAt: 0, now: 0) == .fresh)
        #expect(capacity.count == 3)
        #expect(second.reserve(key("d"), digest: body, signedAt: 0, now: 0) == .full)
        #expect(first.reserve(key("e"), digest: body, signedAt: 0, now: 0) == .full)
        first.confirm(key("a"), digest: body)
        #expect(
            first.reserve(key("a"), digest: body, signedAt: 0, now: 1) == .duplicate,
            "known deliveries still answer"
        )
        // A released reservation gives its room back; expired generations give theirs.
        second.release(key("c"))
        #expect(capacity.count == 2)
        #expect(second.reserve(key("d"), digest: body, signedAt: 0, now: 1) == .fresh)
        #expect(first.reserve(key("f"), digest: body, signedAt: 0, now: 100) == .fresh, "a and b expired")
        #expect(capacity.count == 2)
    }

    @Test("Expired entries do not accumulate")
    func bounded() {
        let guardian = DedupGuard(window: 10)
        for index in 0..<100_000 {
            let key = DedupGuard.Key(source: "docutray", deliveryID: "req_\(index)")
            let now = Int64(index / 100)
            _ = guardian.reserve(key, digest: body, signedAt: now, now: now)
            guardian.confirm(key, digest: body)
        }
        #expect(guardian.count(now: 999) <= 1100, "about ten seconds of ids are live")
        #expect(guardian.storageSlots <= 4096, "expired ids are dropped, not kept: \(guardian.storageSlots) slots")
    }

    @Test("A full dedup window takes at most 32 bytes an id, growth included")
    func compact() {
        let guardian = DedupGuard(window: 300)
        let ids = 240_000
        for index in 0..<ids {
            let key = DedupGuard.Key(source: "docutray", deliveryID: "req_\(index)")
            let now = Int64(index / 800)
            #expect(guardian.reserve(key, digest: body, signedAt: now, now: now) == .fresh)
            guardian.confirm(key, digest: body)
        }
        #expect(guardian.count(now: 299) == ids)
        #expect(guardian.storageSlots * 16 <= ids * 32, "\(guardian.storageSlots) slots for \(ids) ids")
        let first = DedupGuard.Key(source: "docutray", deliveryID: "req_0")
        #expect(guardian.reserve(first, digest: body, signedAt: 299, now: 299) == .duplicate)
        #expect(guardian.reserve(first, digest: body, signedAt: 300, now: 300) == .fresh)
    }
}

/// The dedup table next to a plain dictionary with the same operations.
struct DedupTableModel {
    var table = DedupTable(width: 16)
    var model: [UInt64: (digest: UInt32, expiresAt: Int64)] = [:]
    /// The keys of `model` whose entries are accepted (not only reserved).
    var accepted: Set<UInt64> = []

    /// As the guard releases a delivery, then reserves and confirms it again: the key's entry is
    /// replaced by an accepted one.
    mutating func set(_ key: UInt64, _ entry: (digest: UInt32, expiresAt: Int64), now: Int64) throws {
        let (high, low) = (key &* 0x9E37_79B9_7F4A_7C15, key)
        try table.remove(high, low)
        let reserved = DedupTable.Entry(digest: entry.digest, expiresAt: entry.expiresAt, accepted: false)
        _ = try table.findOrInsert(high, low, reserved, now: now)
        _ = try table.accept(high, low)
        model[key] = entry
        accepted.insert(key)
    }

    /// As the guard reserves: the live entry stays; without one, `entry` goes in. Checks the answer.
    mutating func findOrInsert(_ key: UInt64, _ entry: (digest: UInt32, expiresAt: Int64), now: Int64) throws {
        let found = try table.findOrInsert(
            key &* 0x9E37_79B9_7F4A_7C15,
            key,
            DedupTable.Entry(digest: entry.digest, expiresAt: entry.expiresAt, accepted: false),
            now: now
        )
        let live = model[key].flatMap { $0.expiresAt > now ? $0 : nil }
        #expect(found?.digest == live?.digest && found?.expiresAt == live?.expiresAt)
        if live == nil {
            model[key] = entry
            accepted.remove(key)
        }
    }

    /// As the guard confirms: the entry, if it is still there, becomes accepted. Checks the answer.
    mutating func accept(_ key: UInt64, now: Int64) throws {
        let found = try table.accept(key &* 0x9E37_79B9_7F4A_7C15, key)
        if let live = model[key], live.expiresAt > now {
            #expect(found?.digest == live.digest && found?.expiresAt == live.expiresAt && found?.accepted == true)
        }
        if model[key] != nil { accepted.insert(key) }
    }

    mutating func remove(_ key: UInt64) throws {
        try table.remove(key &* 0x9E37_79B9_7F4A_7C15, key)
        model[key] = nil
        accepted.remove(key)
    }

    func agrees(_ key: UInt64, now: Int64) -> Bool {
        let found = table.find(key &* 0x9E37_79B9_7F4A_7C15, key, now: now)
        let expected = model[key].flatMap { $0.expiresAt > now ? $0 : nil }
        return found?.digest == expected?.digest && found?.expiresAt == expected?.expiresAt
            && found?.accepted == expected.map { _ in accepted.contains(key) }
    }
}
