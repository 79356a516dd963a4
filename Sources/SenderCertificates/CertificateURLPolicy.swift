import Foundation
import SenderKit

/// The URLs a source may fetch a signing certificate from: `https` only, under one of a list of
/// prefixes such as `https://sns.*.amazonaws.com/SimpleNotificationService-`, where `*` stands for
/// exactly one DNS label of the host (a region) and nothing else.
///
/// A URL comes from the request, so it is the attacker's until it matches: it must parse, carry no
/// user, query, fragment or escape, no `.`/`..` segment, and its host and port must equal a
/// prefix's exactly (case aside) and its path start with the prefix's path.
public struct CertificateURLPolicy: Sendable, Hashable {
    /// One allowed prefix, parsed.
    struct Prefix: Sendable, Hashable {
        /// The host's labels, lowercased; `*` matches one label.
        var hostLabels: [String]
        var port: Int?
        var path: String
    }

    let prefixes: [Prefix]
    /// The prefixes as configured, for messages.
    public let texts: [String]

    /// - Throws: the text of the first prefix that is not an `https` URL with a host and a path,
    ///   or whose wildcard is not a whole label.
    public init(prefixes texts: [String]) throws(PrefixError) {
        var prefixes: [Prefix] = []
        for text in texts {
            guard let url = Self.components(text), url.query == nil, url.fragment == nil,
                let host = url.host?.lowercased(), !host.isEmpty
            else { throw PrefixError(prefix: text, reason: "is not an https URL with a host") }
            let labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard labels.allSatisfy({ $0 == "*" || (!$0.isEmpty && !$0.contains("*")) }), labels.last != "*" else {
                throw PrefixError(prefix: text, reason: "may use * only for a whole label of the host, not its last")
            }
            prefixes.append(Prefix(hostLabels: labels, port: url.port, path: url.path.isEmpty ? "/" : url.path))
        }
        self.prefixes = prefixes
        self.texts = texts
    }

    /// Why a configured prefix is refused.
    public struct PrefixError: Error, Sendable {
        public var prefix: String
        public var reason: String
    }

    /// The host (lowercased) and port of `text`, when it is a URL the policy allows.
    /// - Parameter allowingQuery: whether a query may follow the path (Amazon SNS's
    ///   `SubscribeURL`); its escapes are then allowed too.
    /// - Throws: ``WebhookRejection/untrustedCertificate(reason:)`` saying why not.
    public func check(_ text: String, allowingQuery: Bool = false) throws(WebhookRejection) -> (host: String, port: Int)
    {
        let shown = String(text.prefix(200))
        guard text.utf8.count <= 2048, let url = Self.components(text), let host = url.host?.lowercased(),
            url.user == nil, url.password == nil, allowingQuery || url.query == nil, url.fragment == nil
        else {
            throw .untrustedCertificate(reason: "URL \(shown) is not an https URL without user, query or fragment")
        }
        let path = url.path
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let beforeQuery = text.split(separator: "?", maxSplits: 1).first ?? ""
        guard !beforeQuery.contains("%"), !text.contains("\\"), !segments.contains(where: { $0 == "." || $0 == ".." })
        else {
            throw .untrustedCertificate(reason: "URL \(shown) has escapes or dot segments")
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let allowed = prefixes.contains { prefix in
            prefix.port == url.port && path.hasPrefix(prefix.path) && labels.count == prefix.hostLabels.count
                && zip(labels, prefix.hostLabels).allSatisfy { label, allowed in
                    allowed == "*" ? Self.isLabel(label) : label == allowed
                }
        }
        guard allowed else {
            throw .untrustedCertificate(
                reason: "URL \(shown) is not under the source's certificate_urls (\(texts.joined(separator: ", ")))"
            )
        }
        return (host, url.port ?? 443)
    }

    private static func components(_ text: String) -> URLComponents? {
        guard let url = URLComponents(string: text), url.scheme?.lowercased() == "https" else { return nil }
        return url
    }

    /// A DNS label a wildcard may stand for: 1 to 63 letters, digits and inner hyphens.
    private static func isLabel(_ label: Substring) -> Bool {
        (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
            && label.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
            }
    }
}
