import AWSAuth
import RelayKafka
import RelayPrimitives

extension RelayConfiguration.Kafka {
    /// Where the producer gets its OAUTHBEARER tokens: Amazon MSK IAM, with credentials from AWS's
    /// default chain in `environment`, when `kafka.aws_msk_iam` is set; nil otherwise.
    public func tokenProvider(environment: [String: String]) -> (any OAuthBearerTokenProvider)? {
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
