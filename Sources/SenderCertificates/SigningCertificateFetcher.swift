import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import RelayPrimitives
import SenderKit
import SwiftASN1
import X509
import _CryptoExtras

/// Fetches the certificates senders sign with (Amazon SNS's `SigningCertURL`, PayPal's
/// `PAYPAL-CERT-URL`), checks them and keeps their keys.
///
/// A URL comes from the request, so before anything is fetched it must be under the source's
/// allowed prefixes (``CertificateURLPolicy``) and its host must resolve to public addresses only
/// (unless the source allows private ones); the connection then goes to the address that was
/// checked, over TLS verified for the host. Redirects are refused, the fetch is bounded in time
/// and size, and at most a few run at once. The certificate must chain to a trusted root (the
/// system's and `certificate_ca_file`'s), be valid now and name one of the sender's subjects; its
/// RSA key (2048 bits or more) is kept for an hour at most and never past the certificate's end.
/// A certificate refused is remembered for a minute, so a flood of requests naming it costs one
/// fetch; a fetch that failed for now (timeout, 5xx) is not remembered, so the sender's retry
/// fetches again.
public final class SigningCertificateFetcher: Sendable {
    /// What a source allows.
    public struct Configuration: Sendable {
        /// Where certificates may be fetched from.
        public var urls: CertificateURLPolicy
        /// The names the certificate must carry (as its common name or a DNS name), e.g.
        /// `sns.amazonaws.com`.
        public var subjects: [String]
        /// A PEM bundle trusted besides the system's roots, for the chain and the TLS connection.
        public var caFile: String?
        /// Whether a certificate host may resolve to a loopback, private or link-local address.
        public var allowsPrivateAddresses: Bool
        /// The longest a fetch may take, connection included.
        public var timeout: Duration = .seconds(5)
        /// The largest certificate file read.
        public var maximumBytes = 64 * 1024
        /// The most certificates (and refusals) remembered.
        public var cacheCapacity = 64
        /// How long a checked key is kept (never past the certificate's end).
        public var keyLifetime: Int64 = 3600
        /// How long a refused certificate is remembered.
        public var refusalLifetime: Int64 = 60
        /// The most fetches running at once; a request beyond is answered 503.
        public var maximumFetchesInFlight = 4

        public init(urls: CertificateURLPolicy, subjects: [String], caFile: String?, allowsPrivateAddresses: Bool) {
            self.urls = urls
            self.subjects = subjects
            self.caFile = caFile
            self.allowsPrivateAddresses = allowsPrivateAddresses
        }
    }

    private enum Entry {
        case ready(FetchedKey, until: Int64)
        case refused(WebhookRejection, until: Int64)
        case fetching(Task<FetchedKey, any Error>)
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var fetching = 0
    }

    public let configuration: Configuration
    private let extraRoots: [Certificate]
    private let state = Locked(State())
    private let logger = Logger(label: "webhook-relay.certificates")

