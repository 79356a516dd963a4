import Foundation
import Relay
import SenderKit

/// A delivery signed as its sender signs it, printed as a ready-to-run curl command or as header
/// lines (`webhook-relay sign`). Lets a user test a deployment end to end.
public struct SignedRequest: Sendable {
    /// How to print the request.
    public enum Format: String, Sendable, CaseIterable {
        /// A curl command that sends it.
        case curl
        /// One `name: value` line per header.
        case headers
    }

    /// Where the body comes from in the printed command.
    public enum BodySource: Sendable {
        /// A file curl reads itself (`--data-binary @FILE`), so the bytes are sent unchanged.
        case file(path: String)
        /// Inline text (the body came from standard input).
        case inline
    }

    public var targetURL: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var bodySource: BodySource

    /// Signs `delivery` with the first secret of `signer`.
    /// - Parameter targetURL: where to send it (the command's default: the URL the signer signs, if any).
    public init(
        _ delivery: OutgoingDelivery,
        bodySource: BodySource,
        signer: any WebhookSigner,
        targetURL: String
    ) throws(SigningError) {
        var delivery = delivery
        let stamped = signer.stamped(delivery)
        let changed = stamped != delivery.body
        delivery.body = stamped
        self.targetURL = targetURL
        self.headers = try signer.sign(delivery)
        self.body = stamped
        // A body the sender stamps with the time is no longer the file's bytes.
        self.bodySource = changed ? .inline : bodySource
    }

    /// The request printed in `format`.
    public func rendered(as format: Format) -> String {
        switch format {
        case .headers:
            return headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n"
        case .curl:
            var lines = ["curl -sS -X POST \(Self.shellQuoted(targetURL))"]
            lines += headers.map { "  -H \(Self.shellQuoted("\($0.name): \($0.value)"))" }
            switch bodySource {
            case .file(let path): lines.append("  --data-binary @\(Self.shellQuoted(path))")
            case .inline: lines.append("  --data-binary \(Self.shellQuoted(String(decoding: body, as: UTF8.self)))")
            }
            return lines.joined(separator: " \\\n") + "\n"
        }
    }

    /// `text` in single quotes, safe to paste into a POSIX shell.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
