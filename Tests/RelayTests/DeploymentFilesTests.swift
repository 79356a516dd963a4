import Foundation
import Relay
import RelayTestSupport
import SenderKit
import Senders
import Testing
import Yams

/// The deployment files parse, and name the image, ports, volume, settings and metrics the relay
/// actually has (so a renamed setting cannot silently break a deployment).
@Suite("Deployment files agree with the relay")
struct DeploymentFilesTests {
    static let root = Repository.root

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func yaml(_ path: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: text(path)).compactMap { $0 as? [String: Any] }
    }

    /// Every environment variable the relay reads.
    static let knownVariables = Set(
        (Setting.all + TestSenders.registry.senders.flatMap(\.settings)).map { $0.forSource("docutray").environment }
    )

    static func isKnown(_ variable: String) -> Bool {
        knownVariables.contains(variable) || (variable.hasPrefix("RELAY_KAFKA_PROPERTY_") && variable.count > 21)
    }

    @Test("deploy/relay.example.yaml is a valid configuration that shows every setting")
    func exampleConfiguration() throws {
        let secrets = FileManager.default.temporaryDirectory.appendingPathComponent(
            "example-secrets-\(UUID().uuidString)"
        ).path
        try "whsec_example_secret_1\n".write(toFile: secrets, atomically: true, encoding: .utf8)
        let path = Self.root.appendingPathComponent("deploy/relay.example.yaml").path
        let configuration = try RelayConfiguration.load(
            environment: ["RELAY_DOCUTRAY_SECRETS_FILE": secrets],
            configPath: path
        )
        #expect(configuration.kafka.properties["compression.type"] == "lz4")
        #expect(
            (configuration.source(named: "docutray")?.scheme as? DocutrayScheme)?.webhookURL
                == "https://hooks.example.com/webhooks/docutray"
        )
        let text = try Self.text("deploy/relay.example.yaml")
        for setting in Setting.all + DocutraySender().settings where !setting.key.isEmpty {
            let key = setting.forSource("docutray").key.split(separator: ".").last.map(String.init) ?? ""
            #expect(text.contains(key + ":"), "\(setting.key) is not in the example")
            #expect(
                text.contains(setting.forSource("docutray").environment.replacingOccurrences(of: "<NAME>", with: "")),
                "\(setting.environment)"
            )
        }
    }

    @Test("docker-compose.yml: the relay service's settings, volume, ports and health check")
    func compose() throws {
        let compose = try #require(try Self.yaml("docker-compose.yml").first)
        let services = try #require(compose["services"] as? [String: Any])
        #expect(services["kafka"] != nil)
        let relay = try #require(services["webhook-relay"] as? [String: Any])
        let environment = try #require(relay["environment"] as? [String: Any])
        for name in environment.keys { #expect(Self.isKnown(name), "unknown setting \(name) in docker-compose.yml") }
        #expect(environment["RELAY_KAFKA_BOOTSTRAP_SERVERS"] as? String == "kafka:9092")
        let buffer = try #require(environment["RELAY_BUFFER_PATH"] as? String)
        let volumes = try #require(relay["volumes"] as? [String])
        #expect(volumes.contains { $0.hasSuffix(":" + buffer) }, "the buffer directory is on a named volume")
        let port = try #require(environment["RELAY_HTTP_PORT"] as? String)
        let ports = try #require(relay["ports"] as? [String])
        #expect(ports.contains { $0.hasSuffix(":" + port) })
        let health = try #require((relay["healthcheck"] as? [String: Any])?["test"] as? [String])
        #expect(health == ["CMD", "webhook-relay", "probe", "--port", port])
        #expect(relay["image"] as? String == "webhook-relay:latest")
        let build = try #require(relay["build"] as? [String: Any])
        #expect(
            FileManager.default.fileExists(
                atPath: Self.root.appendingPathComponent(build["dockerfile"] as? String ?? "").path
            )
        )
        let named = try #require(compose["volumes"] as? [String: Any])
        #expect(named.keys.contains(try #require(volumes.first?.split(separator: ":").first.map(String.init))))
        for profile in ["kafka-ui", "prometheus", "grafana"] {
            #expect(services[profile] != nil, "\(profile) is offered")
        }
        // Secrets reach the relay as files (Compose secrets), never as environment values.
        for name in environment.keys where name.hasSuffix("_SECRETS") || name.hasSuffix("_TOKEN") {
            Issue.record("\(name) passes a secret in the environment")
        }
        let secretFiles = environment.filter { $0.key.hasSuffix("_FILE") }.compactMap { $0.value as? String }
        #expect(secretFiles.sorted() == ["/run/secrets/admin_token", "/run/secrets/docutray_secrets"])
        let mounted = try #require(relay["secrets"] as? [String])
        let declared = try #require(compose["secrets"] as? [String: Any])
        #expect(Set(mounted) == Set(declared.keys))
        #expect(secretFiles.allSatisfy { file in mounted.contains { file == "/run/secrets/" + $0 } })
    }

    @Test("docker-compose.yml profile ha: three replicas with their own volumes behind deploy/nginx's upstreams")
    func composeReplicas() throws {
        let compose = try #require(try Self.yaml("docker-compose.yml").first)
        let services = try #require(compose["services"] as? [String: Any])
        let single = try #require(services["webhook-relay"] as? [String: Any])
        let environment = try #require(single["environment"] as? [String: Any])
        let port = try #require(environment["RELAY_HTTP_PORT"] as? String)
        let buffer = try #require(environment["RELAY_BUFFER_PATH"] as? String)
        let upstreams = try Self.text("deploy/nginx/webhook-relay.conf").split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("server relay-") }
            .compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
        #expect(upstreams.count == 3)
        var volumes: Set<String> = []
        for upstream in upstreams {
            let parts = upstream.split(separator: ":").map(String.init)
            #expect(parts.count == 2 && parts[1] == port, "\(upstream) is the relay's webhook port")
            let replica = try #require(services[parts[0]] as? [String: Any], "a service named \(parts[0])")
            #expect(replica["profiles"] as? [String] == ["ha"])
            #expect(
                NSDictionary(dictionary: try #require(replica["environment"] as? [String: Any]))
                    .isEqual(to: environment),
                "\(parts[0]) has the relay's settings"
            )
            let mounted = try #require((replica["volumes"] as? [String])?.first)
            #expect(mounted.hasSuffix(":" + buffer))
            volumes.insert(String(mounted.split(separator: ":")[0]))
        }
        #expect(volumes.count == 3, "each replica has its own buffer volume")
        let named = try #require(compose["volumes"] as? [String: Any])
        #expect(volumes.isSubset(of: Set(named.keys)))
        let nginx = try #require(services["nginx"] as? [String: Any])
        #expect((nginx["volumes"] as? [String])?.first?.hasPrefix("./deploy/nginx/webhook-relay.conf:") == true)
    }

    @Test(
        "deploy/Dockerfile: Ubuntu 24.04 runtime with librdkafka1 ≥ 2.3, non-root, the volume and ports of its settings"
    )
    func dockerfile() throws {
        let lines = try Self.text("deploy/Dockerfile").split(separator: "\n").map(String.init)
        let bases = lines.filter { $0.hasPrefix("FROM ") }
        #expect(bases == ["FROM swift:6.3.1-noble AS build", "FROM ubuntu:24.04"], "multi-stage, both on Ubuntu 24.04")
        #expect(lines.contains { $0.contains("librdkafka1") })
        #expect(
            lines.contains { $0.contains("dpkg --compare-versions") && $0.contains("ge 2.3") },
            "the build refuses an older librdkafka"
        )
        #expect(lines.contains { $0.contains("--static-swift-stdlib") })
        #expect(lines.contains("USER 10001"))
        var environment: [String: String] = [:]
        var inEnv = false
        for line in lines {
            if line.hasPrefix("ENV ") { inEnv = true }
            guard inEnv else { continue }
            for pair in line.replacingOccurrences(of: "ENV ", with: "").split(separator: " ") where pair.contains("=") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                environment[String(parts[0])] = String(parts[1])
            }
            if !line.hasSuffix("\\") { inEnv = false }
        }
        for name in environment.keys { #expect(Self.isKnown(name), "unknown setting \(name) in the Dockerfile") }
        let buffer = try #require(environment["RELAY_BUFFER_PATH"])
        #expect(lines.contains { $0.hasPrefix("VOLUME") && $0.contains(buffer) })
        let expose = try #require(lines.first { $0.hasPrefix("EXPOSE") })
        #expect(expose.contains(try #require(environment["RELAY_HTTP_PORT"])))
        #expect(expose.contains(try #require(environment["RELAY_ADMIN_PORT"])))
    }

    @Test("deploy/kubernetes: StatefulSet, PVC, probes, ConfigMap and Secret match the relay's settings")
    func kubernetes() throws {
        let configMap = try #require(try Self.yaml("deploy/kubernetes/configmap.yaml").first)
        let data = try #require(configMap["data"] as? [String: Any])
        for name in data.keys { #expect(Self.isKnown(name), "unknown setting \(name) in the ConfigMap") }
        let secret = try #require(try Self.yaml("deploy/kubernetes/secret.yaml").first)
        let secretKeys = Set((secret["stringData"] as? [String: Any] ?? [:]).keys)

        let statefulSet = try #require(try Self.yaml("deploy/kubernetes/statefulset.yaml").first)
        #expect(statefulSet["kind"] as? String == "StatefulSet")
        let spec = try #require(statefulSet["spec"] as? [String: Any])
        let template = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((template["containers"] as? [[String: Any]])?.first)
        #expect(container["image"] as? String == "webhook-relay:latest")
        let env = try #require(container["env"] as? [[String: Any]])
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        let secretMount = try #require(mounts.first { $0["name"] as? String == "secrets" }?["mountPath"] as? String)
        for variable in env {
            let name = try #require(variable["name"] as? String)
            #expect(Self.isKnown(name), "unknown setting \(name) in the StatefulSet")
            if name.hasSuffix("_FILE"), let value = variable["value"] as? String {
                #expect(value.hasPrefix(secretMount + "/"))
                #expect(
                    secretKeys.contains(String(value.dropFirst(secretMount.count + 1))),
                    "\(value) is a key of the Secret"
                )
            }
        }
        let claim = try #require((spec["volumeClaimTemplates"] as? [[String: Any]])?.first)
        let claimName = try #require((claim["metadata"] as? [String: Any])?["name"] as? String)
        let bufferMount = try #require(mounts.first { $0["name"] as? String == claimName }?["mountPath"] as? String)
        #expect(bufferMount == data["RELAY_BUFFER_PATH"] as? String, "the PVC is mounted where the buffer is")
        let ports = try #require(container["ports"] as? [[String: Any]])
        func port(_ name: String) -> Int? { ports.first { $0["name"] as? String == name }?["containerPort"] as? Int }
        #expect(port("http").map(String.init) == data["RELAY_HTTP_PORT"] as? String)
        #expect(port("admin").map(String.init) == data["RELAY_ADMIN_PORT"] as? String)
        func probePath(_ probe: String) -> String? {
            ((container[probe] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String
        }
        #expect(probePath("readinessProbe") == "/readyz")
        #expect(probePath("livenessProbe") == "/healthz")
        #expect(container["resources"] != nil)
        let budget = try #require(try Self.yaml("deploy/kubernetes/poddisruptionbudget.yaml").first)
        #expect(budget["kind"] as? String == "PodDisruptionBudget")
        let services = try Self.yaml("deploy/kubernetes/service.yaml")
        #expect(services.contains { (($0["spec"] as? [String: Any])?["clusterIP"] as? String) == "None" })
        try Self.checkIngress(services: services)
        let kustomization = try #require(try Self.yaml("deploy/kubernetes/kustomization.yaml").first)
        for file in kustomization["resources"] as? [String] ?? [] {
            #expect(
                FileManager.default.fileExists(
                    atPath: Self.root.appendingPathComponent("deploy/kubernetes/" + file).path
                )
            )
        }
        let grace = try #require(template["terminationGracePeriodSeconds"] as? Int)
        let shutdown = try #require(data["RELAY_SHUTDOWN_TIMEOUT"] as? String)
        #expect(
            Double(grace) > Double(shutdown.dropLast()) ?? .infinity,
            "pods get longer than the relay's shutdown timeout"
        )
    }

    /// The Ingress routes to the webhook Service's port and hashes on the same delivery-id headers as
    /// the nginx configuration the replica tests run.
    static func checkIngress(services: [[String: Any]]) throws {
        let ingress = try #require(try Self.yaml("deploy/kubernetes/ingress.yaml").first)
        #expect(ingress["kind"] as? String == "Ingress")
        let annotations = try #require((ingress["metadata"] as? [String: Any])?["annotations"] as? [String: Any])
        let mapLine = try #require(
            try Self.text("deploy/nginx/webhook-relay.conf").split(separator: "\n").first { $0.hasPrefix("map \"") }
        )
        let nginxKey = try #require(mapLine.split(separator: "\"").dropFirst().first.map(String.init))
        #expect(annotations["nginx.ingress.kubernetes.io/upstream-hash-by"] as? String == nginxKey)
        #expect(
            annotations["nginx.ingress.kubernetes.io/proxy-next-upstream"] as? String
                == "error timeout http_503 non_idempotent"
        )
        let rules = try #require((ingress["spec"] as? [String: Any])?["rules"] as? [[String: Any]])
        let paths = try #require(((rules.first?["http"] as? [String: Any])?["paths"] as? [[String: Any]]))
        let backend = try #require((paths.first?["backend"] as? [String: Any])?["service"] as? [String: Any])
        let webhookService = try #require(
            services.first { (($0["metadata"] as? [String: Any])?["name"] as? String) == backend["name"] as? String }
        )
        let servicePorts = try #require((webhookService["spec"] as? [String: Any])?["ports"] as? [[String: Any]])
        let portName = try #require((backend["port"] as? [String: Any])?["name"] as? String)
        #expect(servicePorts.contains { $0["name"] as? String == portName })
    }

    @Test("deploy/systemd: known settings, the state directory as the buffer, sandboxing")
    func systemd() throws {
        let lines = try Self.text("deploy/systemd/webhook-relay.service").split(separator: "\n").map(String.init)
        var environment: [String: String] = [:]
        for line in lines where line.hasPrefix("Environment=") {
            let parts = line.dropFirst("Environment=".count).split(separator: "=", maxSplits: 1)
            environment[String(parts[0])] = String(parts[1])
        }
        for name in environment.keys { #expect(Self.isKnown(name), "unknown setting \(name) in the unit") }
        let state = try #require(lines.first { $0.hasPrefix("StateDirectory=") }?.split(separator: "=").last)
        #expect(environment["RELAY_BUFFER_PATH"] == "/var/lib/\(state)")
        #expect(lines.contains { $0.hasPrefix("ExecStart=") && $0.hasSuffix(" serve") })
        #expect(lines.contains("ExecReload=/bin/kill -HUP $MAINPID"), "systemctl reload sends SIGHUP")
        for option in ["NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes"] {
            #expect(lines.contains(option))
        }
    }

    @Test("Alert rules and the dashboard use only metrics the relay exports")
    func monitoring() throws {
        let alerts = try #require(try Self.yaml("deploy/prometheus/alerts.yml").first)
        let groups = try #require(alerts["groups"] as? [[String: Any]])
        var expressions = groups.flatMap {
            ($0["rules"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        #expect(expressions.count >= 6)
        let dashboard = try #require(
            try JSONSerialization.jsonObject(with: Data(Self.text("deploy/grafana/webhook-relay-dashboard.json").utf8))
                as? [String: Any]
        )
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            expressions += (panel["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        let pattern = try NSRegularExpression(pattern: "relay_[a-z_]+")
        for expression in expressions {
            let range = NSRange(expression.startIndex..., in: expression)
            for match in pattern.matches(in: expression, range: range) {
                var name = String(expression[Range(match.range, in: expression)!])
                for suffix in ["_bucket", "_sum", "_count"]
                where name.hasSuffix(suffix) && !RelayMetrics.names.contains(name) {
                    name = String(name.dropLast(suffix.count))
                }
                #expect(RelayMetrics.names.contains(name), "\(name) in '\(expression)' is not exported")
            }
        }
        let prometheus = try #require(try Self.yaml("deploy/prometheus/prometheus.yml").first)
        let scrape = try #require((prometheus["scrape_configs"] as? [[String: Any]])?.first)
        #expect(scrape["metrics_path"] as? String == "/metrics")
    }
}
