import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL

/// The webhook listener's HTTP/1.1 server with its idle and request timeouts, over TLS when a
/// certificate and key are configured (for deployments without a terminating proxy).
enum IngressTLS {
    /// Plain HTTP/1.1 with `http.idle_timeout` and `http.request_timeout`: the admin listener's
    /// server, and the ingress's without TLS.
    static func plainServerBuilder(_ http: RelayConfiguration.HTTP) -> HTTPServerBuilder {
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadline.EndOfRequest()],
            idleTimeout: TimeAmount(http.idleTimeout)
        )
        let limit = TimeAmount(http.requestTimeout)
        return HTTPServerBuilder { responder in
            RequestDeadline.GuardedChannel(
                base: HTTP1Channel(responder: responder, configuration: configuration),
                limit: limit
            )
        }
    }

    static func serverBuilder(_ http: RelayConfiguration.HTTP) throws -> HTTPServerBuilder {
        let plain = plainServerBuilder(http)
        guard let certificatePath = http.tlsCertificatePath, let keyPath = http.tlsKeyPath else { return plain }
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return try .tls(plain, tlsConfiguration: tls)
    }
}
