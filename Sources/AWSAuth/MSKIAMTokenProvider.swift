import RelayKafka
import RelayPrimitives

/// Amazon MSK IAM for librdkafka's OAUTHBEARER: each time librdkafka asks, a token signed now
/// with the chain's current credentials. A token lives 900 s, or less when the credentials expire
/// sooner; librdkafka asks again at 80 % of that.
public struct MSKIAMTokenProvider: OAuthBearerTokenProvider {
    public let region: String
    /// Where the credentials come from (cached: asking it again costs nothing until they near expiry).
    public let credentials: AWSCredentialChain
    let clock: any WallClock
    let userAgent: String

    public init(region: String, credentials: AWSCredentialChain, clock: any WallClock, userAgent: String) {
        self.region = region
        self.credentials = credentials
        self.clock = clock
        self.userAgent = userAgent
    }

    public func token() async throws -> OAuthBearerToken {
        let (credentials, _) = try await self.credentials.current()
        let made = MSKIAMToken.make(
            region: region,
            credentials: credentials,
            at: clock.unixSeconds,
            userAgent: userAgent
        )
        let expires = min(made.expiresAtMilliseconds, credentials.expiration ?? .max)
        return OAuthBearerToken(value: made.token, expiresAtMilliseconds: expires, principal: credentials.accessKeyID)
    }
}
