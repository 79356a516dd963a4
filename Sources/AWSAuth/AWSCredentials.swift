/// AWS credentials, as the default chain finds them (environment, web identity, container,
/// instance metadata) or an assumed role gives them.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Set for temporary credentials (an assumed role, a web identity, instance metadata).
    public var sessionToken: String?
    /// When temporary credentials expire, Unix milliseconds; nil for long-term keys.
    public var expiration: Int64?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Int64? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// The key id and the expiry only: the secret and the session token are never printed.
    public var description: String {
        "AWSCredentials(\(accessKeyID), expiration: \(expiration.map(String.init) ?? "none"))"
    }
}
