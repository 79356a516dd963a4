import Foundation
import HTTPTypes
import SenderKit

/// GitHub webhooks: `X-Hub-Signature-256: sha256=<hex>` over the raw body, keyed with the UTF-8 of
/// the secret. The legacy SHA-1 `X-Hub-Signature` is never accepted. GitHub signs no time, so the
/// dedup window on `X-GitHub-Delivery` alone stops replays.
public struct GitHubScheme: CataloguedScheme, WebhookSigner {
    /// CloudEvents types are `com.github.<event type>`.
    public static let cloudEventTypePrefix = "com.github"

    /// The header names GitHub sends.
    public enum Header {
        public static let signature = HTTPField.Name("x-hub-signature-256")!
        public static let legacySignature = HTTPField.Name("x-hub-signature")!
        public static let event = HTTPField.Name("x-github-event")!
        public static let delivery = HTTPField.Name("x-github-delivery")!
        public static let hookID = HTTPField.Name("x-github-hook-id")!
        public static let targetID = HTTPField.Name("x-github-hook-installation-target-id")!
        public static let targetType = HTTPField.Name("x-github-hook-installation-target-type")!
    }

    /// The body field that completes the event type (`pull_request` + `opened`).
    public static let actionField: JSONPointer = "/action"
    /// The Kafka key: every event of one repository stays in order on one partition.
    public static let keyField: JSONPointer = "/repository/full_name"

    /// Events GitHub commonly sends (with their usual actions); others are published just as well.
    public static let catalogue: Set<String> = [
        "ping", "push", "create", "delete", "fork", "star.created", "star.deleted", "watch.started",
        "pull_request.opened", "pull_request.closed", "pull_request.reopened", "pull_request.synchronize",
        "pull_request.edited", "pull_request.labeled", "pull_request.ready_for_review",
        "pull_request_review.submitted", "pull_request_review_comment.created",
        "issues.opened", "issues.closed", "issues.reopened", "issues.edited", "issues.labeled",
        "issue_comment.created", "issue_comment.edited", "release.published", "release.created",
        "workflow_run.requested", "workflow_run.completed", "workflow_job.queued", "workflow_job.completed",
        "check_suite.completed", "check_run.completed", "deployment_status.created", "installation.created",
        "installation.deleted", "repository.created", "repository.deleted", "member.added",
    ]

    /// Every event GitHub documents (the `X-GitHub-Event` values). The header is not signed, so a
    /// name outside this list is published to the source's overflow topic, not a topic of its own;
    /// any action (read from the signed body) of a listed event is known.
    public static let eventNames: Set<String> = [
        "branch_protection_configuration", "branch_protection_rule", "check_run", "check_suite",
        "code_scanning_alert", "commit_comment", "create", "custom_property", "custom_property_values", "delete",
        "dependabot_alert", "deploy_key", "deployment", "deployment_protection_rule", "deployment_review",
        "deployment_status", "discussion", "discussion_comment", "fork", "github_app_authorization", "gollum",
        "installation", "installation_repositories", "installation_target", "issue_comment", "issue_dependencies",
        "issues", "label", "marketplace_purchase", "member", "membership", "merge_group", "meta", "milestone",
        "org_block", "organization", "package", "page_build", "personal_access_token_request", "ping", "project",
        "project_card", "project_column", "projects_v2", "projects_v2_item", "projects_v2_status_update", "public",
        "pull_request", "pull_request_review", "pull_request_review_comment", "pull_request_review_thread", "push",
        "registry_package", "release", "repository", "repository_advisory", "repository_dispatch",
        "repository_import", "repository_ruleset", "repository_vulnerability_alert", "secret_scanning_alert",
        "secret_scanning_alert_location", "secret_scanning_scan", "security_advisory", "security_and_analysis",
        "sponsorship", "star", "status", "sub_issues", "team", "team_add", "watch", "workflow_dispatch",
        "workflow_job", "workflow_run",
    ]

