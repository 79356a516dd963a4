import Foundation

/// The current calendar time. Passed in, never global, so tests can set the time (signature
/// vectors are dated 2024) and move it (dedup windows).
public protocol WallClock: Sendable {
    /// Now.
    func now() -> Date
}

/// The system's calendar time.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

extension WallClock {
    /// Now in whole Unix seconds.
    public var unixSeconds: Int64 { Int64(now().timeIntervalSince1970.rounded(.down)) }

    /// The current time in whole Unix milliseconds (rounded down).
    public var unixMilliseconds: Int64 { now().unixMilliseconds }
}
