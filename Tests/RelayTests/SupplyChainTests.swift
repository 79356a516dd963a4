import Foundation
import RelayTestSupport
import Testing

/// What the project pulls in from outside is pinned, checked or kept to what each command needs.
@Suite("Supply chain: pinned dependencies, a license, and set-up that installs only what it needs")
struct SupplyChainTests {
    static func text(_ path: String) throws -> String {
        try String(contentsOf: Repository.root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The packages `scripts/install-deps.sh PURPOSE` would install on a machine that has nothing,
    /// asked of the script itself (a dry run with a `PATH` that finds no tool).
    static func packages(for purpose: String) async throws -> [String] {
        let bin = FileManager.default.temporaryDirectory.appendingPathComponent("deps-path-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: bin) }
        // The script needs only these two to run; every tool it looks for is then missing.
        for tool in ["/usr/bin/dirname", "/usr/bin/id"] {
            try FileManager.default.createSymbolicLink(
                atPath: bin.appendingPathComponent((tool as NSString).lastPathComponent).path,
                withDestinationPath: tool
            )
        }
        let result = try await ChildProcess.run(
            "/bin/bash",
            [Repository.path("scripts/install-deps.sh"), purpose],
            environment: ["PATH": bin.path, "INSTALL_DEPS_DRY_RUN": "1"]
        )
        try #require(result.status == 0, "install-deps.sh \(purpose): \(result.stderr)")
        let line = try #require(
            result.stdout.split(separator: "\n").first { $0.hasPrefix("install-deps: would install") }
        )
        return line.dropFirst("install-deps: would install ".count).split(separator: " ").map(String.init)
    }

    @Test("make run installs what running needs (librdkafka and pkg-config), not the tests' browser, proxies or JDK")
    func runInstallsOnlyWhatRunningNeeds() async throws {
        #expect(try await Self.packages(for: "run") == ["pkg-config", "librdkafka-dev"])
        let makefile = try Self.text("Makefile")
        #expect(makefile.contains("run: deps\n"))
        #expect(makefile.contains("deps:\n\t@./scripts/install-deps.sh run\n"))
        #expect(makefile.contains("test: deps-test\n"))
        let test = try await Self.packages(for: "test")
        #expect(test.contains("librdkafka-dev") && test.contains("golang-go") && !test.contains("valgrind"))
        #expect(try await Self.packages(for: "bench").contains("valgrind"))
    }

    @Test("Package.swift names every dependency by an exact version; Package.resolved is not committed")
    func swiftPackagesPinned() throws {
        for manifest in ["Package.swift", "Benchmarks/Package.swift", "Fuzz/Package.swift"] {
            let lines = try Self.text(manifest).split(separator: "\n").filter { $0.contains(".package(url:") }
            #expect(!lines.isEmpty, "\(manifest) names no package")
            for line in lines {
                #expect(line.contains("exact: \""), "\(manifest): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(try Self.text(".gitignore").split(separator: "\n").contains("Package.resolved"))
    }

    @Test("Every requirements.txt pins each package to one version")
    func pythonPackagesPinned() throws {
        let files =
            ["Tests/SenderLibraries/requirements.txt", "Tests/Console/requirements.txt"]
            + ["examples/consumers/python/requirements.txt"]
        for file in files {
            let requirements = try Self.text(file).split(separator: "\n")
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            #expect(!requirements.isEmpty)
            for requirement in requirements {
                let parts = requirement.components(separatedBy: "==")
                #expect(
                    parts.count == 2 && !parts[1].isEmpty && !parts[1].contains(where: { "<>=~*,".contains($0) }),
                    "\(file): \(requirement) is not pinned"
                )
            }
        }
    }

    @Test("The Tansu wheel is checked by its sha256 before it runs; base images carry exact version tags")
    func downloadsChecked() throws {
        let script = try Self.text("scripts/test-compat.sh")
        let hash = try #require(script.firstMatch(of: /tansu_sha256=([0-9a-f]{64})/)?.1)
        #expect(script.contains("sha256sum -c"))
        #expect(script.range(of: "sha256sum -c")!.lowerBound < script.range(of: "chmod +x")!.lowerBound)
        #expect(hash.count == 64)
        let images =
            try Self.text("deploy/Dockerfile").split(separator: "\n").filter { $0.hasPrefix("FROM ") }
            .map { String($0.split(separator: " ")[1]) }
            + Self.text("docker-compose.yml").split(separator: "\n")
            .compactMap { $0.firstMatch(of: /^\s*image:\s*(\S+)/).map { String($0.1) } }
            .filter { !$0.hasPrefix("webhook-relay:") }
        #expect(images.count >= 6)
        for image in images {
            let tag = image.split(separator: ":").last.map(String.init) ?? ""
            // An exact version has at least major.minor.patch, or a dated release (ubuntu:24.04).
            let exact = tag.firstMatch(of: /^v?\d+\.\d+(\.\d+)?(-[a-z]+)?$/) != nil && tag != "latest"
            #expect(exact && (tag.split(separator: ".").count >= 3 || image.hasPrefix("ubuntu:")), "\(image)")
        }
    }

    @Test("LICENSE is the Apache License 2.0, and the README names it")
    func license() throws {
        let license = try Self.text("LICENSE")
        #expect(license.contains("Apache License\n                           Version 2.0, January 2004"))
        #expect(license.contains("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"))
        #expect(try Self.text("README.md").contains("[Apache License 2.0](LICENSE)"))
    }
}
