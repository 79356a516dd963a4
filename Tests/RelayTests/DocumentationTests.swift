import Foundation
import Relay
import RelayKafka
import RelayTestSupport
import SenderKit
import Senders
import Testing

@Suite("Documentation stays true")
struct DocumentationTests {
    /// The repository root, found from this file's location.
    static let root = Repository.root

    @Test("Every secured-Kafka recipe in docs/kafka-security.md is a configuration config check accepts, as written")
    func kafkaRecipesLoad() throws {
        let page = try String(
            contentsOf: Self.root.appendingPathComponent("docs/kafka-security.md"),
            encoding: .utf8
        )
        let recipes = page.matches(
            of: /<!-- recipe: ([a-z0-9-]+) -->\n```yaml\n([\s\S]*?)```\n(?:\n```sh\n([\s\S]*?)```)?/
        )
        #expect(recipes.count == 6, "Confluent API key and OIDC, MSK SCRAM and IAM, Event Hubs, mTLS")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recipes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for recipe in recipes {
            let name = String(recipe.output.1)
            let file = directory.appendingPathComponent("\(name).yaml")
            try Data(recipe.output.2.utf8).write(to: file)
            var environment = ["RELAY_GITHUB_SECRETS": "a-github-webhook-secret-of-some-length"]
            // The password files the recipe names, made with a stand-in secret.
            for line in (recipe.output.3 ?? "").split(separator: "\n") where line.hasPrefix("RELAY_") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                let secret = directory.appendingPathComponent("\(name)-\(parts[0])")
                try Data("stand-in-secret".utf8).write(to: secret)
                environment[parts[0]] = secret.path
            }
            let load = { try RelayConfiguration.load(environment: environment, configPath: file.path) }
            if name == "confluent-cloud-oidc", !Librdkafka.builtinFeatures.contains("oidc") {
                #expect(
                    performing: load,
                    throws: { error in
                        (error as? ConfigurationError)?.key == "kafka.properties.sasl.oauthbearer.method"
                    }
                )
            } else {
                let configuration = try load()
                #expect(configuration.kafka.properties["security.protocol"] != nil, "\(name)")
                let redacted = configuration.redactedMetadata.values.map { "\($0)" }
                #expect(
                    !redacted.contains { $0.contains("stand-in-secret") },
                    "\(name): a file's secret is never shown"
                )
            }
        }
    }

    @Test("The README's configuration reference names every setting and its variable")
    func readmeListsEverySetting() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let senderSettings = TestSenders.registry.senders.flatMap { sender in sender.settings.map { (sender.name, $0) }
        }
        for (source, setting) in Setting.all.map({ ("docutray", $0) }) + senderSettings {
            let docutray = setting.forSource(source)
            #expect(
                readme.contains("`\(docutray.environment)`") || readme.contains("`\(setting.environment)`"),
                "\(setting.environment)"
            )
            if !setting.key.isEmpty {
                #expect(readme.contains("`\(docutray.key)") || readme.contains("`\(setting.key)"), "\(setting.key)")
            }
        }
    }

    @Test("Every sender has a row in the README's sender table linking its page, and the page says what to paste where")
    func everySenderHasAPage() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let pages = Self.root.appendingPathComponent("docs/senders")
        for sender in TestSenders.registry.senders {
            let link = "docs/senders/\(sender.name).md"
            #expect(readme.contains("| [`\(sender.name)`](\(link)) |"), "no README row for \(sender.name)")
            let page = try String(contentsOf: pages.appendingPathComponent("\(sender.name).md"), encoding: .utf8)
            #expect(page.contains("Scheme `\(sender.name)`"), "\(link) names its scheme")
            #expect(page.contains("What to paste where"), "\(link)")
            #expect(page.contains("webhook-relay dev"), "\(link) has a try-it line")
        }
        let listed = try FileManager.default.contentsOfDirectory(atPath: pages.path).filter { $0.hasSuffix(".md") }
        #expect(Set(listed) == Set(TestSenders.registry.names.map { "\($0).md" }), "a page for no sender")
    }

    @Test("The README's module table names every module of Package.swift, and only those")
    func moduleTableMatchesThePackage() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        // Every library, system and executable target (test targets are listed in the tree below it).
        let modules = manifest.matches(of: /\.(?:target|systemLibrary|executableTarget)\(\s*name: "([^"]+)"/).map {
            String($0.output.1)
        }
        #expect(modules.count >= 14)
        let start = try #require(readme.range(of: "### Modules and what each may import"))
        let end = try #require(readme.range(of: "### One request", range: start.upperBound..<readme.endIndex))
        let table = readme[start.upperBound..<end.lowerBound].split(separator: "\n").filter { $0.hasPrefix("| `") }
        let listed = Set(
            table.flatMap { row in
                (row.split(separator: "|").first ?? "").matches(of: /`([^`]+)`/).map { String($0.output.1) }
            }
        )
        #expect(
            Set(modules) == listed,
            "in Package.swift only: \(Set(modules).subtracting(listed)); in the README only: \(listed.subtracting(modules))"
        )
    }

    @Test("The README starts with the two commands, and CI runs the test command")
    func twoCommands() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let opening = readme.split(separator: "\n").prefix(6).joined(separator: "\n")
        #expect(opening.contains("make run"))
        #expect(opening.contains("make test"))
        let ci = try String(contentsOf: Self.root.appendingPathComponent(".ci/run"), encoding: .utf8)
        #expect(ci.split(separator: "\n").contains("make test"))
    }
}
