/// RFC 3339 timestamps, formatted in UTC and parsed (as senders write them in headers) without
/// Foundation's formatters (which are slow and, on some platforms, not thread-safe).
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

    /// The Unix seconds of `text` (fractions dropped), or `nil` unless it is an RFC 3339 date-time:
    /// `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits, and `Z` or `±HH:MM` (`T` and `Z`
    /// in either case).
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 35 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                guard index < bytes.count, (0x30...0x39).contains(bytes[index]) else { return nil }
                value = value * 10 + Int64(bytes[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), bytes[4] == 0x2D, let month = number(5..<7), bytes[7] == 0x2D,
            let day = number(8..<10), bytes[10] | 0x20 == 0x74, let hour = number(11..<13), bytes[13] == 0x3A,
            let minute = number(14..<16), bytes[16] == 0x3A, let second = number(17..<19)
        else { return nil }
        var index = 19
        if bytes[index] == 0x2E {
            let digits = bytes[(index + 1)...].prefix { (0x30...0x39).contains($0) }.count
            guard (1...9).contains(digits) else { return nil }
            index += 1 + digits
        }
        var offset: Int64 = 0
        guard index < bytes.count else { return nil }
        if bytes[index] | 0x20 == 0x7A {
            index += 1
        } else if bytes[index] == 0x2B || bytes[index] == 0x2D, index + 6 == bytes.count,
            let hours = number((index + 1)..<(index + 3)), bytes[index + 3] == 0x3A,
            let minutes = number((index + 4)..<(index + 6)), hours < 24, minutes < 60
        {
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == 0x2B ? 1 : -1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        return daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
            - offset
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the date, in the proleptic Gregorian calendar (Howard Hinnant's
    /// `days_from_civil`, the inverse of ``civilDate(daysSinceEpoch:)``).
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shifted = month <= 2 ? year - 1 : year
        let era = (shifted >= 0 ? shifted : shifted - 399) / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
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
