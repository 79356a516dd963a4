import HTTPTypes

/// One inbound webhook as the scheme sees it: how it was called, its raw headers and its raw body.
public struct WebhookRequest: Sendable {
    /// The HTTP method, e.g. `POST`.
    public var method: String
    /// The URL the sender called, for senders that sign it: the source's configured `public_url`
    /// followed by the query the request came with. Never taken from `Host` or the proxy's
    /// headers, which the sender does not sign; `nil` when the source has no `public_url`.
    public var url: String?
    /// The path the relay was called on, e.g. `/webhooks/square` (behind a proxy it may differ from
    /// the public URL's).
    public var path: String
    /// The query string without its `?`, as it arrived (not decoded); `nil` when there is none.
    public var query: String?
    /// The address of the peer that sent the request (a proxy's, behind one), e.g. `10.0.0.7`;
    /// written out only when a scheme reads it.
    public var peer: String? { peerAddress() }
    private let peerAddress: @Sendable () -> String?
    public var headers: HTTPFields
    public var body: [UInt8]
    /// The signing key ``WebhookScheme/fetchKey(for:now:)`` found for this request, set by the
    /// pipeline before verification; `nil` for schemes that fetch none.
    public var fetchedKey: FetchedKey?

    public init(
        headers: HTTPFields,
        body: [UInt8],
        method: String = "POST",
        url: String? = nil,
        path: String = "/",
        query: String? = nil,
        peer: @autoclosure @escaping @Sendable () -> String? = nil
    ) {
        self.method = method
        self.url = url
        self.path = path
        self.query = query
        self.peerAddress = peer
        self.headers = headers
        self.body = body
    }

    /// The `Content-Type` header as sent, parameters included.
    public var contentType: String? { headers[.contentType] }

    /// What the body is, read from `Content-Type`.
    public var mediaType: BodyMediaType? { BodyMediaType(contentType: contentType) }

    /// The fields of a form-encoded body, in the order sent; `nil` when the body is not valid
    /// `application/x-www-form-urlencoded` text.
    public var form: FormFields? { FormFields(encoded: body) }
}

/// The kinds of body the relay takes, by `Content-Type` (parameters such as `charset` aside).
public enum BodyMediaType: String, Sendable, Hashable, CaseIterable {
    /// `application/json`.
    case json = "application/json"
    /// `application/x-www-form-urlencoded`.
    case form = "application/x-www-form-urlencoded"
    /// `text/plain`.
    case text = "text/plain"

    /// The media type a `Content-Type` value names, or `nil` for any other (or none). Compared byte
    /// by byte, case-insensitively, without allocating (this runs on every request).
    public init?(contentType: String?) {
        guard let contentType else { return nil }
        let utf8 = contentType.utf8
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var end = utf8.firstIndex(of: UInt8(ascii: ";")) ?? utf8.endIndex
        var start = utf8.startIndex
        while start < end, isBlank(utf8[start]) { start = utf8.index(after: start) }
        while end > start, isBlank(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        let lowercased = utf8[start..<end].lazy.map { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
        }
        guard let found = Self.allCases.first(where: { lowercased.elementsEqual($0.rawValue.utf8) }) else {
            return nil
        }
        self = found
    }
}

/// The bodies a sender posts: what its scheme declares it takes. A request with another body is
/// refused (415 for the wrong media type, 400 for a body that is not what its type says).
public struct BodyKinds: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `application/json` holding one object (most senders).
    public static let jsonObject = BodyKinds(rawValue: 1 << 0)
    /// `application/json` holding an array (HubSpot's batches).
    public static let jsonArray = BodyKinds(rawValue: 1 << 1)
    /// `application/x-www-form-urlencoded` (Twilio's callbacks).
    public static let form = BodyKinds(rawValue: 1 << 2)
    /// `text/plain` in UTF-8 (Amazon SNS posts its JSON so).
    public static let text = BodyKinds(rawValue: 1 << 3)

    /// The media types these kinds are sent as, for the 415 answer.
    public var mediaTypes: [BodyMediaType] {
        var types: [BodyMediaType] = []
        if !isDisjoint(with: [.jsonObject, .jsonArray]) { types.append(.json) }
        if contains(.form) { types.append(.form) }
        if contains(.text) { types.append(.text) }
        return types
    }

    /// Whether a body sent as `mediaType` can be one of these kinds.
    public func accepts(_ mediaType: BodyMediaType) -> Bool {
        switch mediaType {
        case .json: !isDisjoint(with: [.jsonObject, .jsonArray])
        case .form: contains(.form)
        case .text: contains(.text)
        }
    }

    /// The JSON documents these kinds take, or `nil` when they take none.
    public var jsonShape: JSONShape? {
        switch (contains(.jsonObject), contains(.jsonArray)) {
        case (true, true): .objectOrArray
        case (true, false): .object
        case (false, true): .array
        case (false, false): nil
        }
    }
}
