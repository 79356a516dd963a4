import Foundation
import RelayPrimitives
import RetryBuffer

/// Which buffered records an inspect, export or replay is about. Every criterion is optional; a
/// record matches when it meets all that are set.
public struct RecordFilter: Codable, Sendable, Hashable {
    /// The states an operator names: `archived` covers delivered and dead-lettered records.
    public enum State: String, Codable, Sendable, CaseIterable {
        case pending
        case dead
        case archived

        func contains(_ state: RecordState) -> Bool {
            switch self {
            case .pending: state == .pending
            case .dead: state == .dead
            case .archived: state.isSettled
            }
        }
    }

    public var state: State?
    public var source: String?
    public var eventType: String?
    public var deliveryID: String?
    /// Received at or after (Unix milliseconds).
    public var since: Int64?
    /// Received before (Unix milliseconds).
    public var until: Int64?

    enum CodingKeys: String, CodingKey {
        case state, source, since, until
        case eventType = "event_type"
        case deliveryID = "request_id"
    }

    public init(
        state: State? = nil,
        source: String? = nil,
        eventType: String? = nil,
        deliveryID: String? = nil,
        since: Int64? = nil,
        until: Int64? = nil
    ) {
        self.state = state
        self.source = source
        self.eventType = eventType
        self.deliveryID = deliveryID
        self.since = since
        self.until = until
    }

    /// Whether the filter says nothing but (perhaps) a state, so the index's counts answer it.
    var namesAtMostAState: Bool {
        source == nil && eventType == nil && deliveryID == nil && since == nil && until == nil
    }

    /// Whether `stored` meets every criterion.
    public func matches(_ stored: StoredRecord) -> Bool {
        if let state, !state.contains(stored.state) { return false }
        if let source, stored.record.source != source { return false }
        if let eventType, stored.record.eventType != eventType { return false }
        if let deliveryID, stored.record.deliveryID != deliveryID { return false }
        if let since, stored.record.receivedAt < since { return false }
        if let until, stored.record.receivedAt >= until { return false }
        return true
    }

    /// Parses `--since`/`--until` and their query twins: an RFC 3339 time (`2024-01-15T10:30:00Z`),
    /// or a duration back from `now` (`24h`, `90m`). Returns Unix milliseconds.
    public static func parseTime(_ text: String, now: Date) -> Int64? {
        if let duration = ValueParsers.duration(text), text.last?.isLetter == true {
            return now.unixMilliseconds - duration.milliseconds
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date.unixMilliseconds }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date.unixMilliseconds }
        return nil
    }

    /// The filter as URL query items (for the admin API).
    package var queryItems: [URLQueryItem] {
        var items: [URLQueryItem] = []
        if let state { items.append(URLQueryItem(name: "state", value: state.rawValue)) }
        if let source { items.append(URLQueryItem(name: "source", value: source)) }
        if let eventType { items.append(URLQueryItem(name: "event_type", value: eventType)) }
        if let deliveryID { items.append(URLQueryItem(name: "request_id", value: deliveryID)) }
        if let since { items.append(URLQueryItem(name: "since", value: RFC3339.format(unixMilliseconds: since))) }
        if let until { items.append(URLQueryItem(name: "until", value: RFC3339.format(unixMilliseconds: until))) }
        return items
    }
}
