import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix

/// The one HTTP exchange the credential sources make: no redirects, short timeouts, a bounded
/// answer. Instance metadata and container endpoints are link-local or loopback and answer at once
/// when they exist; STS is a regional AWS endpoint.
enum AWSHTTP {
    struct Answer {
        var status: Int
        var body: String
    }

    static let largestAnswer = 64 * 1024

    static func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: [String: String] = [:],
        body: [UInt8]? = nil,
        timeout: TimeAmount = .seconds(5)
    ) async throws -> Answer {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(2), read: timeout)
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers.add(name: "User-Agent", value: "webhook-relay")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response = try await client.execute(request, timeout: timeout)
            let collected = try await response.body.collect(upTo: largestAnswer)
            try? await client.shutdown()
            return Answer(status: Int(response.status.code), body: String(buffer: collected))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
