import Foundation
import Synchronization

/// The current calendar time. Passed in, never global, so tests can set the time (signature
/// vectors are dated 2024) and move it (replay windows).
public protocol WallClock: Sendable {
    /// Now.
    func now() -> Date
}

/// The system's calendar time.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that shows a set time until told otherwise.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Date>

    public init(_ start: Date) {
        current = Mutex(start)
    }

    /// Starts at a Unix time in seconds.
    public convenience init(unixSeconds: Int64) {
        self.init(Date(timeIntervalSince1970: TimeInterval(unixSeconds)))
    }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward (or back, with a negative interval).
    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

extension WallClock {
    /// Now in whole Unix seconds.
    var unixSeconds: Int64 { Int64(now().timeIntervalSince1970.rounded(.down)) }
}
