import Foundation
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import Testing

@testable import AWSAuth

/// AWS's default credential chain, each source against a local stand-in for its AWS endpoint.
@Suite("AWS credentials for Amazon MSK IAM", .timeLimit(.minutes(1)))
struct AWSCredentialChainTests {
    static let start: Int64 = 1_767_225_600
    static let role = "arn:aws:iam::123456789012:role/kafka-writer"

    /// STS's answer carrying these credentials, expiring at `expiration` (Unix seconds).
    static func stsAnswer(_ action: String, id: String, expiration: Int64) -> String {
        """
        <\(action)Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <\(action)Result>
            <Credentials>
              <AccessKeyId>\(id)</AccessKeyId>
              <SecretAccessKey>secret/with+signs</SecretAccessKey>
              <SessionToken>session&amp;token==</SessionToken>
              <Expiration>\(RFC3339.format(unixSeconds: expiration))</Expiration>
            </Credentials>
          </\(action)Result>
        </\(action)Response>
        """
    }

    /// The JSON the container agent and instance metadata answer with.
    static func credentialsJSON(id: String, expiration: Int64) -> String {
        """
        {"Code":"Success","AccessKeyId":"\(id)","SecretAccessKey":"secret","Token":"token","Expiration":"\(RFC3339.format(unixSeconds: expiration))"}
        """
    }

    static func temporaryFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("aws-\(UUID().uuidString)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("STS requests are signed as botocore signs them, byte for byte")
    func signatureKnownAnswers() {
        // From Tests/SenderLibraries/sts_assume_role_signature.py (botocore 1.44.18).
        let body =
            "Action=AssumeRole&Version=2011-06-15&DurationSeconds=3600&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fkafka-writer&RoleSessionName=webhook-relay"
        let cases: [(AWSCredentials, String)] = [
            (
                AWSCredentials(
                    accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
                ),
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=b454876672f728f778fcf146c7b84fecb7673c763ce16121ce9a653d53ea1920"
            ),
            (
                AWSCredentials(
                    accessKeyID: "ASIAIOSFODNN7EXAMPLE",
                    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    sessionToken: "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/="
                ),
                "AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/20260101/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=755400cf7d44650d0616169811e884f17b54033daa1c2e57806689a8cbf88dba"
            ),
        ]
        for (credentials, expected) in cases {
            let headers = SigV4.signedHeaders(
                method: "POST",
                path: "/",
                headers: [
                    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                    "Host": "sts.eu-west-1.amazonaws.com",
                ],
                body: Array(body.utf8),
                service: "sts",
                region: "eu-west-1",
                credentials: credentials,
                at: Self.start
            )
            #expect(headers["Authorization"] == expected)
            #expect(headers["X-Amz-Date"] == "20260101T000000Z")
            #expect(headers["X-Amz-Security-Token"] == credentials.sessionToken)
        }
    }

    @Test("The environment's keys come first; half a pair is an error naming the missing half")
    func environment() async throws {
        let clock = ManualWallClock(unixSeconds: Self.start)
        let chain = AWSCredentialChain(
            environment: [
                "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "t",
                // Configured too, but later in the chain: never asked.
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/never",
            ],
            region: "eu-west-1",
            clock: clock
        )
        let (credentials, source) = try await chain.current()
        #expect(
            credentials == AWSCredentials(accessKeyID: "AKIAENVIRONMENT", secretAccessKey: "secret", sessionToken: "t")
        )
        #expect(source == "environment")
        #expect(!"\(credentials)".contains("secret"), "the secret is never printed")

        let half = AWSCredentialChain(environment: ["AWS_ACCESS_KEY_ID": "AKIA"], region: "eu-west-1", clock: clock)
        await #expect(throws: AWSCredentialError.self) { try await half.current() }
        do {
            _ = try await half.current()
        } catch {
            #expect("\(error)".contains("AWS_SECRET_ACCESS_KEY is not"), "\(error)")
        }
    }

    @Test("Nothing configured: the error says what each source lacked")
    func nothingConfigured() async throws {
        let chain = AWSCredentialChain(
            environment: ["AWS_EC2_METADATA_DISABLED": "true"],
            region: "eu-west-1",
            clock: ManualWallClock(unixSeconds: Self.start)
        )
        do {
            _ = try await chain.current()
            Issue.record("credentials from nowhere")
        } catch {
            let text = "\(error)"
            for source in ["environment:", "web identity:", "container:", "instance metadata:"] {
                #expect(text.contains(source), "\(text)")
            }
        }
    }

