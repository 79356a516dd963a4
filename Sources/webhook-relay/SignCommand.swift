import ArgumentParser
import Foundation
import Relay
import RelayTools
import SenderKit
import Senders

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a payload as its sender would and print a ready-to-run curl command.",
        discussion: """
            The source's secrets and settings come from the configuration (--config or RELAY_CONFIG, and \
            the RELAY_<SOURCE>_* variables, e.g. RELAY_GITHUB_SECRETS); the first secret signs. Senders \
            that name the event type in a header (docutray, github, shopify, generic-hmac with a header) \
            need --event; the others read it from the payload. Pipe the output to `sh` to send it.
            """
    )

    @Option(
        name: .long,
        help: "Source to sign for (default: the only configured source, else the first in registration order)."
    )
    var source: String?

    @Option(name: .long, help: "Event type, e.g. CONVERSION_COMPLETED, push, orders/create.")
    var event: String?

    @Option(
        name: .customLong("request-id"),
        help: "Delivery id (default: a new random id; senders that carry it in the body ignore it)."
    )
    var deliveryID: String?

    @Option(name: .long, help: "Signed Unix timestamp in seconds (default: now).")
    var timestamp: Int64?

    @Option(
        name: .long,
        help:
            "Signing secret (default: the source's first secret). Visible to other users in the process list: prefer --secret-file."
    )
    var secret: String?

    @Option(name: .long, help: "File whose first line is the signing secret (instead of --secret).")
    var secretFile: String?

    @Option(
        name: .long,
        help: """
            File holding the private key of a sender that signs with one (discord: hex; sendgrid: PEM);             the source's secrets are then its public keys. webhook-relay dev writes one for each such source.
            """
    )
    var signingKeyFile: String?

    @Option(
        name: .long,
        help: "aws-sns, paypal: the URL of the certificate for --signing-key-file (webhook-relay dev prints it)."
    )
    var certificateURL: String?

    @Option(name: .long, help: "docutray: the webhook URL as registered in Docutray (default: its webhook_url).")
    var webhookURL: String?

    @Option(name: .long, help: "Where curl sends the request (default: the signed URL, else this relay's listener).")
    var target: String?

    @Option(name: .long, help: "YAML configuration file (default: $RELAY_CONFIG).")
    var config: String?

    @Option(name: .long, help: "Output: curl (a command) or headers (one 'name: value' line each).")
    var format: SignedRequest.Format = .curl

    @Argument(help: "Payload file, or - for standard input.")
    var file: String

    func run() throws {
        var environment = ProcessInfo.processInfo.environment
        // The source named, or the one the configuration implies; flags then override its settings.
        let name = try source ?? defaultSourceName(in: try sources(environment))
        if secret != nil, secretFile != nil { throw ValidationError("pass --secret or --secret-file, not both") }
        if let secret { environment[Setting.sourceSecrets.forSource(name).environment] = secret }
        if let secretFile {
            // The file's secrets replace the configured ones, so its first signs.
            environment[Setting.sourceSecrets.forSource(name).environment] = nil
            environment[Setting.sourceSecretsFile.forSource(name).environment] = secretFile
        }
        if let webhookURL {
            environment[DocutraySender.webhookURL.forSource(name).environment] = webhookURL
        }
        guard let chosen = try sources(environment).first(where: { $0.name == name }) else {
            throw ValidationError(
                "no source named '\(name)' is configured (set RELAY_<NAME>_SECRETS, or pass --secret)"
            )
        }
        let body: [UInt8]
        let bodySource: SignedRequest.BodySource
        if file == "-" {
            body = Array(FileHandle.standardInput.readDataToEndOfFile())
            bodySource = .inline
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            body = Array(data)
            bodySource = .file(path: file)
        }
        var signingKey: String?
        if let signingKeyFile {
            guard let data = FileManager.default.contents(atPath: signingKeyFile) else {
                throw ValidationError("cannot read \(signingKeyFile)")
            }
            signingKey = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let delivery = OutgoingDelivery(
            body: body,
            eventType: event,
            deliveryID: deliveryID,
            timestamp: timestamp ?? Int64(Date().timeIntervalSince1970),
            signingKey: signingKey,
            certificateURL: certificateURL
        )
        let host = Setting.httpHost.value(in: environment).flatMap { $0 == "0.0.0.0" ? nil : $0 }
        let port = Setting.httpPort.value(in: environment) ?? ""
        let listener = "http://\(host ?? "127.0.0.1"):\(port)/webhooks/\(name)"
        guard let signer = chosen.scheme as? any WebhookSigner else {
            throw ValidationError(
                "\(name): \(chosen.sender.name) deliveries are signed with a key only the sender holds; "
                    + "the relay can verify them but not sign them"
            )
        }
        do {
            let request = try SignedRequest(
                delivery,
                bodySource: bodySource,
                signer: signer,
                targetURL: target ?? signer.signedURL ?? listener
            )
            print(request.rendered(as: format), terminator: "")
        } catch {
            throw ValidationError("\(name): \(error)")
        }
    }

    /// The configured sources, or a usage error naming what is wrong.
    private func sources(_ environment: [String: String]) throws -> [RelayConfiguration.Source] {
        do {
            return try RelayConfiguration.loadSources(
                environment: environment,
                configPath: config,
                senders: registeredSenders
            )
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The only configured source, or the first in registration order.
    private func defaultSourceName(in sources: [RelayConfiguration.Source]) throws -> String {
        let order = registeredSenders.names
        let first = sources.min { lhs, rhs in
            (order.firstIndex(of: lhs.sender.name) ?? .max, lhs.name) < (
                order.firstIndex(of: rhs.sender.name) ?? .max, rhs.name
            )
        }
        guard let first else { throw ValidationError("no source is configured: pass --source and set its secrets") }
        return first.name
    }
}

extension SignedRequest.Format: ExpressibleByArgument {}
