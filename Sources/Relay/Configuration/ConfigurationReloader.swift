import Foundation
import Logging
import RelayPrimitives
import SenderKit
import ServiceLifecycle
import UnixSignals

/// Where the running configuration was read from, so that it can be read again.
public struct ConfigurationSource: Sendable {
    public var environment: [String: String]
    /// The YAML file, if one was named (`--config` or `RELAY_CONFIG`).
    public var configPath: String?
    public var senders: SenderRegistry

    public init(environment: [String: String], configPath: String?, senders: SenderRegistry) {
        self.environment = environment
        self.configPath = configPath
        self.senders = senders
    }

    func load() throws(ConfigurationError) -> RelayConfiguration {
        try RelayConfiguration.load(environment: environment, configPath: configPath, senders: senders)
    }

    /// The files a configuration is read from: the YAML file, every `RELAY_…_FILE` variable's file
    /// and every `…_file` setting's (secrets, the admin token).
    func files(of configuration: RelayConfiguration) -> [String] {
        var files = Set<String>()
        if let path = configPath ?? environment[Setting.configFile.environment], !path.isEmpty { files.insert(path) }
        for (name, value) in environment where name.hasPrefix("RELAY_") && name.hasSuffix("_FILE") && !value.isEmpty {
            files.insert(value)
        }
        for value in configuration.settingValues where value.setting.key.hasSuffix("_file") {
            if case .text(let path) = value.value { files.insert(path) }
        }
        return files.sorted()
    }
}

/// Reloads the sources without a restart: on SIGHUP, and when the configuration file or a secret
/// file changes (checked every `pollInterval`; Kubernetes replaces a mounted secret in place). A
/// new configuration is read whole and applied only if it is valid and changes nothing that needs
/// a restart (listeners, Kafka, the buffer, limits outside the sources, a source's dedup window);
/// otherwise the running one stays, and the log says why. Requests under way finish with the
/// sources they started with; the next ones see the new.
final class ConfigurationReloader: Service {
    private let source: ConfigurationSource
    private let apply: @Sendable (RelayConfiguration) throws(ConfigurationError) -> Void
    private let metrics: RelayMetrics
    private let logger: Logger
    private let pollInterval: Duration
    private let state: Locked<State>

    private struct State {
        var running: RelayConfiguration
        /// The watched files' contents when last read (nil: missing).
        var snapshot: [String: Data?]
    }

    init(
        source: ConfigurationSource,
        running: RelayConfiguration,
        metrics: RelayMetrics,
        logger: Logger,
        pollInterval: Duration = .seconds(2),
        apply: @escaping @Sendable (RelayConfiguration) throws(ConfigurationError) -> Void
    ) {
        self.source = source
        self.apply = apply
        self.metrics = metrics
        self.logger = logger
        self.pollInterval = pollInterval
        self.state = Locked(State(running: running, snapshot: Self.snapshot(source.files(of: running))))
    }

    func run() async throws {
        // Both triggers feed one queue, served by one loop: one reload at a time, in order.
        let (triggers, queue) = AsyncStream.makeStream(of: String.self)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { queue.yield("SIGHUP") }
                }
                group.addTask {
                    while (try? await Task.sleep(for: self.pollInterval)) != nil {
                        let changed = self.state.withLock { state in
                            state.snapshot.first { Self.read($0.key) != $0.value }?.key
                        }
                        if let changed { queue.yield("\(changed) changed") }
                    }
                }
                group.addTask {
                    for await trigger in triggers { self.reload(trigger: trigger) }
                }
                await group.waitForAll()
            }
        }
        queue.finish()
    }

    /// Reads the configuration again and applies it if it may be; logs and counts the outcome once.
    /// Called from the one loop that serves the triggers.
    func reload(trigger: String) {
        let running = state.withLock { $0.running }
        let loaded: RelayConfiguration
        do {
            loaded = try source.load()
        } catch {
            // Remember what was read, so the same broken file is reported once, not every poll.
            state.withLock { $0.snapshot = Self.snapshot(Array($0.snapshot.keys)) }
            metrics.reload(outcome: "failed")
            logger.error(
                "Configuration reload failed; the running configuration stays",
                metadata: ["reload.trigger": "\(trigger)", "error": "invalid configuration: \(error)"]
            )
            return
        }
        let files = Self.snapshot(source.files(of: loaded))
        let restartOnly = Self.restartOnlyChanges(from: running, to: loaded)
        guard restartOnly.isEmpty else {
            state.withLock { $0.snapshot = files }
            metrics.reload(outcome: "refused")
            logger.error(
                "Configuration reload refused: these settings need a restart; the running configuration stays",
                metadata: [
                    "reload.trigger": "\(trigger)", "reload.restart_only": "\(restartOnly.joined(separator: ","))",
                ]
            )
            return
        }
        do {
            try apply(loaded)
        } catch {
            state.withLock { $0.snapshot = files }
            metrics.reload(outcome: "failed")
            logger.error(
                "Configuration reload failed; the running configuration stays",
                metadata: ["reload.trigger": "\(trigger)", "error": "invalid configuration: \(error)"]
            )
            return
        }
        state.withLock { $0 = State(running: loaded, snapshot: files) }
        metrics.reload(outcome: "applied")
        let old = Set(running.sources.map(\.name))
        let new = Set(loaded.sources.map(\.name))
        let changed = new.intersection(old).filter {
            Self.values(of: running, source: $0) != Self.values(of: loaded, source: $0)
        }
        logger.info(
            "Configuration reloaded",
            metadata: [
                "reload.trigger": "\(trigger)",
                "reload.sources_added": "\(new.subtracting(old).sorted().joined(separator: ","))",
                "reload.sources_removed": "\(old.subtracting(new).sorted().joined(separator: ","))",
                "reload.sources_changed": "\(changed.sorted().joined(separator: ","))",
            ]
        )
    }

    /// The settings that differ between the two and cannot change while running: everything outside
    /// `sources`, and a kept source's dedup window (its memory of deliveries is kept as it is).
    /// Only names, never values (some are secrets).
    static func restartOnlyChanges(from running: RelayConfiguration, to loaded: RelayConfiguration) -> [String] {
        let before = Dictionary(running.settingValues.map { ($0.setting.key, $0.value) }) { first, _ in first }
        let after = Dictionary(loaded.settingValues.map { ($0.setting.key, $0.value) }) { first, _ in first }
        let kept = Set(running.sources.map(\.name)).intersection(loaded.sources.map(\.name))
        return Set(before.keys).union(after.keys).filter { key in
            guard before[key] != after[key] else { return false }
            guard key.hasPrefix("sources.") else { return true }
            return kept.contains { key == "sources.\($0).dedup_window" }
        }.sorted()
    }

    /// One source's settings as read, for telling which sources a reload changed.
    private static func values(
        of configuration: RelayConfiguration,
        source: String
    ) -> [String: RelayConfiguration.SettingValue.Value] {
        Dictionary(
            configuration.settingValues.filter { $0.setting.key.hasPrefix("sources.\(source).") }
                .map { ($0.setting.key, $0.value) }
        ) { first, _ in first }
    }

    private static func read(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }

    private static func snapshot(_ files: [String]) -> [String: Data?] {
        Dictionary(uniqueKeysWithValues: files.map { ($0, read($0)) })
    }
}
