import Foundation
import RelayTestSupport
import Testing

@testable import Relay

/// The console's script is edited as JavaScript (`console.js`, which `make lint` parses with
/// `node --check`) and shipped in the binary as a Swift string; the two must not drift apart.
@Suite("Console script")
struct ConsoleScriptTests {
    @Test("The embedded script is console.js, byte for byte (run scripts/embed-console.py after editing it)")
    func embeddedScriptIsTheFile() throws {
        let file = try String(
            contentsOfFile: Repository.path("Sources/Relay/Admin/Console/console.js"),
            encoding: .utf8
        )
        #expect(AdminConsole.script == file)
    }
}
