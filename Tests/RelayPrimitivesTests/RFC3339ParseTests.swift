import Foundation
import RelayPrimitives
import Testing

@Suite("RFC 3339 times as senders write them")
struct RFC3339ParseTests {
    @Test("What the relay formats parses back to the same second, across centuries and leap days")
    func roundTrip() {
        for seconds: Int64 in [0, 951_782_400, 1_709_164_800, 1_767_225_600, 4_102_444_799, -2_208_988_800] {
            #expect(RFC3339.parse(RFC3339.format(unixSeconds: seconds)) == seconds, "\(seconds)")
            #expect(RFC3339.parse(RFC3339.format(unixMilliseconds: seconds * 1000 + 999)) == seconds)
        }
    }

    @Test(
        "Fractions of up to nine digits are dropped, offsets applied, T and Z in either case",
        arguments: [
            ("2026-01-01T00:00:00.123456789Z", 1_767_225_600),
            ("2026-01-01T00:00:00.5Z", 1_767_225_600),
            ("2026-01-01t00:00:00z", 1_767_225_600),
            ("2026-01-01T01:00:00+01:00", 1_767_225_600),
            ("2025-12-31T19:30:00-04:30", 1_767_225_600),
            ("2024-02-29T12:00:00Z", 1_709_208_000),
        ] as [(String, Int64)]
    )
    func accepted(_ text: String, _ seconds: Int64) {
        #expect(RFC3339.parse(text) == seconds)
    }

    @Test(
        "Anything else is refused: no zone, other separators, impossible dates, ten fraction digits, blanks",
        arguments: [
            "2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-1-01T00:00:00Z", "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z", "2026-01-01T00:00:00+0100",
            "2026-01-01T00:00:00+24:00", " 2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z ", "1767225600", "",
        ]
    )
    func refused(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}
