import SenderKit

extension WebhookScheme {
    /// The headers the sender would put on `delivery`: every scheme the tests configure can sign
    /// (``WebhookSigner``); one that cannot is an error naming it.
    public func signedHeaders(_ delivery: OutgoingDelivery) throws -> [(name: String, value: String)] {
        guard let signer = self as? any WebhookSigner else { throw SigningError("\(Self.self) cannot sign") }
        return try signer.sign(delivery)
    }
}
