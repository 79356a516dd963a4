/// The body's fields a scheme and the pipeline need, read in one validating pass over the body
/// when first asked for, so that a scheme reads the body only after its signature has passed.
///
/// A field not named at creation is added to the pass when the body has not been scanned yet, and
/// costs a second pass when it has.
///
/// Not `Sendable`: one value serves one request, on one task.
public final class BodyFields {
    private let body: [UInt8]
    private var pointers: [JSONPointer]
    private let shape: JSONShape
    private let arrayPointer: JSONPointer?
    private var scanned: Result<JSONScanner.Document, JSONScanError>?

    /// - Parameters:
    ///   - pointers: every field that may be asked for.
    ///   - shape: the document the body must be.
    ///   - arrayPointer: the array whose elements ``elements()`` gives, for a batch inside an
    ///     object (Adyen's `/notificationItems`); a body that is an array gives its own.
    public init(
        body: [UInt8],
        capturing pointers: [JSONPointer],
        shape: JSONShape = .object,
        elementsAt arrayPointer: JSONPointer? = nil
    ) {
        self.body = body
        self.pointers = pointers
        self.shape = shape
        self.arrayPointer = arrayPointer
    }

    /// The text of the string or number at `pointer`, or `nil` when the body has no such member
    /// (or has another kind of value there).
    /// - Throws: ``WebhookRejection/invalidBody(_:)`` when the body is not the JSON document expected.
    public func value(at pointer: JSONPointer) throws(WebhookRejection) -> String? {
        guard let index = pointers.firstIndex(of: pointer) else {
            pointers.append(pointer)
            if case .success = scanned { scanned = nil }
            return try values()[pointers.count - 1]
        }
        return try values()[index]
    }

    /// The string at `pointer`, which must be there.
    /// - Throws: ``WebhookRejection/invalidField(_:reason:)`` when it is absent.
    public func required(_ pointer: JSONPointer) throws(WebhookRejection) -> String {
        guard let value = try value(at: pointer), !value.isEmpty else {
            throw .invalidField(pointer, reason: "is missing from the body")
        }
        return value
    }

    /// The event type at `pointer`, which must be there and follow ``EventName``'s rule.
    /// - Throws: ``WebhookRejection/invalidField(_:reason:)`` naming `pointer`.
    public func eventType(at pointer: JSONPointer) throws(WebhookRejection) -> String {
        let type = try required(pointer)
        guard EventName.isValid(type) else { throw .invalidField(pointer, reason: EventName.rule) }
        return type
    }

    /// The delivery id at `pointer`, which must be there and follow ``DeliveryID``'s rule.
    /// - Throws: ``WebhookRejection/invalidField(_:reason:)`` naming `pointer`.
    public func deliveryID(at pointer: JSONPointer) throws(WebhookRejection) -> String {
        let id = try required(pointer)
        guard DeliveryID.isValid(id) else { throw .invalidField(pointer, reason: DeliveryID.rule) }
        return id
    }

    /// Every captured value, in the order of the pointers given at creation.
    public func values() throws(WebhookRejection) -> [String?] {
        try document().values
    }

    /// The elements of the body's array (see ``init(body:capturing:shape:elementsAt:)``), each
    /// exactly as sent.
    public func elements() throws(WebhookRejection) -> [ArraySlice<UInt8>] {
        try document().elements.map { body[$0] }
    }

    private func document() throws(WebhookRejection) -> JSONScanner.Document {
        let result =
            scanned
            ?? Result { () throws(JSONScanError) in
                try JSONScanner.scan(body, capturing: pointers, shape: shape, elementsAt: arrayPointer)
            }
        scanned = result
        switch result {
        case .success(let document): return document
        case .failure(let error): throw .invalidBody(error)
        }
    }
}
