import Foundation
import Logging
import Relay
import RelayKafka
import RetryBuffer
import SenderKit

/// The work behind `webhook-relay buffer …` and `webhook-relay replay`: against a running relay
/// through its admin API, or with `--path` directly on a stopped relay's buffer directory. Both
/// give the same ``AdminAPI`` documents.
public struct BufferTool: Sendable {
    /// Where the commands act.
    public enum Target: Sendable, Hashable {
        /// A running relay's admin API.
        case adminAPI(host: String, port: Int, token: String?)
        /// A stopped relay's buffer directory.
        case directory(String)
    }

    /// Why a command could not run, in words an operator can act on.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let target: Target
    private let environment: [String: String]
    private let configPath: String?
    private let logger: Logger

    /// `--path DIR` wins; otherwise the admin API at `admin.host`:`admin.port` (127.0.0.1:8081) with
    /// `admin.token` or `admin.token_file`, read from the environment and `configPath` as the relay
    /// reads them.
    /// - Throws: ``ConfigurationError`` when the admin settings are wrong (as the relay would refuse them).
    public init(
        path: String?,
        environment: [String: String],
        configPath: String? = nil,
        logger: Logger
    ) throws(ConfigurationError) {
        if let path {
            target = .directory(path)
        } else {
            let admin = try RelayConfiguration.loadAdmin(environment: environment, configPath: configPath)
            let host = admin.host == "0.0.0.0" || admin.host == "::" ? "127.0.0.1" : admin.host
            target = .adminAPI(host: host, port: admin.port, token: admin.token)
        }
        self.environment = environment
        self.configPath = configPath
        self.logger = logger
    }

    public func status() async throws -> AdminAPI.Status {
        switch target {
        case .adminAPI: return try await call("GET", "/admin/buffer")
        case .directory: return try await withLocalBuffer(reading: true) { $0.status() }
        }
    }

    /// One page of records matching `filter`.
    public func records(
        filter: RecordFilter,
        after: UInt64?,
        limit: Int,
        includeBody: Bool
    ) async throws -> AdminAPI.RecordPage {
        switch target {
        case .adminAPI:
            var items = filter.queryItems + [URLQueryItem(name: "limit", value: String(limit))]
            if let after { items.append(URLQueryItem(name: "after", value: String(after))) }
            if includeBody { items.append(URLQueryItem(name: "body", value: "true")) }
            return try await call("GET", "/admin/buffer/records", query: items)
        case .directory:
            return try await withLocalBuffer(reading: true) { operations in
                try operations.records(filter: filter, after: after, limit: limit, includeBody: includeBody)
            }
        }
    }

    public func record(id: UInt64) async throws -> AdminAPI.Record {
        switch target {
        case .adminAPI: return try await call("GET", "/admin/buffer/records/\(id)")
        case .directory: return try await withLocalBuffer(reading: true) { try $0.record(id: id) }
        }
    }

    /// Verifies every checksum; `quarantine` (only with `--path`) moves damaged bytes aside.
    /// `progress` (only with `--path`) is told the records and bytes checked, of the total bytes.
    public func check(
        quarantine: Bool,
        progress: (_ records: Int, _ bytes: Int, _ totalBytes: Int) -> Void = { _, _, _ in }
    ) async throws -> AdminAPI.CheckReport {
        switch target {
        case .adminAPI:
            guard !quarantine else {
                throw Failure(description: "--quarantine changes files and needs the relay stopped: use --path DIR")
            }
            return try await call("GET", "/admin/buffer/check")
        case .directory(let path):
            do {
                return BufferOperations.document(
                    try RetryBuffer.check(directory: path, quarantine: quarantine, logger: logger, progress: progress)
                )
            } catch {
                throw Self.explain(error, path: path)
            }
        }
    }

