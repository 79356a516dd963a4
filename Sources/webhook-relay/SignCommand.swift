import ArgumentParser
import Foundation
import Relay

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a JSON payload as Docutray would and print a ready-to-run curl command.",
        discussion: """
            The secret and URL come from RELAY_DOCUTRAY_SECRETS (first secret) or RELAY_DOCUTRAY_SECRETS_FILE,
            and RELAY_DOCUTRAY_WEBHOOK_URL, unless given as options. Pipe the output to `sh` to send it.
            """
    )

    @Option(name: .long, help: "Event type, e.g. CONVERSION_COMPLETED.")
    var event: String

    @Option(name: .long, help: "Delivery id (default: a new random id).")
    var requestID: String?

    @Option(name: .long, help: "Signed Unix timestamp in seconds (default: now).")
    var timestamp: Int64?

    @Option(name: .long, help: "Signing secret (default: the first of $RELAY_DOCUTRAY_SECRETS).")
    var secret: String?

    @Option(name: .long, help: "Webhook URL as registered in Docutray (default: $RELAY_DOCUTRAY_WEBHOOK_URL).")
    var webhookURL: String?

    @Option(name: .long, help: "Where curl sends the request, if not the webhook URL.")
    var target: String?

    @Option(name: .long, help: "Output: curl (a command) or headers (one 'name: value' line each).")
    var format: SignedRequest.Format = .curl

    @Argument(help: "JSON payload file, or - for standard input.")
    var file: String

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard EventTypeName.isValid(event) else {
            throw ValidationError("--event \(EventTypeName.rule)")
        }
        let docutray = RelayConfiguration.Source.Scheme.docutray.rawValue
        guard let secret = try secret ?? RelayConfiguration.secrets(ofSource: docutray, environment: environment).first
        else {
            throw ValidationError("no secret: pass --secret or set RELAY_DOCUTRAY_SECRETS")
        }
        guard let webhookURL = webhookURL ?? environment["RELAY_DOCUTRAY_WEBHOOK_URL"], !webhookURL.isEmpty else {
            throw ValidationError("no webhook URL: pass --webhook-url or set RELAY_DOCUTRAY_WEBHOOK_URL")
        }
        let body: [UInt8]
        let source: SignedRequest.BodySource
        if file == "-" {
            body = Array(FileHandle.standardInput.readDataToEndOfFile())
            source = .inline
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            body = Array(data)
            source = .file(path: file)
        }
        let request = SignedRequest(
            body: body,
            bodySource: source,
            event: event,
            requestID: requestID ?? SignedRequest.newRequestID(),
            timestamp: timestamp ?? Int64(Date().timeIntervalSince1970),
            signer: DocutraySigner(secret: secret, webhookURL: webhookURL),
            targetURL: target
        )
        print(request.rendered(as: format), terminator: "")
    }
}

extension SignedRequest.Format: ExpressibleByArgument {}
