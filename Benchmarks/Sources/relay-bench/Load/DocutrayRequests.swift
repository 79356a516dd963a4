import Foundation
import NIOCore
import Relay
import SenderKit
import Senders

/// Signed Docutray deliveries made on the fly, each with a unique request id (or, for a sender's
/// retries, all with one): the body signature is computed once (the body never changes), the auth
/// signature per request (it covers the id and the timestamp), as a real sender would.
struct DocutrayRequests {
    static let secret = "whsec_benchmark_secret_0123"
    static let path = "/webhooks/docutray"

    let host: String
    let webhookURL: String
    let body: ByteBuffer
    private let bodySignature: String
    private let key = SigningKey(secret: DocutrayRequests.secret)
    private let prefix: String
    private var counter = 0
    private let repeatsOneDelivery: Bool
    private var second: Int64 = 0
    private var secondText = ""

    /// - Parameters:
    ///   - bodySize: the size of the JSON body in bytes (a CONVERSION_COMPLETED with padding).
    ///   - repeatsOneDelivery: every request carries the same request id, as a sender's retries do.
    init(
        host: String,
        port: Int,
        bodySize: Int,
        repeatsOneDelivery: Bool = false,
        runID: String = String(UUID().uuidString.prefix(8))
    ) {
        self.repeatsOneDelivery = repeatsOneDelivery
        self.host = "\(host):\(port)"
        self.webhookURL = "http://\(host):\(port)\(Self.path)"
        let head = #"{"conversion_id":"clm_bench_0001","status":"SUCCESS","data":{"invoiceNumber":"INV-1","pad":""#
        let tail = #""}}"#
        let body = head + String(repeating: "x", count: max(0, bodySize - head.utf8.count - tail.utf8.count)) + tail
        self.body = ByteBuffer(string: body)
        self.bodySignature = HMACSignature.sign(Array(body.utf8), key: SigningKey(secret: Self.secret))
        self.prefix = "req_\(runID)_"
    }

    /// The next request's head (the body is sent after it, unchanged).
    mutating func nextHead() -> ByteBuffer {
        counter += 1
        let now = Int64(Date().timeIntervalSince1970)
        if now != second {
            second = now
            secondText = String(now)
        }
        let requestID = prefix + String(repeatsOneDelivery ? 1 : counter)
        let auth = HMACSignature.sign(
            Array("\(requestID)|\(secondText)|\(webhookURL)|CONVERSION_COMPLETED".utf8),
            key: key
        )
        let head = """
            POST \(Self.path) HTTP/1.1\r
            host: \(host)\r
            content-type: application/json\r
            content-length: \(body.readableBytes)\r
            x-docutray-event: CONVERSION_COMPLETED\r
            x-docutray-request-id: \(requestID)\r
            x-docutray-timestamp: \(secondText)\r
            x-docutray-signature: \(bodySignature)\r
            x-docutray-auth-signature: \(auth)\r
            \r

            """
        return ByteBuffer(string: head)
    }
}
