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
    private var scanned: Result<[String?], JSONScanError>?

    /// - Parameter pointers: every field that may be asked for.
    public init(body: [UInt8], capturing pointers: [JSONPointer]) {
        self.body = body
        self.pointers = pointers
    }

    /// The text of the string or number at `pointer`, or `nil` when the body has no such member
    /// (or has another kind of value there).
    /// - Throws: ``WebhookRejection/invalidBody(_:)`` when the body is not one JSON object.
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

    /// Every captured value, in the order of the pointers given at creation.
    public func values() throws(WebhookRejection) -> [String?] {
        let result =
            scanned ?? Result { () throws(JSONScanError) in try JSONScanner.scan(body, capturing: pointers) }
        scanned = result
        switch result {
        case .success(let values): return values
        case .failure(let error): throw .invalidBody(error)
        }
    }
}
