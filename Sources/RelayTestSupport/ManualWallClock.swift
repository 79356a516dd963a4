import Foundation
import Relay
import RelayPrimitives

/// A clock that shows a set time until told otherwise.
public final class ManualWallClock: WallClock {
    private let current: Locked<Date>

    public init(_ start: Date) {
        current = Locked(start)
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
