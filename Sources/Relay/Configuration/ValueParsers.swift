import Foundation
import RelayPrimitives

/// Parsers for the value formats used in configuration: durations, byte sizes, booleans.
enum ValueParsers {
    /// `500ms`, `2s`, `5m`, `24h`, `7d`, `1h30m`; a bare number means seconds.
    static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty else { return nil }
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite { return .milliseconds(Int64(seconds * 1000)) }
        var total = Duration.zero
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard let amount = Double(digits), amount >= 0 else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let millisecondsPerUnit: Double
            switch unit {
            case "ms": millisecondsPerUnit = 1
            case "s": millisecondsPerUnit = 1000
            case "m": millisecondsPerUnit = 60_000
            case "h": millisecondsPerUnit = 3_600_000
            case "d": millisecondsPerUnit = 86_400_000
            default: return nil
            }
            total += .milliseconds(Int64(amount * millisecondsPerUnit))
        }
        return total
    }

    /// `512`, `64KiB`, `5MiB`, `1GiB`, `10MB` (powers of 1000 for KB/MB/GB, of 1024 for KiB/MiB/GiB).
    static func byteSize(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber }
        guard let amount = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "kb", "k": multiplier = 1000
        case "kib": multiplier = 1 << 10
        case "mb", "m": multiplier = 1_000_000
        case "mib": multiplier = 1 << 20
        case "gb", "g": multiplier = 1_000_000_000
        case "gib": multiplier = 1 << 30
        case "tb": multiplier = 1_000_000_000_000
        case "tib": multiplier = 1 << 40
        default: return nil
        }
        let (product, overflow) = amount.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    /// `true/false`, `yes/no`, `on/off`, `1/0`.
    static func bool(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}

extension Duration {
    /// Whole seconds, rounded down.
    var wholeSeconds: Int64 { components.seconds }

    /// The duration written back the way configuration writes it (`2s`, `500ms`).
    var configText: String {
        let millis = milliseconds
        return millis % 1000 == 0 ? "\(millis / 1000)s" : "\(millis)ms"
    }
}
