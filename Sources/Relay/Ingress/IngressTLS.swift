import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL

/// The webhook listener's HTTP/1.1 server with its idle and request timeouts, over TLS when a
/// certificate and key are configured (for deployments without a terminating proxy).
enum IngressTLS {
    static func serverBuilder(_ http: RelayConfiguration.HTTP) throws -> HTTPServerBuilder {
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestDeadline.EndOfRequest()],
            idleTimeout: TimeAmount(http.idleTimeout)
        )
        let limit = TimeAmount(http.requestTimeout)
        let plain = HTTPServerBuilder { responder in
            RequestDeadline.GuardedChannel(
                base: HTTP1Channel(responder: responder, configuration: configuration),
                limit: limit
            )
        }
        guard let certificatePath = http.tlsCertificatePath, let keyPath = http.tlsKeyPath else { return plain }
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return try .tls(plain, tlsConfiguration: tls)
    }
}
