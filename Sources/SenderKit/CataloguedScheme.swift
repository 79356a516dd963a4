/// A scheme whose event types are dotted (or slashed) names with a catalogue of the common ones and
/// one key field: ``WebhookScheme/describe(eventType:)`` and ``WebhookScheme/knownEventTypes``
/// follow from three declarations.
public protocol CataloguedScheme: WebhookScheme {
    /// The CloudEvents type prefix, e.g. `com.github` (`com.github.pull_request.opened`).
    static var cloudEventTypePrefix: String { get }
    /// The body field whose value keys the event on Kafka.
    static var keyField: JSONPointer { get }
    /// Event types the sender commonly sends; others are published just as well.
    static var catalogue: Set<String> { get }
}

extension CataloguedScheme {
    public func describe(eventType: String) -> EventDescriptor {
        EventName.describe(
            eventType,
            cloudEventTypePrefix: Self.cloudEventTypePrefix,
            keyField: Self.keyField,
            isKnown: Self.catalogue.contains(eventType)
        )
    }

    public var knownEventTypes: [String] { Self.catalogue.sorted() }
}
