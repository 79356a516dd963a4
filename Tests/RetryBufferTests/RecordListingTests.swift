import Foundation
import RetryBuffer
import RetryBufferTestKit
import Testing

/// Listing, counting and paging records read segments through a bounded window, never whole.
@Suite("Record listings stay bounded")
struct RecordListingTests {
    let configuration = BufferConfiguration(segmentSize: 8 << 20, maintenanceInterval: .milliseconds(20))

    @Test("A page reads a window, not the segment; counting skips bodies; all records come back in order")
    func pagesReadAWindow() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem, configuration: configuration)
        var ids: [RecordID] = []
        for number in 0..<1500 { ids.append(try await buffer.append(sampleRecord(number, size: 4096))) }
        fileSystem.resetReadCounts()

        let page = try buffer.records(limit: 10)
        #expect(page.map(\.id) == Array(ids.prefix(10)))
        #expect(page.allSatisfy { !$0.record.value.isEmpty })
        #expect(fileSystem.reads.largest <= 1 << 20, "one read of \(fileSystem.reads.largest) bytes")
        #expect(fileSystem.reads.total < 2 << 20, "a page read \(fileSystem.reads.total) bytes of a 6 MiB segment")

        var seen: [RecordID] = []
        try buffer.forEachRecord(bodies: false) { stored in
            #expect(stored.record.value.isEmpty)
            #expect(stored.record.deliveryID == "req_\(seen.count)")
            seen.append(stored.id)
            return true
        }
        #expect(seen == ids)
        #expect(fileSystem.reads.largest <= 1 << 20)

        let after = try buffer.records(after: ids[999], limit: 3)
        #expect(after.map(\.id) == Array(ids[1000..<1003]))
        // The next page starts where this one stopped, not at the segment's first frame.
        fileSystem.resetReadCounts()
        let next = try buffer.records(after: after.last?.id, limit: 3)
        #expect(next.map(\.id) == Array(ids[1003..<1006]))
        #expect(fileSystem.reads.total <= (1 << 20) + 64 << 10, "the next page read \(fileSystem.reads.total) bytes")
        await buffer.close()
    }

    @Test("Without bodies a listing keeps no value but knows each size; with bodies a page stops at its byte bound")
    func bodiesOnlyWhenAsked() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem, configuration: configuration)
        var ids: [RecordID] = []
        for number in 0..<12 { ids.append(try await buffer.append(sampleRecord(number, size: 1 << 20))) }

        let metadata = try buffer.records(limit: 100, bodies: false)
        #expect(metadata.map(\.id) == ids)
        #expect(metadata.allSatisfy { $0.record.value.isEmpty })
        let whole = try buffer.records(limit: 3)
        #expect(metadata.prefix(3).map(\.size) == whole.map(\.record.value.count))
        #expect(whole.allSatisfy { $0.size == $0.record.value.count && $0.size > 1_000_000 })

        // 12 MiB of bodies, a 3.5 MiB bound: four records (the one that passes the bound ends the page).
        let page = try buffer.records(limit: 100, maxBytes: 7 << 19)
        #expect(page.map(\.id) == Array(ids.prefix(4)))
        let next = try buffer.records(after: page.last?.id, limit: 100, maxBytes: 7 << 19)
        #expect(next.map(\.id) == Array(ids[4..<8]))
        // One record larger than the bound still comes back alone.
        #expect(try buffer.records(limit: 100, maxBytes: 1).map(\.id) == [ids[0]])
        await buffer.close()
    }

    @Test("A record larger than the window is read whole; damage between frames is stepped over")
    func largeRecordsAndDamage() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem, configuration: configuration)
        let sizes = [100, 3 << 20, 200, 1 << 20, 50]
        var ids: [RecordID] = []
        for (number, size) in sizes.enumerated() {
            ids.append(try await buffer.append(sampleRecord(number, size: size)))
        }
        await buffer.close()
        let segment = try #require(fileSystem.paths.first { $0.hasSuffix(".log") })
        var bytes = try #require(fileSystem.contents(of: segment))
        // Damage the fourth record (1 MiB, straddling window edges) inside its payload.
        let fourth = try #require(bytes.firstRange(of: Array("req_3".utf8))).lowerBound
        bytes[fourth + 1000] ^= 0xFF
        fileSystem.replaceContents(of: segment, with: bytes)

        let reopened = try openBuffer(fileSystem, configuration: configuration)
        let listed = try reopened.records()
        let recovered = try #require(try reopened.idsByState()[.pending])
        #expect(Set(listed.map(\.id)) == recovered)
        #expect(listed.map(\.id) == ids.filter(recovered.contains))
        #expect(recovered == [ids[0], ids[1], ids[2], ids[4]])
        #expect(listed.first { $0.id == ids[1] }?.record.value.count == sampleRecord(1, size: 3 << 20).value.count)
        await reopened.close()
    }

    @Test("Paging by id after concurrent appends neither skips nor repeats a record")
    func pagingAfterConcurrentAppends() async throws {
        let fileSystem = InMemoryFileSystem()
        let buffer = try openBuffer(fileSystem, configuration: configuration)
        let appended = try await withThrowingTaskGroup(of: [RecordID].self) { group in
            for worker in 0..<32 {
                group.addTask {
                    var ids: [RecordID] = []
                    for number in 0..<40 { ids.append(try await buffer.append(sampleRecord(worker * 100 + number))) }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        var paged: [RecordID] = []
        var cursor: RecordID?
        while true {
            let page = try buffer.records(after: cursor, limit: 7)
            paged += page.map(\.id)
            guard page.count == 7, let last = page.last else { break }
            cursor = last.id
        }
        #expect(paged.count == appended.count)
        #expect(Set(paged).symmetricDifference(appended).isEmpty, "every record once")
        #expect(zip(paged, paged.dropFirst()).allSatisfy { $0.rawValue < $1.rawValue }, "file order is id order")
        await buffer.close()
    }
}
