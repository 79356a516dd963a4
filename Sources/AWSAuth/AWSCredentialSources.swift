import Foundation
import NIOCore
import NIOHTTP1
import RelayPrimitives

/// Why credentials could not be had, said so a user can fix it.
public struct AWSCredentialError: Error, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// One place AWS credentials may come from, in the default chain's order.
protocol AWSCredentialSource: Sendable {
    /// How the source is named in errors and logs.
    var name: String { get }
    /// Why the source does not apply, or nil if it is configured (then ``fetch()`` is its answer).
    var notConfigured: String? { get }
    func fetch() async throws -> AWSCredentials
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for temporary keys, `AWS_SESSION_TOKEN`.
struct EnvironmentCredentials: AWSCredentialSource {
    let environment: [String: String]
    var name: String { "environment" }

    /// An empty variable counts as unset, as in AWS's SDKs.
    var notConfigured: String? {
        (environment["AWS_ACCESS_KEY_ID"] ?? "").isEmpty && (environment["AWS_SECRET_ACCESS_KEY"] ?? "").isEmpty
            ? "AWS_ACCESS_KEY_ID is not set" : nil
    }

    func fetch() async throws -> AWSCredentials {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty else {
            throw AWSCredentialError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        }
        guard let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw AWSCredentialError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }
}

/// A web identity token file and a role (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, as EKS's
/// IRSA sets them), exchanged with STS's `AssumeRoleWithWebIdentity`. The file is read on every
/// fetch: Kubernetes rotates the token in place.
struct WebIdentityCredentials: AWSCredentialSource {
    let environment: [String: String]
    let sts: STSEndpoint
    let clock: any WallClock
    var name: String { "web identity" }

    var notConfigured: String? {
        (environment["AWS_WEB_IDENTITY_TOKEN_FILE"] ?? "").isEmpty ? "AWS_WEB_IDENTITY_TOKEN_FILE is not set" : nil
    }

    func fetch() async throws -> AWSCredentials {
        let file = environment["AWS_WEB_IDENTITY_TOKEN_FILE"] ?? ""
        guard let role = environment["AWS_ROLE_ARN"], !role.isEmpty else {
            throw AWSCredentialError("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
        }
        guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw AWSCredentialError("the web identity token file \(file) cannot be read")
        }
        let session = environment["AWS_ROLE_SESSION_NAME"] ?? "webhook-relay-\(clock.unixSeconds)"
        return try await sts.call(
            "AssumeRoleWithWebIdentity",
            [
                ("RoleArn", role), ("RoleSessionName", session),
                ("WebIdentityToken", token.trimmingCharacters(in: .whitespacesAndNewlines)),
            ],
            signedWith: nil
        )
    }
}

/// The container credentials endpoint of ECS and EKS Pod Identity
/// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `…_FULL_URI`, with the token in
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `…_TOKEN`). As AWS's SDKs require, a full URI over
/// plain HTTP must name a loopback address or the ECS/EKS agents' link-local ones.
struct ContainerCredentials: AWSCredentialSource {
    let environment: [String: String]
    var name: String { "container" }

    static let agentHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "localhost"]

    var notConfigured: String? {
        (environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] ?? "").isEmpty
            && (environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] ?? "").isEmpty
            ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and …_FULL_URI are not set" : nil
    }

    var url: String? {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            return "http://169.254.170.2" + relative
        }
        return environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    }

    func fetch() async throws -> AWSCredentials {
        guard let url, let parsed = URL(string: url), let host = parsed.host else {
            throw AWSCredentialError("the container credentials URI is not a URL")
        }
        let hostForm = host.contains(":") ? "[\(host)]" : host
        guard
            parsed.scheme == "https"
                || (parsed.scheme == "http" && (Self.agentHosts.contains(hostForm) || host.hasPrefix("127.")))
        else {
            throw AWSCredentialError(
                "the container credentials URI must be https, or http to loopback or the ECS/EKS agent (not \(host))"
            )
        }
        var headers: [String: String] = [:]
        if let file = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw AWSCredentialError("the container authorization token file \(file) cannot be read")
            }
            headers["Authorization"] = token.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] {
            headers["Authorization"] = token
        }
        let answer = try await AWSHTTP.send(.GET, url, headers: headers)
        guard answer.status == 200 else {
            throw AWSCredentialError("the container credentials endpoint answered HTTP \(answer.status)")
        }
        return try TemporaryCredentialsJSON.parse(answer.body, from: "the container credentials endpoint")
    }
}

