import Foundation
import Relay
import RelayPrimitives

/// The built `webhook-relay` binary, for tests that exercise the command line as a user would.
public enum RelayExecutable {
    /// Next to the test bundle in the build folder (`swift build` builds it with the tests), or
    /// `$WEBHOOK_RELAY_BINARY`.
    public static var path: String {
        if let explicit = ProcessInfo.processInfo.environment["WEBHOOK_RELAY_BINARY"] { return explicit }
        return builtProduct("webhook-relay")
    }

    /// Another executable of this package, from the same build folder.
    public static func builtProduct(_ name: String) -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path
    }
}

/// A child process whose output is collected as it arrives.
public final class ChildProcess: Sendable {
    private let process: Process
    private let output = CollectedOutput()

    /// Starts `executable` with `arguments`; `environment` replaces the child's environment.
    public init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdin: [UInt8]? = nil,
        currentDirectory: String? = nil
    ) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        self.process = process
        // One blocking reader thread per pipe, not FileHandle.readabilityHandler: on Linux its
        // dispatch source can outlive the descriptor, and hundreds of short-lived children then
        // crash libdispatch's event loop when descriptor numbers are reused.
        Self.drain(out.fileHandleForReading, into: output) { $0.stdout += $1 }
        Self.drain(err.fileHandleForReading, into: output) { $0.stderr += $1 }
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
        try? input.fileHandleForWriting.close()
    }

    public var standardOutput: String { output.bytes.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    public var standardError: String { output.bytes.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
    public var isRunning: Bool { process.isRunning }
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Waits until standard output (or standard error, with `inErrors`) contains `text`; fails after
    /// `timeout` or if the process exits first.
    public func waitForOutput(
        containing text: String,
        inErrors: Bool = false,
        timeout: Duration = .seconds(30)
    ) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !(inErrors ? standardError : standardOutput).contains(text) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw HTTPTestClient.Failure(
                    description: "no '\(text)' in output; stderr: \(standardError.suffix(2000))"
                )
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Sends a signal (SIGTERM by default).
    public func signal(_ signal: Int32 = SIGTERM) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the exit status; kills the process if it has not exited within `timeout`.
    public func waitForExit(timeout: Duration = .seconds(60)) async -> Int32 {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                kill(process.processIdentifier, SIGKILL)
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        // Let the pipes deliver their last bytes (both readers reach end of file).
        let drained = ContinuousClock.now.advanced(by: .seconds(2))
        while output.bytes.withLock({ $0.openStreams > 0 }), ContinuousClock.now < drained {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }

    /// Runs a command to completion and returns its status and output.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdin: [UInt8]? = nil,
        currentDirectory: String? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(
            executable,
            arguments,
            environment: environment,
            stdin: stdin,
            currentDirectory: currentDirectory
        )
        let status = await child.waitForExit(timeout: timeout)
        return (status, child.standardOutput, child.standardError)
    }
}

extension ChildProcess {
    /// Reads `handle` on a thread of its own until end of file, appending what arrives, then closes it.
    fileprivate static func drain(
        _ handle: FileHandle,
        into output: CollectedOutput,
        append: @escaping @Sendable (inout CollectedOutput.Streams, [UInt8]) -> Void
    ) {
        let thread = Thread {
            let descriptor = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    let chunk = Array(buffer[0..<count])
                    output.bytes.withLock { append(&$0, chunk) }
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            try? handle.close()
            output.bytes.withLock { $0.openStreams -= 1 }
        }
        thread.start()
    }
}

/// What a child wrote so far, shared with the pipes' reader threads.
private final class CollectedOutput: Sendable {
    struct Streams {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        /// Pipes whose reader has not reached end of file yet.
        var openStreams = 2
    }

    let bytes = Locked(Streams())
}
