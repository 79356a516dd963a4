import ArgumentParser
import Foundation
import Logging
import Relay
import RelayTools

/// Where the buffer commands act.
struct BufferLocationOptions: ParsableArguments {
    @Option(
        help:
            "Buffer directory of a stopped relay. Without it, the running relay's admin API is used (RELAY_ADMIN_HOST, RELAY_ADMIN_PORT, RELAY_ADMIN_TOKEN)."
    )
    var path: String?

    @Option(help: "YAML configuration (the admin API's address and token; Kafka settings of an offline replay).")
    var config: String?

    func tool() throws -> BufferTool {
        try BufferTool(
            path: path,
            environment: ProcessInfo.processInfo.environment,
            configPath: config,
            logger: Logger(label: "webhook-relay") { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .warning
                return handler
            }
        )
    }
}

/// Which records a command is about.
struct FilterOptions: ParsableArguments {
    @Option(help: "pending, dead or archived.")
    var state: RecordFilter.State?

    @Option(help: "Source name, e.g. github.")
    var source: String?

    @Option(help: "Event type, e.g. STEP_FAILED.")
    var eventType: String?

    @Option(help: "Received at or after: an RFC 3339 time, or a duration back from now (24h).")
    var since: String?

    @Option(help: "Received before: an RFC 3339 time, or a duration back from now.")
    var until: String?

    @Option(name: .customLong("request-id"), help: "One delivery id (ce_id).")
    var deliveryID: String?

    func filter() throws -> RecordFilter {
        let now = Date()
        func time(_ text: String?, _ name: String) throws -> Int64? {
            guard let text else { return nil }
            guard let value = RecordFilter.parseTime(text, now: now) else {
                throw ValidationError(
                    "--\(name) must be an RFC 3339 time (2024-01-15T10:30:00Z) or a duration such as 24h"
                )
            }
            return value
        }
        return RecordFilter(
            state: state,
            source: source,
            eventType: eventType,
            deliveryID: deliveryID,
            since: try time(since, "since"),
            until: try time(until, "until")
        )
    }
}

extension RecordFilter.State: ExpressibleByArgument {}

/// Prints a document as one line of JSON.
func printJSON(_ value: some Encodable) {
    FileHandle.standardOutput.write(Data(AdminAPI.encode(value) + [UInt8(ascii: "\n")]))
}

struct BufferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buffer",
        abstract: "See what the retry buffer holds: status, records, damage, exports.",
        subcommands: [Status.self, Inspect.self, Check.self, Export.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counts and sizes by state, oldest pending age.")
        @OptionGroup var location: BufferLocationOptions
        @Flag(help: "Print JSON (integer pending, dead, archived…).") var json = false

        func run() async throws {
            let status = try await location.tool().status()
            if json { printJSON(status) } else { print(BufferReport.status(status), terminator: "") }
        }
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List records (filters), or print one with --id.")
        @OptionGroup var location: BufferLocationOptions
        @OptionGroup var filters: FilterOptions
        @Option(help: "Print this record with its headers and body.") var id: UInt64?
        @Option(help: "At most this many records.") var limit = 100
        @Option(help: "Only records after this id (the next page).") var after: UInt64?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let tool = try location.tool()
            if let id {
                let record = try await tool.record(id: id)
                if json { printJSON(record) } else { print(BufferReport.record(record), terminator: "") }
                return
            }
            let page = try await tool.records(
                filter: try filters.filter(),
                after: after,
                limit: limit,
                includeBody: false
            )
            if json {
                printJSON(page)
            } else {
                print(BufferReport.records(page.records), terminator: "")
                if let next = page.next { print("More: --after \(next)") }
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every checksum; report (and with --quarantine move aside) damage."
        )
        @OptionGroup var location: BufferLocationOptions
        @Flag(help: "Move damaged bytes to quarantine/ (needs --path on a stopped relay).") var quarantine = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let line = ProgressLine("checked")
            let report = try await location.tool().check(quarantine: quarantine) { records, bytes, total in
                line.update(done: records, of: nil, bytes: bytes, totalBytes: total)
            }
            line.finish()
            if json { printJSON(report) } else { print(BufferReport.check(report), terminator: "") }
            if !report.clean && report.quarantined.isEmpty { throw ExitCode(1) }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write matching records, body included, as JSON lines."
        )
        @OptionGroup var location: BufferLocationOptions
        @OptionGroup var filters: FilterOptions
        @Option(help: "Write to this file instead of standard output.") var output: String?

        func run() async throws {
            let tool = try location.tool()
            let filter = try filters.filter()
            let handle: FileHandle
            if let output {
                // Bodies are what the export holds: readable by its owner only (0600), and never
                // written through a link someone planted at the name (O_NOFOLLOW).
                let descriptor = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else {
                    throw ValidationError("cannot write \(output): \(String(cString: strerror(errno)))")
                }
                guard fchmod(descriptor, 0o600) == 0 else {
                    close(descriptor)
                    throw ValidationError("cannot restrict \(output) to its owner: \(String(cString: strerror(errno)))")
                }
                handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
            } else {
                handle = FileHandle.standardOutput
            }
            var after: UInt64?
            var written = 0
            var bytes = 0
            // Beside the records on the same terminal, a progress line would garble them.
            let line = ProgressLine(
                "exported",
                enabled: isatty(STDERR_FILENO) == 1 && (output != nil || isatty(STDOUT_FILENO) == 0)
            )
            repeat {
                let page = try await tool.records(filter: filter, after: after, limit: 1000, includeBody: true)
                do {
                    for record in page.records {
                        let encoded = AdminAPI.encode(record) + [UInt8(ascii: "\n")]
                        try handle.write(contentsOf: encoded)
                        bytes += encoded.count
                    }
                } catch {
                    // The reader went away (`| head`): stop quietly, as Unix tools do.
                    throw ExitCode(output == nil ? 0 : 1)
                }
                written += page.records.count
                line.update(done: written, of: nil, bytes: bytes)
                after = page.next
            } while after != nil
            line.finish()
            if let output {
                try handle.close()
                FileHandle.standardError.write(Data("exported \(written) records to \(output)\n".utf8))
            }
        }
    }
}

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Publish buffered events to Kafka again (they keep their ce_id).",
        discussion: """
            Choose records with --state (pending, dead, archived) and the other filters, or one with \
            --request-id. Sent to their own topic, pending and dead records become delivered; with --topic \
            a replay is a copy. On a terminal, a progress line on standard error shows records, rate and \
            time left.
            """
    )

    @OptionGroup var location: BufferLocationOptions
    @OptionGroup var filters: FilterOptions
    @Option(help: "Publish to this topic instead of each record's own.") var topic: String?
    @Flag(help: "Only count what would be replayed.") var dryRun = false
    @Flag(help: "Print JSON (matched; replayed, failed, skipped).") var json = false

    func run() async throws {
        let filter = try filters.filter()
        guard filter.state != nil || filter.deliveryID != nil else {
            throw ValidationError("choose what to replay: --state pending|dead|archived, or --request-id ID")
        }
        let line = ProgressLine("replayed")
        let result = try await location.tool().replay(filter: filter, topic: topic, dryRun: dryRun) { done, total in
            line.update(done: done, of: total)
        }
        line.finish()
        if json { printJSON(result) } else { print(BufferReport.replay(result, dryRun: dryRun), terminator: "") }
        if (result.failed ?? 0) > 0 { throw ExitCode(1) }
    }
}