    private let keys: [SigningKey]
    private let secrets: [String]

    public init(secrets: [String]) {
        self.keys = secrets.map(SigningKey.init(secret:))
        self.secrets = secrets
    }

    public func verify(
        _ request: WebhookRequest,
        now: Date,
        fields: BodyFields
    ) throws(WebhookRejection) -> VerifiedWebhook {
        let name = Header.signature.canonicalName
        guard let signature = try request.headers.single(Header.signature) else {
            let legacy = request.headers[Header.legacySignature] != nil
            throw legacy
                ? .badSignature(header: name, reason: "is missing; the SHA-1 X-Hub-Signature is not accepted")
                : .missingSignature(header: name)
        }
        guard HMACSignature.isWellFormed(signature) else {
            throw .badSignature(header: name, reason: "is not 'sha256=' followed by 64 hex digits")
        }
        let matched = request.body.withUnsafeBytes { HMACSignature.matches(signature, message: $0, keys: keys) }
        guard matched else { throw .badSignature(header: name, reason: "does not match under any active secret") }
        let event = try request.headers.required(Header.event)
        guard Self.isName(event) else {
            throw .invalidHeader(Header.event.canonicalName, reason: "must be 1 to 60 characters of a-z, 0-9 and '_'")
        }
        let delivery = try request.headers.required(Header.delivery)
        guard DeliveryID.isValid(delivery) else {
            throw .invalidHeader(Header.delivery.canonicalName, reason: DeliveryID.rule)
        }
        var eventType = event
        if let action = try fields.value(at: Self.actionField) {
            guard Self.isName(action) else {
                throw .invalidField(Self.actionField, reason: "must be 1 to 60 characters of a-z, 0-9 and '_'")
            }
            eventType += "." + action
        }
        return VerifiedWebhook(
            eventType: eventType,
            deliveryID: delivery,
            signedAt: nil,
            checks: ["signature"],
            forwardedHeaders: request.headers.forwarded([
                Header.event, Header.delivery, Header.hookID, Header.targetID, Header.targetType, Header.signature,
            ])
        )
    }

    /// GitHub's event and action names: lowercase words joined by `_`.
    static func isName(_ text: String) -> Bool {
        let utf8 = text.utf8
        return (1...60).contains(utf8.count)
            && utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") }
    }

    public var bodyFields: [JSONPointer] { [Self.actionField] }

    /// Any action of an event GitHub documents (the name before the action).
    public static func documents(_ eventType: String) -> Bool {
        eventNames.contains(eventType.split(separator: ".", maxSplits: 1).first.map(String.init) ?? eventType)
    }

    /// The body only: `X-GitHub-Event` and `X-GitHub-Delivery` are not signed (the action that
    /// completes the event type is read from the signed body).
    public var signedParts: SignedParts { .body }

    public var loggedHeaders: LoggedHeaders {
        LoggedHeaders(deliveryID: [Header.delivery], eventType: [Header.event])
    }

    public var mediaTypeHint: String? {
        "in the webhook's settings on GitHub, set Content type to application/json"
    }

    public func sign(_ delivery: OutgoingDelivery) throws(SigningError) -> [(name: String, value: String)] {
        guard let event = delivery.eventType?.split(separator: ".").first.map(String.init), Self.isName(event) else {
            throw SigningError("GitHub names the event in X-GitHub-Event: pass --event, e.g. push or pull_request")
        }
        guard let secret = secrets.first else { throw SigningError("no secret is configured") }
        return [
            ("content-type", "application/json"),
            ("user-agent", "GitHub-Hookshot/webhook-relay-sign"),
            (Header.event.canonicalName, event),
            (Header.delivery.canonicalName, delivery.deliveryID ?? UUID().uuidString.lowercased()),
            (Header.signature.canonicalName, HMACSignature.sign(delivery.body, key: SigningKey(secret: secret))),
        ]
    }
}