/// The EC2 instance metadata service, IMDSv2: a session token from `PUT /latest/api/token`, then
/// the instance role's credentials. `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it (tests, IPv6);
/// `AWS_EC2_METADATA_DISABLED=true` turns it off.
struct InstanceMetadataCredentials: AWSCredentialSource {
    let environment: [String: String]
    var name: String { "instance metadata" }

    var notConfigured: String? {
        environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" ? "AWS_EC2_METADATA_DISABLED is true" : nil
    }

    var endpoint: String {
        var endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return endpoint
    }

    func fetch() async throws -> AWSCredentials {
        let timeout = TimeAmount.seconds(5)
        let session: AWSHTTP.Answer
        do {
            session = try await AWSHTTP.send(
                .PUT,
                endpoint + "/latest/api/token",
                headers: ["X-aws-ec2-metadata-token-ttl-seconds": "21600"],
                timeout: timeout
            )
        } catch {
            throw AWSCredentialError("no instance metadata service at \(endpoint) (\(error))")
        }
        guard session.status == 200 else {
            throw AWSCredentialError("the instance metadata service answered HTTP \(session.status) for a token")
        }
        let headers = ["X-aws-ec2-metadata-token": session.body]
        let path = endpoint + "/latest/meta-data/iam/security-credentials/"
        let roles = try await AWSHTTP.send(.GET, path, headers: headers, timeout: timeout)
        guard roles.status == 200, let role = roles.body.split(separator: "\n").first.map(String.init) else {
            throw AWSCredentialError("the instance has no IAM role (instance metadata answered HTTP \(roles.status))")
        }
        let answer = try await AWSHTTP.send(.GET, path + role, headers: headers, timeout: timeout)
        guard answer.status == 200 else {
            throw AWSCredentialError("instance metadata answered HTTP \(answer.status) for role \(role)")
        }
        return try TemporaryCredentialsJSON.parse(answer.body, from: "instance metadata")
    }
}

/// The JSON the container endpoint and instance metadata answer with.
struct TemporaryCredentialsJSON: Decodable {
    var accessKeyID: String?
    var secretAccessKey: String?
    var token: String?
    var expiration: String?
    var code: String?
    var message: String?

    enum CodingKeys: String, CodingKey {
        case accessKeyID = "AccessKeyId"
        case secretAccessKey = "SecretAccessKey"
        case token = "Token"
        case expiration = "Expiration"
        case code = "Code"
        case message = "Message"
    }

    static func parse(_ body: String, from origin: String) throws -> AWSCredentials {
        guard let decoded = try? JSONDecoder().decode(Self.self, from: Data(body.utf8)) else {
            throw AWSCredentialError("\(origin) answered something that is not credentials JSON")
        }
        if let code = decoded.code, code != "Success" {
            throw AWSCredentialError("\(origin) answered \(code): \(decoded.message ?? "")")
        }
        guard let id = decoded.accessKeyID, let secret = decoded.secretAccessKey else {
            throw AWSCredentialError("\(origin) answered without AccessKeyId and SecretAccessKey")
        }
        let expiration = try decoded.expiration.map { text in
            guard let seconds = RFC3339.parse(text) else {
                throw AWSCredentialError("\(origin) answered an Expiration that is not a time: \(text)")
            }
            return seconds * 1000
        }
        return AWSCredentials(
            accessKeyID: id,
            secretAccessKey: secret,
            sessionToken: decoded.token,
            expiration: expiration
        )
    }
}
