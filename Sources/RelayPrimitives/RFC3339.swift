/// RFC 3339 timestamps in UTC, formatted without Foundation's formatters (which are slow and, on
/// some platforms, not thread-safe).
public enum RFC3339 {
    /// `2024-01-15T10:30:00Z` for a Unix time in seconds.
    public static func format(unixSeconds: Int64) -> String {
        String(decoding: bytes(unixMilliseconds: unixSeconds * 1000, fractional: false), as: UTF8.self)
    }

    /// `2024-01-15T10:30:00.123Z` for a Unix time in milliseconds.
    public static func format(unixMilliseconds: Int64, fractional: Bool = true) -> String {
        String(decoding: bytes(unixMilliseconds: unixMilliseconds, fractional: fractional), as: UTF8.self)
    }

    /// The UTF-8 of ``format(unixMilliseconds:fractional:)``, written digit by digit (a Kafka header
    /// value is bytes, so the request path never builds the string).
    public static func bytes(unixMilliseconds: Int64, fractional: Bool = true) -> [UInt8] {
        let millis = unixMilliseconds.modulo(1000)
        let seconds = (unixMilliseconds - millis) / 1000
        let secondOfDay = seconds.modulo(86_400)
        let days = (seconds - secondOfDay) / 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var text: [UInt8] = []
        text.reserveCapacity(24)
        if year < 0 { text.append(UInt8(ascii: "-")) }
        appendDigits(abs(year), width: 4, to: &text)
        text.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &text)
        text.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &text)
        text.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, width: 2, to: &text)
        text.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, width: 2, to: &text)
        text.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, width: 2, to: &text)
        if fractional {
            text.append(UInt8(ascii: "."))
            appendDigits(millis, width: 3, to: &text)
        }
        text.append(UInt8(ascii: "Z"))
        return text
    }

    /// `value` (not negative) in decimal, zero-padded to at least `width` digits.
    private static func appendDigits(_ value: Int64, width: Int, to text: inout [UInt8]) {
        var digits = 1
        var limit: Int64 = 10
        while digits < 19, value >= limit {
            digits += 1
            limit *= 10
        }
        var divisor: Int64 = 1
        for _ in 1..<max(width, digits) { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            text.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    private static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

extension Int64 {
    /// The remainder with the sign of the divisor (always in `0..<divisor` for a positive divisor).
    fileprivate func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
