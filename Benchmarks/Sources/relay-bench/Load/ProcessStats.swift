import Foundation

/// CPU time and peak memory of a process, read from /proc (Linux).
struct ProcessStats {
    /// User + system CPU seconds so far.
    var cpuSeconds: Double
    /// Peak resident set size (VmHWM), bytes.
    var peakRSS: Int
    /// Current resident set size (VmRSS), bytes.
    var rss: Int
    /// Open file descriptors.
    var openFiles: Int

    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let closing = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: closing)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15 (1-based).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func kilobytes(_ key: String) -> Int {
            status.split(separator: "\n").first { $0.hasPrefix(key) }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return ProcessStats(
            cpuSeconds: (user + system) / ticks,
            peakRSS: kilobytes("VmHWM:") * 1024,
            rss: kilobytes("VmRSS:") * 1024,
            openFiles: files
        )
    }
}
