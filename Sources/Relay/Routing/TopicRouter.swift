import SenderKit

/// Chooses the Kafka topic of each event: an explicit per-event-type override, else a template.
///
/// Template placeholders: `{source}` (relay source name), `{family}` and `{action}` (the event type's
/// parts, as its sender splits it), `{event}` (the whole event type in topic-name characters). Each
/// sender has a default template: `{source}.{event}` gives `github.pull_request.opened`.
public struct TopicRouter: Sendable, Hashable {
    /// A topic template that fits every sender.
    public static let defaultTemplate = "{source}.{event}"

    private enum Segment: Hashable {
        case literal(String)
        case source, family, action, event
    }

    private let segments: [Segment]
    private let overrides: [String: String]

    /// - Throws: ``TopicRouter/TemplateError`` for an unknown placeholder, an unclosed brace, or a
    ///   literal or override that is not a valid Kafka topic name.
    public init(template: String = Self.defaultTemplate, overrides: [String: String] = [:]) throws(TemplateError) {
        var segments: [Segment] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { segments.append(.literal(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw TemplateError("unclosed '{' in '\(template)'")
            }
            switch rest[rest.index(after: open)..<close] {
            case "source": segments.append(.source)
            case "family": segments.append(.family)
            case "action": segments.append(.action)
            case "event": segments.append(.event)
            case let other:
                throw TemplateError("unknown placeholder '{\(other)}' (use {source}, {family}, {action} or {event})")
            }
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { segments.append(.literal(String(rest))) }
        guard !segments.isEmpty else { throw TemplateError("the topic template is empty") }
        for case .literal(let text) in segments where !text.utf8.allSatisfy(Self.isTopicCharacter) {
            throw TemplateError("'\(text)' may only contain letters, digits, '.', '_' and '-'")
        }
        for (eventType, topic) in overrides {
            if let problem = Self.problem(withTopicName: topic) {
                throw TemplateError("topic '\(topic)' for \(eventType) \(problem)")
            }
        }
        self.segments = segments
        self.overrides = overrides
    }

    /// The topic for an event of `source` described by `descriptor`.
    public func topic(source: String, descriptor: EventDescriptor) -> String {
        if let override = overrides[descriptor.eventType] { return override }
        var topic = ""
        for segment in segments {
            switch segment {
            case .literal(let text): topic += text
            case .source: topic += source
            case .family: topic += descriptor.family
            case .action: topic += descriptor.action
            case .event: topic += descriptor.topicName
            }
        }
        return topic
    }

    /// Whether the source's `topics:` names `eventType`.
    public func overrides(_ eventType: String) -> Bool { overrides[eventType] != nil }

    /// Why `name` is not a legal Kafka topic name, or `nil` if it is.
    public static func problem(withTopicName name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 249 { return "is longer than 249 characters" }
        if name == "." || name == ".." { return "may not be '.' or '..'" }
        if !name.utf8.allSatisfy(isTopicCharacter) { return "may only contain letters, digits, '.', '_' and '-'" }
        return nil
    }

    private static func isTopicCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// A topic template or override that cannot produce valid topic names.
    public struct TemplateError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}
