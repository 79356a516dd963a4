import AWSAuth
import RelayKafka
import RelayPrimitives

extension RelayConfiguration {
    /// The producer's settings: the Kafka section, with room for the largest accepted body.
    /// `serve` and `config check --connect` both use it, so the check connects as the relay would.
    public var producerConfiguration: KafkaProducerConfiguration {
        KafkaProducerConfiguration(
            bootstrapServers: kafka.bootstrapServers,
            properties: kafka.properties,
            flushTimeout: kafka.flushTimeout,
            largestValue: http.maxBodySize
        )
    }
}

extension RelayConfiguration.Kafka {
    /// Where the producer gets its OAUTHBEARER tokens: Amazon MSK IAM, with credentials from AWS's
    /// default chain in `environment`, when `kafka.aws_msk_iam` is set; nil otherwise.
    public func tokenProvider(environment: [String: String]) -> (any OAuthBearerTokenProvider)? {
        mskIAMTokenProvider(environment: environment)
    }

    /// ``tokenProvider(environment:)`` as itself, for callers that also ask which credentials it
    /// signs with (``MSKIAMTokenProvider/credentials``).
    public func mskIAMTokenProvider(environment: [String: String]) -> MSKIAMTokenProvider? {
        guard let mskIAM else { return nil }
        let clock = SystemWallClock()
        return MSKIAMTokenProvider(
            region: mskIAM.region,
            credentials: AWSCredentialChain(
                environment: environment,
                region: mskIAM.region,
                roleARN: mskIAM.roleARN,
                clock: clock
            ),
            clock: clock,
            userAgent: "webhook-relay/\(RelayVersion.current)"
        )
    }
}
