/// File names inside the buffer directory.
///
///     LOCK                                    held by the running relay (flock)
///     segment-00000000000000000001.log        records, framed, append-only
///     segment-00000000000000000001.state      state changes of those records, framed, append-only
///     segment-00000000000000000001.log.deleting   a segment being deleted (finished on restart)
///     quarantine/                             damaged byte ranges, kept for inspection
enum SegmentFiles {
    static let lockName = "LOCK"
    static let quarantineName = "quarantine"
    static let logSuffix = ".log"
    static let stateSuffix = ".state"
    static let deletingSuffix = ".log.deleting"

    static func baseName(_ number: UInt64) -> String {
        let digits = String(number)
        return "segment-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    static func logName(_ number: UInt64) -> String { baseName(number) + logSuffix }
    static func stateName(_ number: UInt64) -> String { baseName(number) + stateSuffix }
    static func deletingName(_ number: UInt64) -> String { baseName(number) + deletingSuffix }

    /// The segment number in a file name with `suffix`, if it is one of ours.
    static func number(in name: String, suffix: String) -> UInt64? {
        guard name.hasPrefix("segment-"), name.hasSuffix(suffix) else { return nil }
        return UInt64(name.dropFirst("segment-".count).dropLast(suffix.count))
    }
}
