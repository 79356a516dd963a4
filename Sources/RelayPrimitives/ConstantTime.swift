/// Comparisons of secrets (signatures, tokens) whose time does not tell how much of them matched.
public enum ConstantTime {
    /// Whether `lhs` and `rhs` hold the same bytes, in time that depends only on their lengths.
    public static func equals(_ lhs: some Sequence<UInt8>, _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = 0
        var count = 0
        for (index, byte) in lhs.enumerated() {
            difference |= byte ^ (index < rhs.count ? rhs[index] : 0)
            count += 1
        }
        return difference == 0 && count == rhs.count
    }
}
