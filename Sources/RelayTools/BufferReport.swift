import Foundation
import Relay

/// Human-readable output of the buffer commands (tables an operator reads at a glance). The
/// `--json` output is the ``AdminAPI`` documents instead.
public enum BufferReport {
    public static func status(_ status: AdminAPI.Status) -> String {
        var lines = ["Buffer \(status.path)", ""]
        lines += table(
            ["STATE", "RECORDS", "SIZE"],
            [
                ["pending", String(status.pending), bytes(status.pendingBytes)],
                ["dead", String(status.dead), bytes(status.deadBytes)],
                ["archived", String(status.archived), bytes(status.archivedBytes)],
            ],
            rightAligned: [1, 2]
        )
        lines.append("")
        if let age = status.oldestPendingAgeSeconds {
            lines.append("Oldest pending event: received \(duration(age)) ago; \(status.inFlight) being published now.")
        } else {
            lines.append("Nothing pending.")
        }
        lines.append(
            "\(status.segments) segment files, \(bytes(status.totalBytes)) on disk, \(status.corruptRanges) damaged ranges."
        )
        return lines.joined(separator: "\n") + "\n"
    }

    public static func records(_ records: [AdminAPI.Record]) -> String {
        guard !records.isEmpty else { return "No matching records.\n" }
        let rows = records.map { record in
            [
                String(record.id), record.state, record.receivedAt, printable(record.eventType),
                printable(record.deliveryID), printable(record.topic), String(record.attempts), bytes(record.size),
            ]
        }
        let header = ["ID", "STATE", "RECEIVED", "EVENT", "REQUEST ID", "TOPIC", "ATTEMPTS", "SIZE"]
        return table(header, rows, rightAligned: [0, 6, 7]).joined(separator: "\n") + "\n"
    }

    public static func record(_ record: AdminAPI.Record) -> String {
        var lines = [
            "Record \(record.id) (\(record.state))",
            "  request id:  \(printable(record.deliveryID))",
            "  source:      \(printable(record.source))",
            "  event type:  \(printable(record.eventType))",
            "  topic:       \(printable(record.topic))",
            "  key:         \(record.key.map { printable($0) } ?? "(none)")",
            "  received at: \(record.receivedAt)",
            "  attempts:    \(record.attempts)",
        ]
        if let reason = record.reason { lines.append("  reason:      \(printable(reason))") }
        lines.append("Headers:")
        for header in record.headers ?? [] {
            lines.append("  \(printable(header.name)): \(header.value.map { printable($0) } ?? "(null)")")
        }
        lines.append("Body (\(bytes(record.size))):")
        lines.append(printable(record.body ?? "", keepingLines: true))
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` safe to print on a terminal: control characters (escape sequences could rewrite the
    /// screen or the window title), DEL, C1 controls and bidirectional overrides are written as
    /// `\u{…}`. A body keeps its line breaks and tabs.
    static func printable(_ text: String, keepingLines: Bool = false) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let kept = keepingLines && (scalar == "\n" || scalar == "\t")
            let control = value < 0x20 || (0x7F...0x9F).contains(value)
            let bidirectional = (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
            if (control || bidirectional) && !kept {
                result += "\\u{" + String(value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    public static func check(_ report: AdminAPI.CheckReport) -> String {
        var lines = [
            "Checked \(report.segments) segments: \(report.records) records, \(report.stateEntries) state entries."
        ]
        if report.clean {
            lines.append("Every checksum matches; no damage.")
        } else {
            lines.append("Damage found:")
            lines += table(
                ["FILE", "OFFSET", "BYTES", "KIND"],
                report.damage.map { [$0.file, String($0.offset), String($0.length), $0.kind] },
                rightAligned: [1, 2]
            ).map { "  " + $0 }
        }
        if !report.quarantined.isEmpty {
            lines.append("Moved to quarantine (the intact records stay in place):")
            lines += report.quarantined.map { "  " + $0 }
        } else if !report.clean {
            lines.append(
                "Recovery skips damaged bytes on start; run with --quarantine on a stopped relay to move them aside."
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func replay(_ result: AdminAPI.ReplayResult, dryRun: Bool) -> String {
        guard !dryRun else { return "\(result.matched) matching records would be replayed (dry run).\n" }
        var text = "Replayed \(result.replayed ?? 0) of \(result.matched) matching records"
        if let failed = result.failed, failed > 0 { text += "; \(failed) failed (see the relay's log)" }
        if let skipped = result.skipped, skipped > 0 {
            text += "; \(skipped) skipped (the retrier was publishing them)"
        }
        return text + ".\n"
    }

    /// `1.5 KiB`, `12.0 MiB`.
    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// `3s`, `2m 5s`, `1h 4m`, `2d 3h`.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        switch total {
        case ..<60: return "\(total)s"
        case ..<3600: return "\(total / 60)m \(total % 60)s"
        case ..<86_400: return "\(total / 3600)h \(total % 3600 / 60)m"
        default: return "\(total / 86_400)d \(total % 86_400 / 3600)h"
        }
    }

    /// Rows padded into columns.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }
            .joined(separator: "  ")
            .replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }
    }
}
