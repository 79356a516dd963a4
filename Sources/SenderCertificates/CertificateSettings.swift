import SenderKit

extension Setting {
    /// Where a source may fetch signing certificates from.
    public static let sourceCertificateURLs = Setting(
        "sources.<source>.certificate_urls",
        "RELAY_<SOURCE>_CERTIFICATE_URLS",
        "aws-sns, paypal: https URL prefixes signing certificates may be fetched from; * stands for one DNS label (default: the sender's own hosts)."
    )
    /// A PEM bundle trusted besides the system's roots.
    public static let sourceCertificateCAFile = Setting(
        "sources.<source>.certificate_ca_file",
        "RELAY_<SOURCE>_CERTIFICATE_CA_FILE",
        "aws-sns, paypal: PEM file of CA certificates trusted besides the system's, for the certificate's chain and the TLS connection that fetches it."
    )
    /// Whether a certificate host may resolve to a private address.
    public static let sourceCertificatePrivateAddresses = Setting(
        "sources.<source>.certificate_private_addresses",
        "RELAY_<SOURCE>_CERTIFICATE_PRIVATE_ADDRESSES",
        default: "false",
        kind: .boolean,
        "aws-sns, paypal: whether a certificate host may resolve to a loopback, private or link-local address (a local mirror; never needed for the senders' own hosts)."
    )

    /// The settings every certificate-fetching sender adds, in reference order.
    public static let certificateSettings = [
        sourceCertificateURLs, sourceCertificateCAFile, sourceCertificatePrivateAddresses,
    ]
}

extension SourceSettings {
    /// The fetcher of a source whose sender signs with certificates it names in each request.
    /// - Parameters:
    ///   - defaultURLs: the sender's own prefixes, used when `certificate_urls` is not set.
    ///   - subjects: the names the sender's certificates carry.
    /// - Throws: ``ConfigurationError`` naming `certificate_urls` or `certificate_ca_file`.
    public mutating func signingCertificateFetcher(
        defaultURLs: [String],
        subjects: [String]
    ) throws(ConfigurationError) -> SigningCertificateFetcher {
        let configured = try list(.sourceCertificateURLs)
        let policy: CertificateURLPolicy
        do {
            policy = try CertificateURLPolicy(prefixes: configured.isEmpty ? defaultURLs : configured)
        } catch {
            throw ConfigurationError(
                Setting.sourceCertificateURLs.forSource(name),
                "'\(error.prefix)' \(error.reason)"
            )
        }
        let caFile = try text(.sourceCertificateCAFile)
        let configuration = SigningCertificateFetcher.Configuration(
            urls: policy,
            subjects: subjects,
            caFile: caFile,
            allowsPrivateAddresses: try boolean(.sourceCertificatePrivateAddresses)
        )
        do {
            return try SigningCertificateFetcher(configuration)
        } catch {
            throw ConfigurationError(Setting.sourceCertificateCAFile.forSource(name), error.reason)
        }
    }
}