    @Test("Web identity (EKS IRSA): the token file, read on each fetch, is exchanged with STS; STS's refusal is told")
    func webIdentity() async throws {
        let expiration = Self.start + 3600
        let sts = try await StandInServer { request in
            if request.body.contains("WebIdentityToken=refused") {
                return (
                    403,
                    "<ErrorResponse><Error><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>"
                )
            }
            return (200, Self.stsAnswer("AssumeRoleWithWebIdentity", id: "ASIAWEBIDENTITY", expiration: expiration))
        }
        let tokenFile = try Self.temporaryFile("eyJ.first-token.sig\n")
        let environment = [
            "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": Self.role, "AWS_ROLE_SESSION_NAME": "relay-0",
            "AWS_ENDPOINT_URL_STS": sts.url, "AWS_EC2_METADATA_DISABLED": "true",
        ]
        let clock = ManualWallClock(unixSeconds: Self.start)
        let (credentials, source) = try await AWSCredentialChain(
            environment: environment,
            region: "eu-west-1",
            clock: clock
        ).current()
        #expect(source == "web identity")
        #expect(credentials.accessKeyID == "ASIAWEBIDENTITY")
        #expect(credentials.secretAccessKey == "secret/with+signs")
        #expect(credentials.sessionToken == "session&token==", "XML entities decoded")
        #expect(credentials.expiration == expiration * 1000)
        let request = try #require(sts.received.first)
        #expect(request.method == "POST")
        #expect(request.headers["authorization"] == nil, "AssumeRoleWithWebIdentity is not signed")
        for part in [
            "Action=AssumeRoleWithWebIdentity", "Version=2011-06-15",
            "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fkafka-writer", "RoleSessionName=relay-0",
            "WebIdentityToken=eyJ.first-token.sig",
        ] {
            #expect(request.body.split(separator: "&").contains(Substring(part)), "\(part) in \(request.body)")
        }

        // Kubernetes rewrote the token file: the next fetch sends the new token.
        try "eyJ.second-token.sig".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        _ = try await AWSCredentialChain(environment: environment, region: "eu-west-1", clock: clock).current()
        #expect(sts.received.last?.body.contains("WebIdentityToken=eyJ.second-token.sig") == true)

        try "refused".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        do {
            _ = try await AWSCredentialChain(environment: environment, region: "eu-west-1", clock: clock).current()
            Issue.record("STS's refusal was not an error")
        } catch {
            #expect("\(error)".contains("AccessDenied"), "\(error)")
            #expect("\(error)".contains("web identity"), "\(error)")
        }
        await sts.stop()
    }

    @Test(
        "Container credentials (ECS, EKS Pod Identity): the token file is the Authorization; plain HTTP only to the agent or loopback"
    )
    func container() async throws {
        let agent = try await StandInServer { request in
            request.headers["authorization"] == "pod-identity-token"
                ? (200, Self.credentialsJSON(id: "ASIACONTAINER", expiration: Self.start + 3600)) : (401, "")
        }
        let tokenFile = try Self.temporaryFile("pod-identity-token\n")
        let clock = ManualWallClock(unixSeconds: Self.start)
        let (credentials, source) = try await AWSCredentialChain(
            environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": agent.url + "/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
            ],
            region: "eu-west-1",
            clock: clock
        ).current()
        #expect(source == "container")
        #expect(credentials.accessKeyID == "ASIACONTAINER")
        #expect(credentials.sessionToken == "token")
        #expect(credentials.expiration == (Self.start + 3600) * 1000)
        #expect(agent.received.map(\.path) == ["/v1/credentials"])

