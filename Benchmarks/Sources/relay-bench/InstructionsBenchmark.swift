import ArgumentParser
import Foundation

/// Instructions per request, counted by callgrind: the same for the same build and load whatever
/// else the machine is doing, so two builds compare to a fraction of a percent where CPU time
/// varies by tens of percent.
///
/// Each scenario's server runs under `valgrind --tool=callgrind` (the relay as `serve-relay`, the
/// same library and settings as `webhook-relay serve`; the mock broker and the load outside it).
/// After a warm-up, the counters are zeroed with nothing in flight, exactly `requests` requests
/// are sent and answered, and the counters are dumped: every instruction of every thread of the
/// server in between (event loops, librdkafka's threads, the buffer writer), divided by the
/// requests. The same window with no requests gives the idle rate, which the table shows beside.
///
/// Under valgrind the server's threads take turns on one core, so librdkafka batches differently
/// than at full speed; the figures compare builds and paths, they do not predict CPU time.
struct InstructionsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instructions",
        abstract: "Instructions per request on each path, counted by callgrind."
    )

    @Option(help: "Scenarios, comma-separated: ceiling, verify, normal, buffered, duplicate.")
    var scenarios = "ceiling,verify,normal,buffered"
    @Option(help: "Body size in bytes.") var body = 1024
    @Option(help: "Concurrent connections.") var connections = 4
    @Option(help: "Requests counted.") var requests = 2000
    @Option(help: "Requests sent first, not counted.") var warmup = 500
    @Option(help: "Seconds of the idle window.") var idle = 5
    @Option(help: "Where callgrind's dumps are kept (default: a new temporary directory).") var output: String?
    @Option(help: "An extra valgrind option (repeatable), e.g. --separate-threads=yes for a dump per thread.")
    var valgrindOption: [String] = []
    @Option(
        help: """
            Tracing in the relay: off; on (every request sampled, spans exported to an OTLP/HTTP sink \
            in this process); gone (an endpoint where nothing listens: every export fails).
            """
    )
    var tracing = "off"
    @Option(
        help: "A setting for the relay (repeatable), e.g. OTEL_TRACES_SAMPLER_ARG=0.1; shown in the scenario column."
    )
    var set: [String] = []

    func run() async throws {
        guard ["off", "on", "gone"].contains(tracing) else { throw ValidationError("--tracing is off, on or gone") }
        var chosen: [Scenario] = []
        for name in scenarios.split(separator: ",") {
            guard let scenario = Scenario(rawValue: String(name)) else {
                throw ValidationError("unknown scenario \(name)")
            }
            chosen.append(scenario)
        }
        let directory =
            output
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("callgrind-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // valgrind's DWARF reader gives up on Swift's DWARF 5 debug information; a copy without it
        // keeps its symbols, so `callgrind_annotate` still names every function.
        let binary = directory + "/relay-bench"
        try runTool(["strip", "--strip-debug", "-o", binary, BenchPaths.benchBinary])

        print("callgrind dumps in \(directory)\n")
        print(Self.header)
        for scenario in chosen {
            let row = try await measure(scenario, binary: binary, directory: directory)
            print(row)
        }
    }

    static let header = """
        | scenario | body | conns | requests | non-2xx | instructions per request | idle instructions per second |
        |---|---|---|---|---|---|---|
        """

    private func measure(_ scenario: Scenario, binary: String, directory: String) async throws -> String {
        let size = BenchFormat.bytes(body).replacingOccurrences(of: " ", with: "")
        let dumpFile = "\(directory)/\(scenario.rawValue)-\(size)-tracing-\(tracing).out"
        // Everything runs ~50 times slower: the publish timeout must not turn slowness into buffering.
        var environment = ["RELAY_KAFKA_PUBLISH_TIMEOUT": "25s", "RELAY_HTTP_REQUEST_TIMEOUT": "120s"]
        let sink = tracing == "on" ? try await OTLPSink.start() : nil
        defer { sink?.stop() }
        switch (tracing, sink) {
        case ("on", let sink?):
            environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:\(sink.port)/v1/traces"
        case ("gone", _):
            environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:\(try freePort())/v1/traces"
        default: break
        }
        if tracing != "off" {
            environment["OTEL_TRACES_SAMPLER"] = "always_on"
            environment["RELAY_TRACING_EXPORT_INTERVAL"] = "1s"
        }
        for setting in set {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--set takes NAME=VALUE, not \(setting)") }
            environment[parts[0]] = parts[1]
        }
        let processes = try ScenarioProcesses(
            scenario,
            relayBinary: "",
            benchBinary: binary,
            extraEnvironment: environment,
            underTool: ["valgrind", "--tool=callgrind", "--callgrind-out-file=\(dumpFile)"] + valgrindOption
        )
        defer { processes.stop() }
        let pid = String(processes.server.processIdentifier)
        let load = DocutrayRequests(
            host: "127.0.0.1",
            port: processes.port,
            bodySize: body,
            repeatsOneDelivery: scenario.repeatsOneDelivery
        )
        _ = try await LoadGenerator.send(
            count: warmup,
            host: "127.0.0.1",
            port: processes.port,
            requests: load,
            connections: connections
        )
        try runTool(["callgrind_control", "--zero", pid])
        let result = try await LoadGenerator.send(
            count: requests,
            host: "127.0.0.1",
            port: processes.port,
            requests: load,
            connections: connections
        )
        try runTool(["callgrind_control", "--dump=requests", pid])
        let measured = try Self.totalInstructions(dumpFile + ".1")
        try runTool(["callgrind_control", "--zero", pid])
        try await Task.sleep(for: .seconds(idle))
        try runTool(["callgrind_control", "--dump=idle", pid])
        let idleInstructions = try Self.totalInstructions(dumpFile + ".2")
        let perRequest = Double(measured) / Double(requests)
        if let sink, sink.received.exports == 0 { throw BenchmarkFailure("tracing on, but no span reached the sink") }
        let name = ([scenario.rawValue] + (tracing == "off" ? [] : ["tracing \(tracing)"]) + set).joined(
            separator: ", "
        )
        return
            "| \(name) | \(BenchFormat.bytes(body)) | \(connections) | \(requests) | \(result.non2xx) | "
            + "\(Self.grouped(Int(perRequest.rounded()))) | \(Self.grouped(Int(idleInstructions) / idle)) |"
    }

    /// The instruction count of one callgrind dump (its `totals:` or `summary:` line): the file at
    /// `path`, or with `--separate-threads=yes` the sum of its files per thread (`path-01`, …).
    private static func totalInstructions(_ path: String) throws -> UInt64 {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let name = URL(fileURLWithPath: path).lastPathComponent
        var files: [String] = []
        let deadline = Date().addingTimeInterval(60)
        while files.isEmpty, Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            files = names.filter { $0 == name || $0.hasPrefix(name + "-") }.map { directory + "/" + $0 }
            if files.isEmpty { Thread.sleep(forTimeInterval: 0.2) }
        }
        var total: UInt64 = 0
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let line = text.split(separator: "\n").first { $0.hasPrefix("totals:") || $0.hasPrefix("summary:") }
            guard let value = line?.split(separator: " ").last.flatMap({ UInt64($0) }) else {
                throw BenchmarkFailure("no instruction total in \(file)")
            }
            total += value
        }
        guard !files.isEmpty else { throw BenchmarkFailure("no callgrind dump at \(path)") }
        return total
    }

    /// 1234567 → "1,234,567".
    private static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return text
    }
}

/// Runs a tool to completion; throws if it fails.
private func runTool(_ command: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchmarkFailure("\(command.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
}
