import Foundation

/// One known-answer vector from `docutray-signatures.json` (computed with Python's hmac module).
public struct SignatureVector: Decodable, Sendable {
    public var event: String
    public var secret: String
    public var webhookURL: String
    public var timestamp: String
    public var deliveryID: String
    public var body: String
    public var headers: [String: String]

    enum CodingKeys: String, CodingKey {
        case event, secret, timestamp, body, headers
        case webhookURL = "webhook_url"
        case deliveryID = "request_id"
    }

    /// The body's bytes.
    public var bodyBytes: [UInt8] { Array(body.utf8) }

    /// The headers as a request would carry them, in a stable order.
    public var headerList: [(String, String)] { headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    /// All vectors of the fixture.
    public static func all() throws -> [SignatureVector] {
        guard let url = Bundle.module.url(forResource: "docutray-signatures", withExtension: "json") else {
            throw CocoaError(.fileNoSuchFile)
        }
        struct File: Decodable { var vectors: [SignatureVector] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).vectors
    }

    /// The instant the vectors were signed (2024-01-15T10:30:00Z).
    public static let signedAt: Int64 = 1_705_314_600
    /// The secret every vector uses.
    public static let secret = "whsec_test_9f8e7d6c5b4a"
    /// The webhook URL every vector signs.
    public static let webhookURL = "https://relay.example.com/webhooks/docutray"
}
