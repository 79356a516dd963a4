import Foundation
import Relay
import SenderKit
import Senders

/// One server under load, started as a process of its own.
enum Scenario: String, CaseIterable {
    /// Hummingbird's floor: a route that collects the body and answers 202 (the ceiling).
    case ceiling
    /// Verification, JSON check and envelope, without Kafka.
    case verify
    /// The relay, publishing to a mock broker in another process: 202 after Kafka's ack.
    case normal
    /// The relay with Kafka down: every 202 after the buffer's fsync.
    case buffered
    /// The relay answering a sender's retries: every request repeats one delivery, published once,
    /// so each is verified and found in the replay table (200) and never reaches Kafka. The relay's
    /// own HTTP and bookkeeping costs, without the Kafka path.
    case duplicate

    /// Whether every request repeats one delivery id.
    var repeatsOneDelivery: Bool { self == .duplicate }
}

/// The processes of a scenario, stopped when done.
final class ScenarioProcesses {
    let port: Int
    let server: Process
    private var helpers: [Process] = []
    private let bufferDirectory: String
    /// The mock broker's process, in the normal and duplicate scenarios.
    var brokerPID: Int32? { helpers.first?.processIdentifier }
    /// The relay's buffer directory (normal and buffered scenarios).
    var bufferPath: String { bufferDirectory }

    /// - Parameter tool: a command the server runs under (callgrind), when not empty. The relay
    ///   then runs as `benchBinary serve-relay`, which valgrind can run (see `RelayServer`).
    init(
        _ scenario: Scenario,
        relayBinary: String,
        benchBinary: String,
        extraEnvironment: [String: String] = [:],
        underTool tool: [String] = []
    ) throws {
        port = try freePort()
        bufferDirectory =
            FileManager.default.temporaryDirectory.appendingPathComponent("bench-buffer-\(UUID().uuidString)").path
        let webhookURL = "http://127.0.0.1:\(port)\(DocutrayRequests.path)"
        switch scenario {
        case .ceiling:
            server = try launch(tool + [benchBinary, "serve-ceiling", "--port", String(port)])
        case .verify:
            server = try launch(
                tool + [benchBinary, "serve-verify", "--port", String(port), "--webhook-url", webhookURL]
            )
        case .normal, .buffered, .duplicate:
            var bootstrap = "127.0.0.1:1"
            if scenario != .buffered {
                let output = Pipe()
                let broker = try launch([benchBinary, "broker"], output: output)
                helpers.append(broker)
                let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
                bootstrap =
                    line.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                    ?? bootstrap
            }
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("RELAY_") }
            environment.merge([
                "RELAY_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "RELAY_HTTP_HOST": "127.0.0.1",
                "RELAY_HTTP_PORT": String(port),
                "RELAY_ADMIN_PORT": "0",
                "RELAY_BUFFER_PATH": bufferDirectory,
                "RELAY_BUFFER_MAX_SIZE": "16GiB",
                "RELAY_DOCUTRAY_SECRETS": DocutrayRequests.secret,
                "RELAY_DOCUTRAY_WEBHOOK_URL": webhookURL,
                "RELAY_LOG_LEVEL": "warning",
                "RELAY_KAFKA_WARMUP_TIMEOUT": scenario == .buffered ? "0s" : "10s",
            ]) { $1 }
            environment.merge(extraEnvironment) { $1 }
            let relay = tool.isEmpty ? [relayBinary, "serve"] : tool + [benchBinary, "serve-relay"]
            server = try launch(relay, environment: environment)
        }
        // valgrind takes tens of seconds to load a Swift binary.
        try waitUntilListening(port: port, process: server, timeout: tool.isEmpty ? 60 : 600)
    }

    func stop() {
        for process in [server] + helpers where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: bufferDirectory)
    }

    deinit { stop() }
}

/// Starts `command` (a path, or a program on `PATH`, and its arguments).
private func launch(
    _ command: [String],
    environment: [String: String]? = nil,
    output: Pipe? = nil
) throws -> Process {
    let process = Process()
    if command[0].hasPrefix("/") {
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
    } else {
        // `env` execs the program in place, so the process keeps its id (callgrind_control needs it).
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
    }
    if let environment { process.environment = environment }
    process.standardOutput = output ?? FileHandle.nullDevice
    try process.run()
    return process
}

/// Waits until something accepts TCP connections on `port`.
private func waitUntilListening(port: Int, process: Process, timeout: TimeInterval) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        guard process.isRunning else { throw BenchmarkFailure("the server exited before listening") }
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        close(socketFD)
        if connected == 0 { return }
        Thread.sleep(forTimeInterval: 0.1)
    }
    throw BenchmarkFailure("nothing listened on port \(port)")
}

/// A free TCP port on 127.0.0.1.
func freePort() throws -> Int {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(socketFD, pointer, length) == 0 else { return -1 }
            return getsockname(socketFD, pointer, &length)
        }
    }
    guard bound == 0 else { throw BenchmarkFailure("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
