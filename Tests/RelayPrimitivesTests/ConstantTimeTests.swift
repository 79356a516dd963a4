import RelayPrimitives
import Testing

@Suite("Constant-time comparison")
struct ConstantTimeTests {
    @Test("gives the same answers as ==, whatever the lengths")
    func sameAnswersAsEquals() {
        let samples: [[UInt8]] = [[], [1], [1, 2], [1, 2, 3], [1, 2, 4], [0, 0, 0], [1, 2, 3, 0]]
        for lhs in samples {
            for rhs in samples {
                #expect(ConstantTime.equals(lhs, rhs) == (lhs == rhs), "\(lhs) vs \(rhs)")
            }
        }
    }
}
