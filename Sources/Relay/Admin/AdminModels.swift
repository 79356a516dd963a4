import Foundation

/// The admin API's JSON documents. The CLI prints the same documents with `--json`, whether it
/// talks to a running relay or reads a stopped relay's buffer, so scripts see one stable shape.
public enum AdminAPI {
    /// `GET /admin/buffer`, `buffer status --json`.
    public struct Status: Codable, Sendable, Hashable {
        public var pending: Int
        public var dead: Int
        public var archived: Int
        public var inFlight: Int
        public var pendingBytes: Int
        public var deadBytes: Int
        public var archivedBytes: Int
        public var totalBytes: Int
        public var segments: Int
        public var oldestPendingAgeSeconds: Double?
        public var corruptRanges: Int
        public var path: String

        enum CodingKeys: String, CodingKey {
            case pending, dead, archived, segments, path
            case inFlight = "in_flight"
            case pendingBytes = "pending_bytes"
            case deadBytes = "dead_bytes"
            case archivedBytes = "archived_bytes"
            case totalBytes = "total_bytes"
            case oldestPendingAgeSeconds = "oldest_pending_age_seconds"
            case corruptRanges = "corrupt_ranges"
        }
    }

    /// One record in a listing.
    public struct Record: Codable, Sendable, Hashable {
        public var id: UInt64
        /// `pending`, `dead`, `archived` (delivered) or `dead-lettered` (archived after going to the
        /// dead-letter topic).
        public var state: String
        public var source: String
        public var deliveryID: String
        public var eventType: String
        public var topic: String
        public var key: String?
        public var receivedAt: String
        public var attempts: UInt32
        public var reason: String?
        public var size: Int
        /// With `body=true` (and for a single record): the Kafka headers and the body.
        public var headers: [Header]?
        public var body: String?

        enum CodingKeys: String, CodingKey {
            case id, state, source, topic, key, attempts, reason, size, headers, body
            case deliveryID = "request_id"
            case eventType = "event_type"
            case receivedAt = "received_at"
        }
    }

    public struct Header: Codable, Sendable, Hashable {
        public var name: String
        public var value: String?
    }

    /// `GET /admin/buffer/records`: one page; `next` is the cursor for the following page.
    public struct RecordPage: Codable, Sendable, Hashable {
        public var records: [Record]
        public var next: UInt64?
    }

    /// `POST /admin/replay`.
    public struct ReplayRequest: Codable, Sendable, Hashable {
        public var filter: RecordFilter
        /// Publish to this topic instead of each record's own (a copy: states do not change).
        public var topic: String?
        public var dryRun: Bool
        /// Only records after this id (paging a long replay).
        public var after: UInt64?
        public var limit: Int?

        enum CodingKeys: String, CodingKey {
            case filter, topic, after, limit
            case dryRun = "dry_run"
        }

        public init(filter: RecordFilter, topic: String?, dryRun: Bool, after: UInt64? = nil, limit: Int? = nil) {
            self.filter = filter
            self.topic = topic
            self.dryRun = dryRun
            self.after = after
            self.limit = limit
        }
    }

    /// The answer to a replay. A dry run fills only `matched`.
    public struct ReplayResult: Codable, Sendable, Hashable {
        public var matched: Int
        public var replayed: Int?
        public var failed: Int?
        /// Pending records the retrier was publishing at that moment.
        public var skipped: Int?
        /// The id of the last record considered, to continue with `after`.
        public var last: UInt64?

        package init(matched: Int, replayed: Int? = nil, failed: Int? = nil, skipped: Int? = nil, last: UInt64? = nil) {
            self.matched = matched
            self.replayed = replayed
            self.failed = failed
            self.skipped = skipped
            self.last = last
        }
    }

    /// `GET /admin/buffer/check`, `buffer check --json`.
    public struct CheckReport: Codable, Sendable, Hashable {
        public struct Damage: Codable, Sendable, Hashable {
            public var file: String
            public var offset: Int
            public var length: Int
            public var kind: String
        }

        public var clean: Bool
        public var segments: Int
        public var records: Int
        public var stateEntries: Int
        public var damage: [Damage]
        public var quarantined: [String]

        enum CodingKeys: String, CodingKey {
            case clean, segments, records, damage, quarantined
            case stateEntries = "state_entries"
        }
    }

    /// Any error of the admin API: the same `{"error", "message"}` shape as the ingress.
    public struct Problem: Codable, Sendable, Hashable {
        public var error: String
        public var message: String
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// `value` as compact JSON with sorted keys.
    /// `GET /admin/overview`: what the console's overview shows.
    public struct Overview: Codable, Sendable, Hashable {
        public var version: String
        public var librdkafkaVersion: String
        public var uptimeSeconds: Int64
        /// `reachable`, `unreachable` or `unknown`.
        public var kafka: String
        public var ready: Bool
        public var buffer: Status
        public var activity: ActivityLog.Series

        enum CodingKeys: String, CodingKey {
            case version, kafka, ready, buffer, activity
            case librdkafkaVersion = "librdkafka_version"
            case uptimeSeconds = "uptime_seconds"
        }
    }

    /// `GET /admin/events`: the most recent accepted deliveries, newest first.
    public struct Events: Codable, Sendable, Hashable {
        public var events: [ActivityLog.Event]
    }

    public static func encode(_ value: some Encodable) -> [UInt8] {
        (try? Array(encoder.encode(value))) ?? Array(#"{"error":"internal_error","message":"encoding failed"}"#.utf8)
    }
}
