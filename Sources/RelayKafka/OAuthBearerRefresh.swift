import CRdKafka
import Logging

/// Where a producer gets SASL/OAUTHBEARER tokens when librdkafka asks for one: Amazon MSK IAM
/// mints them from AWS credentials. librdkafka asks at start and again at 80 % of each token's
/// lifetime, so a token is replaced well before it expires.
public protocol OAuthBearerTokenProvider: Sendable {
    func token() async throws -> OAuthBearerToken
}

/// One token for librdkafka's `rd_kafka_oauthbearer_set_token`.
public struct OAuthBearerToken: Sendable, Hashable {
    /// The token as sent to the broker.
    public var value: String
    /// When it expires, Unix milliseconds; librdkafka asks for the next one at 80 % of the way there.
    public var expiresAtMilliseconds: Int64
    /// The principal the token is for (client-side only; never sent by OAUTHBEARER).
    public var principal: String

    public init(value: String, expiresAtMilliseconds: Int64, principal: String) {
        self.value = value
        self.expiresAtMilliseconds = expiresAtMilliseconds
        self.principal = principal
    }
}

/// Answers librdkafka's `RD_KAFKA_EVENT_OAUTHBEARER_TOKEN_REFRESH`: asks the provider in a task of
/// its own (the queue that carried the event is never blocked by a credential fetch) and hands the
/// token, or the failure, to librdkafka, which may be called from any thread.
final class OAuthBearerRefresh: Sendable {
    private let client: KafkaClient
    private let provider: any OAuthBearerTokenProvider
    private let logger: Logger

    /// The event type to route to the main queue for this to be asked.
    static let event = RD_KAFKA_EVENT_OAUTHBEARER_TOKEN_REFRESH

    init(client: KafkaClient, provider: any OAuthBearerTokenProvider, logger: Logger) {
        self.client = client
        self.provider = provider
        self.logger = logger
    }

    func refresh() {
        Task { [client, provider, logger] in
            do {
                let token = try await provider.token()
                var errorText = [CChar](repeating: 0, count: 512)
                let result = rd_kafka_oauthbearer_set_token(
                    client.handle,
                    token.value,
                    token.expiresAtMilliseconds,
                    token.principal,
                    nil,
                    0,
                    &errorText,
                    errorText.count
                )
                if result == RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.info(
                        "Kafka OAUTHBEARER token refreshed",
                        metadata: ["kafka.token.expires_at_ms": "\(token.expiresAtMilliseconds)"]
                    )
                } else {
                    let problem = String(nullTerminated: errorText)
                    logger.error("librdkafka refused the OAUTHBEARER token", metadata: ["kafka.error": "\(problem)"])
                    rd_kafka_oauthbearer_set_token_failure(client.handle, problem)
                }
            } catch {
                logger.error("Could not make a Kafka OAUTHBEARER token", metadata: ["kafka.error": "\(error)"])
                rd_kafka_oauthbearer_set_token_failure(client.handle, "\(error)")
            }
        }
    }
}
