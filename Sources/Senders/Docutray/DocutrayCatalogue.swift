import SenderKit

/// Docutray's event catalogue: families, their actions, and the body field that identifies the
/// document (the Kafka key, so all events of one document stay in order on one partition).
enum DocutrayCatalogue {
    /// The CloudEvents type prefix for Docutray events.
    static let typePrefix = "com.docutray"

    /// Known families and their id fields.
    static let keyFields: [String: String] = [
        "conversion": "conversion_id",
        "identification": "identification_id",
        "step": "step_execution_id",
    ]

    /// Known actions of every family.
    static let actions: Set<String> = ["started", "completed", "failed"]

    /// Every event type of the catalogue, e.g. `CONVERSION_STARTED`.
    static let knownEventTypes: [String] = keyFields.keys.sorted().flatMap { family in
        actions.sorted().map { "\(family)_\($0)".uppercased() }
    }

    /// Describes any event type. Unknown types split at their last underscore (`DOCUMENT_ARCHIVED` →
    /// family `document`, action `archived`, key field `document_id`); a type without an underscore
    /// gets family `other` and no key field.
    static func describe(_ eventType: String) -> EventDescriptor {
        let lowered = eventType.lowercased()
        let family: String
        let action: String
        if let split = lowered.lastIndex(of: "_"), split != lowered.startIndex,
            lowered.index(after: split) != lowered.endIndex
        {
            family = String(lowered[..<split])
            action = String(lowered[lowered.index(after: split)...])
        } else {
            family = "other"
            action = lowered
        }
        let knownKeyField = keyFields[family]
        let isKnown = knownKeyField != nil && actions.contains(action)
        let keyField = knownKeyField ?? (family == "other" ? nil : "\(family)_id")
        return EventDescriptor(
            eventType: eventType,
            family: family,
            action: action,
            topicName: lowered,
            cloudEventType: "\(typePrefix).\(family).\(action)",
            keyField: keyField.map { JSONPointer(member: $0) },
            isKnown: isKnown
        )
    }
}
