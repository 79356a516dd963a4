import Foundation
import NIOHTTP1
import RelayPrimitives

/// AWS STS, regional: `https://sts.<region>.amazonaws.com`, or `AWS_ENDPOINT_URL_STS` /
/// `AWS_ENDPOINT_URL` where set (as AWS's SDKs honour them). Its answers are XML; only the
/// `Credentials` element and an error's `Code` and `Message` are read.
struct STSEndpoint: Sendable {
    let url: String
    let region: String
    let clock: any WallClock

    init(environment: [String: String], region: String, clock: any WallClock) {
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? region
        self.url =
            environment["AWS_ENDPOINT_URL_STS"] ?? environment["AWS_ENDPOINT_URL"]
            ?? "https://sts.\(region).amazonaws.com"
        self.region = region
        self.clock = clock
    }

    /// Calls `action` (a POST form, API version 2011-06-15) and reads the temporary credentials it
    /// answers; signed with SigV4 when `credentials` are given (AssumeRole), unsigned otherwise
    /// (AssumeRoleWithWebIdentity needs no AWS credentials).
    func call(
        _ action: String,
        _ parameters: [(String, String)],
        signedWith credentials: AWSCredentials?
    ) async throws -> AWSCredentials {
        let form = ([("Action", action), ("Version", "2011-06-15"), ("DurationSeconds", "3600")] + parameters)
            .map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }.joined(separator: "&")
        let body = Array(form.utf8)
        var headers = ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"]
        if let credentials {
            guard let parsed = URL(string: url), let host = parsed.host else {
                throw AWSCredentialError("the STS endpoint \(url) is not a URL")
            }
            let hostHeader = parsed.port.map { "\(host):\($0)" } ?? host
            headers.merge(
                SigV4.signedHeaders(
                    method: "POST",
                    path: parsed.path.isEmpty ? "/" : parsed.path,
                    headers: headers.merging(["Host": hostHeader]) { $1 },
                    body: body,
                    service: "sts",
                    region: region,
                    credentials: credentials,
                    at: clock.unixSeconds
                )
            ) { $1 }
        }
        let answer: AWSHTTP.Answer
        do {
            answer = try await AWSHTTP.send(.POST, url, headers: headers, body: body)
        } catch {
            throw AWSCredentialError("STS at \(url) could not be reached for \(action) (\(error))")
        }
        guard answer.status == 200 else {
            let code = Self.element("Code", in: answer.body) ?? "HTTP \(answer.status)"
            let message = Self.element("Message", in: answer.body) ?? ""
            throw AWSCredentialError("STS refused \(action): \(code) \(message)")
        }
        guard let section = Self.element("Credentials", in: answer.body),
            let id = Self.element("AccessKeyId", in: section),
            let secret = Self.element("SecretAccessKey", in: section),
            let token = Self.element("SessionToken", in: section),
            let expiration = Self.element("Expiration", in: section).flatMap(RFC3339.parse)
        else {
            throw AWSCredentialError("STS answered \(action) without complete Credentials")
        }
        return AWSCredentials(
            accessKeyID: id,
            secretAccessKey: secret,
            sessionToken: token,
            expiration: expiration * 1000
        )
    }

    /// The text of the first `<name>` element in `xml`, its five predefined entities decoded.
    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"),
            let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
