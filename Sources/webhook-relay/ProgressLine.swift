import Foundation
import RelayPrimitives

/// A progress line for long work (replay, check, export) on standard error, redrawn at most ten
/// times a second: done of total, bytes, rate and time left. Only when standard error is a terminal,
/// so logs and pipes (and `--json` output on standard output) never see it.
final class ProgressLine: Sendable {
    private struct State {
        var lastDrawn = ContinuousClock.now - .seconds(1)
        var drawn = false
    }

    private let verb: String
    private let unit: String
    private let started = ContinuousClock.now
    private let enabled: Bool
    private let state = Locked(State())

    /// - Parameters:
    ///   - verb: what is done, e.g. `replayed`.
    ///   - unit: what `done` counts, e.g. `records`.
    init(_ verb: String, unit: String = "records", enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.verb = verb
        self.unit = unit
        self.enabled = enabled
    }

    /// Redraws the line, unless it was drawn less than 0.1 s ago (and this is not the end).
    func update(done: Int, of total: Int?, bytes: Int? = nil, totalBytes: Int? = nil) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let finished = total.map { done >= $0 } ?? false
        let due = state.withLock { state -> Bool in
            guard finished || now - state.lastDrawn >= .milliseconds(100) else { return false }
            state.lastDrawn = now
            state.drawn = true
            return true
        }
        guard due else { return }
        let elapsed = max(0.001, (now - started).seconds)
        var parts = [total.map { "\(verb) \(done)/\($0) \(unit)" } ?? "\(verb) \(done) \(unit)"]
        if let bytes { parts.append(Self.size(bytes) + (totalBytes.map { " of \(Self.size($0))" } ?? "")) }
        let fraction: Double? =
            if let totalBytes, let bytes, totalBytes > 0 {
                Double(bytes) / Double(totalBytes)
            } else if let total,
                total > 0
            { Double(done) / Double(total) } else { nil }
        parts.append("\(Int(Double(done) / elapsed))/s")
        if let fraction, fraction > 0, fraction < 1 {
            parts.append(Self.clock(elapsed / fraction - elapsed) + " left")
        }
        FileHandle.standardError.write(Data(("\r" + parts.joined(separator: " · ") + "\u{1B}[K").utf8))
    }

    /// Ends the line, if one was drawn.
    func finish() {
        guard enabled, state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private static func size(_ bytes: Int) -> String {
        bytes >= 1 << 30
            ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30))
            : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }

    private static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        return whole >= 3600
            ? String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
            : String(format: "%d:%02d", whole / 60, whole % 60)
    }
}
