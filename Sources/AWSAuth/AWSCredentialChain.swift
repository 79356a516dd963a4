import Foundation
import RelayPrimitives

/// AWS's default credential chain, in its order: the environment, a web identity token (EKS
/// IRSA), the container endpoint (ECS, EKS Pod Identity), the instance metadata service (EC2).
/// The first source that is configured answers; if it fails, that failure is the answer (a broken
/// configured source is not silently passed over). With a role to assume, the chain's credentials
/// then call STS `AssumeRole` for it.
///
/// Credentials are kept until five minutes before they expire, so a token is never signed with
/// credentials about to lapse; long-term keys (no expiry) are kept for good.
public actor AWSCredentialChain {
    private let sources: [any AWSCredentialSource]
    private let assumedRole: (role: String, sts: STSEndpoint, session: String)?
    private let clock: any WallClock
    private var cached: (credentials: AWSCredentials, source: String)?

    /// How long before their expiry credentials are fetched anew.
    public static let refreshMargin: Int64 = 5 * 60 * 1000

    /// - Parameters:
    ///   - region: the region of STS when no `AWS_REGION` says otherwise.
    ///   - roleARN: a role to assume with the chain's credentials, if any.
    public init(environment: [String: String], region: String, roleARN: String? = nil, clock: any WallClock) {
        let sts = STSEndpoint(environment: environment, region: region, clock: clock)
        self.sources = [
            EnvironmentCredentials(environment: environment),
            WebIdentityCredentials(environment: environment, sts: sts, clock: clock),
            ContainerCredentials(environment: environment),
            InstanceMetadataCredentials(environment: environment),
        ]
        self.assumedRole = roleARN.map { ($0, sts, environment["AWS_ROLE_SESSION_NAME"] ?? "webhook-relay") }
        self.clock = clock
    }

    /// Current credentials, and which source gave them (`environment`, `web identity`, …, with
    /// `+ role <arn>` when one was assumed).
    public func current() async throws -> (credentials: AWSCredentials, source: String) {
        if let cached, !expiresSoon(cached.credentials) { return cached }
        let fresh = try await resolve()
        cached = fresh
        return fresh
    }

    private func expiresSoon(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return clock.unixMilliseconds >= expiration - Self.refreshMargin
    }

    private func resolve() async throws -> (credentials: AWSCredentials, source: String) {
        var skipped: [String] = []
        for source in sources {
            if let reason = source.notConfigured {
                skipped.append("\(source.name): \(reason)")
                continue
            }
            let credentials: AWSCredentials
            do {
                credentials = try await source.fetch()
            } catch {
                throw AWSCredentialError("AWS credentials from \(source.name): \(error)")
            }
            guard let (role, sts, session) = assumedRole else { return (credentials, source.name) }
            let assumed = try await sts.call(
                "AssumeRole",
                [("RoleArn", role), ("RoleSessionName", session)],
                signedWith: credentials
            )
            return (assumed, "\(source.name) + role \(role)")
        }
        throw AWSCredentialError("no AWS credentials: " + skipped.joined(separator: "; "))
    }
}
