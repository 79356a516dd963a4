import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL

/// The webhook listener's HTTP/1.1 server, over TLS when a certificate and key are configured
/// (for deployments without a terminating proxy).
enum IngressTLS {
    static func serverBuilder(_ http: RelayConfiguration.HTTP, idleTimeout: TimeAmount) throws -> HTTPServerBuilder {
        let plain = HTTPServerBuilder.http1(configuration: .init(idleTimeout: idleTimeout))
        guard let certificatePath = http.tlsCertificatePath, let keyPath = http.tlsKeyPath else { return plain }
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        return try .tls(plain, tlsConfiguration: tls)
    }
}
