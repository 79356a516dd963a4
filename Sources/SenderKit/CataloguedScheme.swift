/// A scheme whose event types are dotted (or slashed) names with a catalogue of the common ones and
/// one key field: ``WebhookScheme/describe(eventType:)`` and ``WebhookScheme/knownEventTypes``
/// follow from three declarations.
public protocol CataloguedScheme: WebhookScheme {
    /// The CloudEvents type prefix, e.g. `com.github` (`com.github.pull_request.opened`).
    static var cloudEventTypePrefix: String { get }
    /// The body field whose value keys the event on Kafka.
    static var keyField: JSONPointer { get }
    /// Event types the sender commonly sends (their topics are looked up at start).
    static var catalogue: Set<String> { get }
    /// Whether the sender documents `eventType` (``EventDescriptor/isKnown``); where the type is not
    /// signed, an undocumented one goes to the source's overflow topic. The catalogue by default.
    static func documents(_ eventType: String) -> Bool
}

extension CataloguedScheme {
    public static func documents(_ eventType: String) -> Bool { catalogue.contains(eventType) }

    public func describe(eventType: String) -> EventDescriptor {
        EventName.describe(
            eventType,
            cloudEventTypePrefix: Self.cloudEventTypePrefix,
            keyField: Self.keyField,
            isKnown: Self.documents(eventType)
        )
    }

    public var knownEventTypes: [String] { Self.catalogue.sorted() }
}