    /// Replays (or, dry, counts) matching records; `progress` is told how many are done of how many.
    public func replay(
        filter: RecordFilter,
        topic: String?,
        dryRun: Bool,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> AdminAPI.ReplayResult {
        switch target {
        case .adminAPI:
            let count: AdminAPI.ReplayResult = try await call(
                "POST",
                "/admin/replay",
                body: AdminAPI.ReplayRequest(filter: filter, topic: topic, dryRun: true)
            )
            if dryRun { return count }
            // In pages, so a long replay shows progress and a failure loses little.
            var total = AdminAPI.ReplayResult(matched: 0, replayed: 0, failed: 0, skipped: 0)
            var after: UInt64?
            while true {
                let page: AdminAPI.ReplayResult = try await call(
                    "POST",
                    "/admin/replay",
                    body: AdminAPI.ReplayRequest(filter: filter, topic: topic, dryRun: false, after: after, limit: 1000)
                )
                total.matched += page.matched
                total.replayed = (total.replayed ?? 0) + (page.replayed ?? 0)
                total.failed = (total.failed ?? 0) + (page.failed ?? 0)
                total.skipped = (total.skipped ?? 0) + (page.skipped ?? 0)
                total.last = page.last ?? total.last
                progress(total.matched, max(count.matched, total.matched))
                guard page.matched == 1000, let last = page.last else { return total }
                after = last
            }
        case .directory:
            return try await withLocalBuffer(reading: dryRun) { operations in
                try await operations.replay(
                    AdminAPI.ReplayRequest(filter: filter, topic: topic, dryRun: dryRun),
                    progress: progress
                )
            }
        }
    }

    // MARK: Local buffer

    /// Opens the buffer at `--path` for `body`. `reading` (status, listings, a dry run) opens it
    /// read-only: nothing in the directory changes, not even its lock file. Otherwise (a replay) it
    /// is opened as the relay would, with the configured buffer settings (its archive retention,
    /// not the default), and a Kafka producer.
    private func withLocalBuffer<T>(reading: Bool, _ body: (BufferOperations) async throws -> T) async throws -> T {
        guard case .directory(let path) = target else { preconditionFailure("not a directory target") }
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure(description: "no buffer at \(path)")
        }
        let buffer: RetryBuffer
        do {
            let settings = try RelayConfiguration.loadBuffer(environment: environment, configPath: configPath)
            buffer = try RetryBuffer.open(
                directory: path,
                configuration: BufferConfiguration(
                    maximumSize: settings.maximumSize,
                    segmentSize: settings.segmentSize,
                    archiveRetention: settings.archiveRetention
                ),
                logger: logger,
                readOnly: reading
            )
        } catch {
            throw Self.explain(error, path: path)
        }
        var producer: KafkaProducer?
        do {
            if !reading {
                let settings = try RelayConfiguration.loadKafka(environment: environment, configPath: configPath)
                producer = try KafkaProducer(
                    configuration: KafkaProducerConfiguration(
                        bootstrapServers: settings.bootstrapServers,
                        properties: settings.properties,
                        // A buffered record is as large as any body a relay was configured to accept.
                        largestValue: KafkaProducerConfiguration.largestMessageMaxBytes
                    ),
                    logger: logger,
                    tokenProvider: settings.tokenProvider(environment: environment)
                )
            }
            let result = try await body(BufferOperations(buffer: buffer, publisher: producer, logger: logger))
            await producer?.shutdown()
            await buffer.close()
            return result
        } catch {
            await producer?.shutdown()
            await buffer.close()
            throw error
        }
    }

    private static func explain(_ error: any Error, path: String) -> any Error {
        if case BufferError.io(let failure) = error, failure.operation == "owner" {
            return Failure(
                description:
                    "the buffer at \(path) belongs to another user; run the command as that user (e.g. sudo -u), "
                    + "since files planted in it could redirect this process's writes"
            )
        }
        guard case BufferError.locked(_, let holder) = error else { return error }
        let pid = holder.map { " (pid \($0))" } ?? ""
        return Failure(
            description:
                "the buffer at \(path) is in use by a running relay\(pid); leave out --path to go through its admin API, or stop it first"
        )
    }

    // MARK: Admin API

    private func call<Response: Decodable>(
        _ method: String,
        _ path: String,
        query: [URLQueryItem] = [],
        body: (some Encodable)? = Optional<AdminAPI.Problem>.none
    ) async throws -> Response {
        guard case .adminAPI(let host, let port, let token) = target else { preconditionFailure("not an API target") }
        var components = URLComponents()
        components.path = path
        components.queryItems = query.isEmpty ? nil : query
        var headers: [(String, String)] = [("accept", "application/json")]
        if let token { headers.append(("authorization", "Bearer \(token)")) }
        var bytes: [UInt8] = []
        if let body {
            bytes = AdminAPI.encode(body)
            headers.append(("content-type", "application/json"))
        }
        let answer: HTTPAnswer
        do {
            answer = try await MinimalHTTPClient.send(
                host: host,
                port: port,
                method: method,
                path: components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? ""),
                headers: headers,
                body: bytes,
                timeout: .seconds(3600)
            )
        } catch {
            throw Failure(
                description: "cannot reach the admin API at \(host):\(port) (\(error)); is the relay running? "
                    + "Set RELAY_ADMIN_HOST and RELAY_ADMIN_PORT, or use --path DIR on a stopped relay's buffer"
            )
        }
        guard answer.status == 200 else {
            let problem = try? JSONDecoder().decode(AdminAPI.Problem.self, from: Data(answer.body))
            if answer.status == 401 {
                throw Failure(
                    description: "the admin API refused the request: set RELAY_ADMIN_TOKEN to the relay's admin token"
                )
            }
            throw Failure(
                description: "the admin API answered \(answer.status): \(problem?.message ?? answer.bodyText)"
            )
        }
        do {
            return try JSONDecoder().decode(Response.self, from: Data(answer.body))
        } catch {
            throw Failure(description: "unexpected answer from the admin API: \(error)")
        }
    }
}