    /// - Throws: ``ConfigurationError``-ready text when `caFile` cannot be read or holds no
    ///   certificate.
    public init(_ configuration: Configuration) throws(CAFileError) {
        self.configuration = configuration
        if let path = configuration.caFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CAFileError(reason: "cannot be read")
            }
            let roots = try? Self.certificates(inPEM: String(decoding: data, as: UTF8.self))
            guard let roots, !roots.isEmpty else { throw CAFileError(reason: "holds no PEM certificate") }
            extraRoots = roots
        } else {
            extraRoots = []
        }
    }

    /// Why `certificate_ca_file` is refused at start.
    public struct CAFileError: Error, Sendable {
        public var reason: String
    }

    /// The checked key of the certificate at `url`, fetched now or remembered.
    /// - Throws: ``WebhookRejection/untrustedCertificate(reason:)`` (401) for a URL, answer or
    ///   certificate the relay does not trust; ``WebhookRejection/certificateUnavailable(reason:retryAfter:)``
    ///   (503) when it cannot be fetched now.
    public func key(at url: String, now: Date) async throws(WebhookRejection) -> FetchedKey {
        let (host, _) = try configuration.urls.check(url)
        let second = Int64(now.timeIntervalSince1970)
        enum Claim {
            case ready(FetchedKey)
            case wait(Task<FetchedKey, any Error>)
            case refused(WebhookRejection)
        }
        let claim: Claim = state.withLock { state in
            switch state.entries[url] {
            case .ready(let key, let until)? where second < until: return .ready(key)
            case .refused(let rejection, let until)? where second < until: return .refused(rejection)
            case .fetching(let task)?: return .wait(task)
            default: break
            }
            guard state.fetching < configuration.maximumFetchesInFlight else {
                return .refused(.certificateUnavailable(reason: "too many certificate fetches at once", retryAfter: 5))
            }
            state.fetching += 1
            let task = Task { try await self.fetchAndRemember(url, host: host, now: now) }
            state.entries[url] = .fetching(task)
            return .wait(task)
        }
        switch claim {
        case .ready(let key): return key
        case .refused(let rejection): throw rejection
        case .wait(let task):
            do {
                return try await task.value
            } catch let rejection as WebhookRejection {
                throw rejection
            } catch {
                throw .certificateUnavailable(reason: "the fetch failed", retryAfter: 30)
            }
        }
    }

    /// Fetches and checks the certificate at `url`, then records the outcome for the next request.
    private func fetchAndRemember(_ url: String, host: String, now: Date) async throws -> FetchedKey {
        let second = Int64(now.timeIntervalSince1970)
        let outcome: Result<(FetchedKey, Int64), WebhookRejection>
        do {
            outcome = .success(try await fetch(url, host: host))
        } catch {
            outcome = .failure(error)
        }
        state.withLock { state in
            state.fetching -= 1
            switch outcome {
            case .success(let (key, notAfter)):
                state.entries[url] = .ready(key, until: min(second + configuration.keyLifetime, notAfter))
            case .failure(.untrustedCertificate(let reason)):
                state.entries[url] = .refused(
                    .untrustedCertificate(reason: reason),
                    until: second + configuration.refusalLifetime
                )
            case .failure:
                state.entries[url] = nil
            }
            evict(&state, now: second)
        }
        switch outcome {
        case .success(let (key, _)):
            logger.info("Fetched a signing certificate", metadata: ["url": "\(url)"])
            return key
        case .failure(let rejection):
            logger.warning(
                "Refused a signing certificate",
                metadata: ["url": "\(url.prefix(200))", "reason": "\(rejection)"]
            )
            throw rejection
        }
    }

    /// Keeps the cache within its capacity: expired entries first, then any finished one.
    private func evict(_ state: inout State, now: Int64) {
        guard state.entries.count > configuration.cacheCapacity else { return }
        for (url, entry) in state.entries {
            switch entry {
            case .ready(_, let until), .refused(_, let until):
                if until <= now || state.entries.count > configuration.cacheCapacity { state.entries[url] = nil }
            case .fetching: break
            }
            if state.entries.count <= configuration.cacheCapacity { return }
        }
    }

    /// One fetch: resolve, check the addresses, GET over TLS to the checked address, parse and
    /// check the certificate. Returns the key and the certificate's end (Unix seconds).
    private func fetch(_ url: String, host: String) async throws(WebhookRejection) -> (FetchedKey, Int64) {
        let body = try await get(url, host: host)
        let text = String(decoding: body, as: UTF8.self)
        guard let chain = try? Self.certificates(inPEM: text), let leaf = chain.first else {
            throw .untrustedCertificate(reason: "at \(url) is not a PEM certificate")
        }
        try await checkChain(leaf, intermediates: Array(chain.dropFirst()))
        let names = Self.names(of: leaf)
        guard names.contains(where: { name in configuration.subjects.contains { $0.lowercased() == name } }) else {
            throw .untrustedCertificate(
                reason:
                    "names \(names.prefix(3).joined(separator: ", ")), not \(configuration.subjects.joined(separator: " or "))"
            )
        }
        guard let key = _RSA.Signing.PublicKey(leaf.publicKey), key.keySizeInBits >= 2048 else {
            throw .untrustedCertificate(reason: "at \(url) does not hold an RSA key of 2048 bits or more")
        }
        let notAfter = Int64(leaf.notValidAfter.timeIntervalSince1970)
        return (FetchedKey(url: url, publicKeyDER: Array(key.derRepresentation)), notAfter)
    }

    /// GETs `url` from the address `host` resolves to, once that address is allowed. Also used to
    /// confirm Amazon SNS subscriptions (the caller checks that URL's rules).
    public func get(_ url: String, host: String) async throws(WebhookRejection) -> [UInt8] {
        let addresses = try await HostAddresses.resolve(host)
        if !configuration.allowsPrivateAddresses, let address = addresses.first(where: { !HostAddresses.isPublic($0) })
        {
            throw .untrustedCertificate(
                reason: "host \(host) resolves to \(address), a private address (certificate_private_addresses: false)"
            )
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile { tls.additionalTrustRoots = [.file(caFile)] }
        let timeout = TimeAmount.nanoseconds(
            configuration.timeout.components.seconds * 1_000_000_000 + configuration.timeout.components.attoseconds
                / 1_000_000_000
        )
        var settings = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout),
            proxy: nil,
            decompression: .disabled
        )
        // Connect to the address just checked (a second lookup could answer otherwise); TLS is
        // still verified for the host.
        settings.dnsOverride = [host: addresses[0]]
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: settings)
        let result = await Self.get(url, host: host, with: client, timeout: timeout, limit: configuration.maximumBytes)
        try? await client.shutdown()
        return try result.get()
    }

    private static func get(
        _ url: String,
        host: String,
        with client: HTTPClient,
        timeout: TimeAmount,
        limit: Int
    ) async -> Result<[UInt8], WebhookRejection> {
        let response: HTTPClientResponse
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            request.headers.add(name: "User-Agent", value: "webhook-relay")
            response = try await client.execute(request, timeout: timeout)
        } catch let error as NIOSSLError {
            return .failure(.untrustedCertificate(reason: "host \(host) failed TLS verification (\(error))"))
        } catch {
            return .failure(.certificateUnavailable(reason: "\(host) could not be reached: \(error)", retryAfter: 30))
        }
        switch response.status.code {
        case 200:
            do {
                return .success(Array(buffer: try await response.body.collect(upTo: limit)))
            } catch is NIOTooManyBytesError {
                return .failure(.untrustedCertificate(reason: "at \(url) is larger than \(limit) bytes"))
            } catch {
                return .failure(.certificateUnavailable(reason: "the answer from \(host) ended early", retryAfter: 30))
            }
        case 300..<400:
            return .failure(
                .untrustedCertificate(
                    reason: "URL was redirected (HTTP \(response.status.code)); redirects are refused"
                )
            )
        case 408, 429, 500..<600:
            return .failure(
                .certificateUnavailable(reason: "\(host) answered HTTP \(response.status.code)", retryAfter: 30)
            )
        default:
            return .failure(.untrustedCertificate(reason: "URL answered HTTP \(response.status.code)"))
        }
    }

    /// Checks that `leaf` chains to a trusted root through `intermediates` and is valid now.
    private func checkChain(_ leaf: Certificate, intermediates: [Certificate]) async throws(WebhookRejection) {
        // Validity is judged by the real clock, as the TLS connection that fetched it was.
        var verifier = Verifier(rootCertificates: CertificateStore.systemTrustRoots.appending(contentsOf: extraRoots)) {
            RFC5280Policy()
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        guard case .validCertificate = result else {
            var reason = "does not chain to a trusted root"
            if case .couldNotValidate(let failures) = result, let first = failures.first {
                reason += " (\(String(describing: first.policyFailureReason).prefix(200)))"
            }
            throw .untrustedCertificate(reason: reason)
        }
    }

    /// The certificate's common names and DNS names, lowercased.
    static func names(of certificate: Certificate) -> [String] {
        var names: [String] = []
        for relative in certificate.subject {
            for attribute in relative where attribute.type == .RDNAttributeType.commonName {
                if let name = String(attribute.value) { names.append(name.lowercased()) }
            }
        }
        if let alternatives = try? certificate.extensions.subjectAlternativeNames {
            for case .dnsName(let dns) in alternatives { names.append(dns.lowercased()) }
        }
        return names
    }

    /// Every certificate in a PEM text, in order.
    static func certificates(inPEM text: String) throws -> [Certificate] {
        try PEMDocument.parseMultiple(pemString: text).filter { $0.discriminator == "CERTIFICATE" }.map {
            try Certificate(derEncoded: $0.derBytes)
        }
    }
}