        let elsewhere = AWSCredentialChain(
            environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://credentials.example.com/v1"],
            region: "eu-west-1",
            clock: clock
        )
        do {
            _ = try await elsewhere.current()
            Issue.record("plain HTTP to another host was used")
        } catch {
            #expect("\(error)".contains("must be https"), "\(error)")
        }
        await agent.stop()
    }

    /// A stand-in for IMDSv2 with one role, counting credential fetches; credentials expire an hour
    /// after each fetch by `clock`.
    static func instanceMetadata(clock: ManualWallClock) async throws -> StandInServer {
        try await StandInServer { request in
            switch (request.method, request.path) {
            case ("PUT", "/latest/api/token"):
                return request.headers["x-aws-ec2-metadata-token-ttl-seconds"] == nil
                    ? (400, "") : (200, "imds-session")
            case (_, _) where request.headers["x-aws-ec2-metadata-token"] != "imds-session":
                return (401, "")
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                return (200, "kafka-writer")
            case ("GET", "/latest/meta-data/iam/security-credentials/kafka-writer"):
                return (200, Self.credentialsJSON(id: "ASIAINSTANCE", expiration: clock.unixSeconds + 3600))
            default:
                return (404, "")
            }
        }
    }

    @Test(
        "Instance metadata (IMDSv2): a session token first, then the role's credentials, kept until five minutes before they expire"
    )
    func instanceMetadataAndRefresh() async throws {
        let clock = ManualWallClock(unixSeconds: Self.start)
        let imds = try await Self.instanceMetadata(clock: clock)
        let chain = AWSCredentialChain(
            environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url + "/"],
            region: "eu-west-1",
            clock: clock
        )
        let (first, source) = try await chain.current()
        #expect(source == "instance metadata")
        #expect(first.accessKeyID == "ASIAINSTANCE")
        #expect(
            imds.received.map { "\($0.method) \($0.path)" } == [
                "PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/",
                "GET /latest/meta-data/iam/security-credentials/kafka-writer",
            ]
        )
        let fetches = { imds.received.filter { $0.path.hasSuffix("/kafka-writer") }.count }

        clock.advance(by: 54 * 60)  // six minutes left: kept
        #expect(try await chain.current().credentials == first)
        #expect(fetches() == 1)
        clock.advance(by: 2 * 60)  // four minutes left: fetched anew
        let second = try await chain.current().credentials
        #expect(fetches() == 2)
        #expect(second.expiration == (Self.start + 56 * 60 + 3600) * 1000)
        await imds.stop()
    }

    @Test("A role to assume: the chain's credentials sign STS AssumeRole and the role's credentials are used")
    func assumeRole() async throws {
        let sts = try await StandInServer { request in
            request.headers["authorization"]?.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKIABASE/20260101/eu-west-1/sts/aws4_request"
            )
                == true
                ? (200, Self.stsAnswer("AssumeRole", id: "ASIAASSUMED", expiration: Self.start + 3600))
                : (403, "<Error><Code>SignatureDoesNotMatch</Code><Message>unsigned</Message></Error>")
        }
        let (credentials, source) = try await AWSCredentialChain(
            environment: [
                "AWS_ACCESS_KEY_ID": "AKIABASE", "AWS_SECRET_ACCESS_KEY": "base-secret",
                "AWS_ENDPOINT_URL_STS": sts.url,
            ],
            region: "eu-west-1",
            roleARN: Self.role,
            clock: ManualWallClock(unixSeconds: Self.start)
        ).current()
        #expect(credentials.accessKeyID == "ASIAASSUMED")
        #expect(source == "environment + role \(Self.role)")
        let request = try #require(sts.received.first)
        #expect(request.body.hasPrefix("Action=AssumeRole&Version=2011-06-15&DurationSeconds=3600&RoleArn="))
        #expect(request.headers["x-amz-date"] == "20260101T000000Z")
        await sts.stop()
    }

    @Test("MSK tokens are signed now with the chain's credentials and end no later than they do")
    func tokenProvider() async throws {
        let clock = ManualWallClock(unixSeconds: Self.start)
        let imds = try await Self.instanceMetadata(clock: clock)
        let provider = MSKIAMTokenProvider(
            region: "eu-west-1",
            credentials: AWSCredentialChain(
                environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url],
                region: "eu-west-1",
                clock: clock
            ),
            clock: clock,
            userAgent: "webhook-relay/test"
        )
        let first = try await provider.token()
        let credentials = AWSCredentials(
            accessKeyID: "ASIAINSTANCE",
            secretAccessKey: "secret",
            sessionToken: "token",
            expiration: (Self.start + 3600) * 1000
        )
        let expected = MSKIAMToken.make(
            region: "eu-west-1",
            credentials: credentials,
            at: Self.start,
            userAgent: "webhook-relay/test"
        )
        #expect(
            first
                == OAuthBearerToken(
                    value: expected.token,
                    expiresAtMilliseconds: expected.expiresAtMilliseconds,
                    principal: "ASIAINSTANCE"
                )
        )
        #expect(first.expiresAtMilliseconds == (Self.start + 900) * 1000, "a token lives 900 s")

        // Nine minutes before the credentials expire (they are still kept): the token ends with them.
        clock.advance(by: 51 * 60)
        let late = try await provider.token()
        #expect(late.expiresAtMilliseconds == (Self.start + 3600) * 1000)
        #expect(late.value != first.value, "signed anew")
        await imds.stop()
    }
}
