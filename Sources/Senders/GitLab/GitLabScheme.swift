import Crypto
import Foundation
import HTTPTypes
import RelayPrimitives
import SenderKit

/// GitLab webhooks (project, group and system hooks). GitLab signs nothing: it sends the hook's
/// secret token itself in `X-Gitlab-Token`, compared here in constant time. The token therefore
/// authenticates the whole request, and it is the secret: it is never forwarded to Kafka, logged,
/// buffered, archived or shown, unlike a signature. Whoever learns it can forge any delivery.
public struct GitLabScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.gitlab.<event>`.
    public static let cloudEventTypePrefix = "com.gitlab"

    /// The header names GitLab sends.
    public enum Header {
        public static let token = HTTPField.Name("x-gitlab-token")!
        public static let event = HTTPField.Name("x-gitlab-event")!
        public static let eventUUID = HTTPField.Name("x-gitlab-event-uuid")!
        public static let webhookUUID = HTTPField.Name("x-gitlab-webhook-uuid")!
        public static let instance = HTTPField.Name("x-gitlab-instance")!
        public static let idempotencyKey = HTTPField.Name("idempotency-key")!
    }

    /// The body field that completes the event type (`merge_request` + `open`).
    public static let actionField: JSONPointer = "/object_attributes/action"
    /// The Kafka key: one project's events stay in order on one partition.
    public static let keyField: JSONPointer = "/project/id"

    /// The `X-Gitlab-Event` values GitLab documents, as event types (`Merge Request Hook` is
    /// `merge_request`).
    public static let eventNames: Set<String> = [
        "push", "tag_push", "issue", "confidential_issue", "note", "confidential_note", "merge_request",
        "wiki_page", "pipeline", "job", "deployment", "feature_flag", "release", "emoji", "resource_access_token",
        "member", "project", "subgroup", "vulnerability", "system", "milestone",
    ]

    /// Events with their usual actions; others are published just as well.
    public static let catalogue: Set<String> = eventNames.union([
        "merge_request.open", "merge_request.update", "merge_request.merge", "merge_request.close",
        "merge_request.reopen", "merge_request.approved", "issue.open", "issue.update", "issue.close",
        "issue.reopen",
    ])

    /// SHA-256 of each token: compared digest to digest, so neither a token's length nor its
    /// content shows in the time a comparison takes.
    private let tokenDigests: [[UInt8]]
    private let firstToken: String?

    public init(secrets: [String]) {
        self.tokenDigests = secrets.map { Array(SHA256.hash(data: Array($0.utf8))) }
        self.firstToken = secrets.first
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = Header.token.canonicalName
        guard let token = try request.headers.single(Header.token) else { throw .missingSignature(header: name) }
        let presented = Array(SHA256.hash(data: Array(token.utf8)))
        var matched = false
        for digest in tokenDigests { matched = ConstantTime.equals(presented, digest) || matched }
        guard matched else { throw .badSignature(header: name, reason: "does not match any active secret token") }
        let event = try Self.eventType(ofHeader: try request.headers.required(Header.event))
        let eventType = try fields.value(at: Self.actionField).map { "\(event).\($0)" } ?? event
        guard EventName.isValid(eventType) else {
            throw .invalidField(Self.actionField, reason: EventName.rule)
        }
        let id = try request.headers.required(Header.eventUUID)
        guard DeliveryID.isValid(id) else {
            throw .invalidHeader(Header.eventUUID.canonicalName, reason: DeliveryID.rule)
        }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: id,
            signedAt: nil,
            checks: ["token"],
            forwardedHeaders: request.headers.forwarded([
                Header.event, Header.eventUUID, Header.webhookUUID, Header.instance, Header.idempotencyKey,
            ])
        )
    }

    /// `Merge Request Hook` → `merge_request`: lowercased, ` Hook` dropped, spaces as `_`.
    static func eventType(ofHeader header: String) throws(WebhookRejection) -> String {
        var name = Substring(header.lowercased())
        if name.hasSuffix(" hook") { name = name.dropLast(5) }
        let type = name.replacingOccurrences(of: " ", with: "_")
        guard EventName.isValid(type) else {
            throw .invalidHeader(Header.event.canonicalName, reason: "must be a GitLab hook name such as 'Push Hook'")
        }
        return type
    }

    public static func documents(_ eventType: String) -> Bool {
        eventNames.contains(String(eventType.prefix { $0 != "." }))
    }

    public var bodyFields: [JSONPointer] { [Self.actionField] }

    /// Nothing is signed. The token authenticates the request, so the id and type GitLab sends are
    /// taken as authentic (a topic reader never sees the token and cannot re-send); the body is not
    /// bound to anything.
    public var signedParts: SignedParts { [.deliveryID, .eventType] }

    public var loggedHeaders: LoggedHeaders { LoggedHeaders(deliveryID: [Header.eventUUID], eventType: [Header.event]) }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let firstToken else { throw SigningError("no secret is configured") }
        guard let event = delivery.eventType else { throw SigningError("GitLab needs --event, e.g. 'Push Hook'") }
        let id = delivery.deliveryID(orNew: "")
        return [
            ("content-type", "application/json"),
            ("user-agent", "GitLab/18.6.0"),
            (Header.event.canonicalName, event),
            (Header.eventUUID.canonicalName, id),
            (Header.webhookUUID.canonicalName, "3b6fe4a1-7c2e-4f0a-9d8b-5e1c2a3f4b6d"),
            (Header.instance.canonicalName, "https://gitlab.example.com"),
            (Header.idempotencyKey.canonicalName, id),
            (Header.token.canonicalName, firstToken),
        ]
    }
}
