import Foundation
import Relay
import RelayKafka
import RelayPrimitives
import RelayTestSupport
import SenderKit
import Senders
import Synchronization
import Testing

/// Three relays behind the load balancers shipped in `deploy/` (real nginx and HAProxy processes,
/// from Debian's packages), on one mock cluster: retries stay on their replica, a replica killed
/// under load loses nothing, and one that cannot make events durable is routed around.
@Suite("Replicas behind a load balancer", .serialized)
struct ReplicaTests {
    static let topic = "docutray.conversion.completed"

    @Test(
        "A retry of a delivery reaches the replica that accepted it and is published once",
        .timeLimit(.minutes(2)),
        arguments: LoadBalancer.Kind.allCases
    )
    func retryStaysOnItsReplica(_ kind: LoadBalancer.Kind) async throws {
        let cluster = try MockKafkaCluster()
        let stripeSecret = "whsec_" + String(repeating: "ab", count: 32)
        let group = try await ReplicaGroup.start(cluster: cluster, extra: ["RELAY_STRIPE_SECRETS": stripeSecret])
        defer { group.stop() }
        let balancer = try await LoadBalancer.start(kind, replicas: group.ports)
        defer { balancer.stop() }

        let ids = (0..<30).map { "req_retry_\(kind)_\($0)" }
        for id in ids {
            let first = try await RelayProcess.post(id, document: id, port: balancer.port)
            #expect(first.status == 202, "\(first.bodyText)")
            let retry = try await RelayProcess.post(id, document: id, port: balancer.port)
            #expect(retry.status == 200 && retry.bodyText.contains(#""duplicate""#), "\(id): \(retry.bodyText)")
        }
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .waitForMessages(topic: Self.topic, count: ids.count, timeout: .seconds(30))
        let published = messages.compactMap { $0.header("ce_id") }
        #expect(published.sorted() == ids.sorted(), "each id once")
        let perReplica = try await group.webhookRequests()
        #expect(perReplica.allSatisfy { $0 > 0 }, "the ids are spread over all replicas: \(perReplica)")
        #expect(perReplica.reduce(0, +) == 2 * ids.count)

        // Stripe names the delivery in the body only. HAProxy reads it from there, so the retry is
        // a duplicate too; nginx cannot, so a retry may be published again. Either way every 202 is
        // exactly one record and a duplicate answer adds none.
        let stripe = try #require(
            try RelayConfiguration.loadSources(environment: group.relays[0].environment, senders: TestSenders.registry)
                .first { $0.name == "stripe" }
        ).scheme
        var accepted = 0
        for number in 0..<12 {
            let body = Array(
                #"{"id":"evt_retry_\#(number)","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_\#(number)"}}}"#
                    .utf8
            )
            for _ in 0..<2 {
                let headers = try stripe.signedHeaders(
                    OutgoingDelivery(body: body, timestamp: Int64(Date().timeIntervalSince1970))
                )
                let answer = try await HTTPTestClient.send(
                    port: balancer.port,
                    path: "/webhooks/stripe",
                    headers: headers.map { ($0.name, $0.value) },
                    body: body
                )
                #expect(answer.status == 202 || answer.status == 200, "\(answer.bodyText)")
                if answer.status == 202 { accepted += 1 }
            }
        }
        if kind == .haproxy { #expect(accepted == 12, "HAProxy hashes Stripe's body id: every retry a duplicate") }
        let stripeRecords = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .waitForMessages(topic: "stripe.payment_intent.succeeded", count: accepted, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(300))
        let settled = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .readAll(topic: "stripe.payment_intent.succeeded")
        #expect(stripeRecords.count == accepted && settled.count == accepted, "one record per 202")
        print("replicas (\(kind)): Stripe retries published again: \(accepted - 12) of 12")
    }

    /// What happens to the killed replica's directory afterwards.
    enum Recovery: String, CustomTestStringConvertible, Sendable {
        /// The replica restarts on its directory.
        case restart
        /// It never comes back: its volume is attached elsewhere and `replay --path` publishes it.
        case replayFromPath
        var testDescription: String { rawValue }
    }

    @Test(
        "SIGKILL of one replica under load: every delivery answered 2xx reaches Kafka; retries succeed on the others",
        .timeLimit(.minutes(3)),
        arguments: [(LoadBalancer.Kind.nginx, Recovery.restart), (.haproxy, .replayFromPath)]
    )
    func killOneReplicaUnderLoad(_ kind: LoadBalancer.Kind, _ recovery: Recovery) async throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic(Self.topic, partitions: 8)
        let group = try await ReplicaGroup.start(cluster: cluster)
        defer { group.stop() }
        let balancer = try await LoadBalancer.start(kind, replicas: group.ports)
        defer { balancer.stop() }

        // Senders as a webhook sender behaves: each delivery is retried until it is answered 2xx.
        let tally = SenderTally()
        let load = Task {
            await withTaskGroup(of: Void.self) { senders in
                for sender in 0..<12 {
                    senders.addTask {
                        var number = 0
                        while !tally.stopped.load(ordering: .relaxed) {
                            let id = "req_kill_\(kind)_\(sender)_\(number)"
                            number += 1
                            tally.sent.add(1, ordering: .relaxed)
                            for _ in 0..<150 {
                                tally.attempts.add(1, ordering: .relaxed)
                                let answer = try? await RelayProcess.post(id, document: id, port: balancer.port)
                                if let answer, (200..<300).contains(answer.status) {
                                    _ = tally.acknowledged.withLock { $0.insert(id) }
                                    break
                                }
                                tally.refused.add(1, ordering: .relaxed)
                                try? await Task.sleep(for: .milliseconds(100))
                            }
                        }
                    }
                }
            }
        }
        // Load; then Kafka goes away (the replicas buffer); then replica 2 is killed holding pending
        // events; then Kafka comes back while the load goes on without replica 2.
        try await Task.sleep(for: .milliseconds(800))
        try cluster.setBrokerDown()
        try await Task.sleep(for: .milliseconds(1500))
        let killed = group.relays[1]
        killed.process.signal(SIGKILL)
        _ = await killed.process.waitForExit()
        try await Task.sleep(for: .milliseconds(500))
        try cluster.setBrokerUp()
        try await Task.sleep(for: .milliseconds(1500))
        tally.stopped.store(true, ordering: .relaxed)
        await load.value

        let recovered: Int
        switch recovery {
        case .restart:
            let restarted = try await RelayProcess.start(
                cluster: cluster,
                buffer: group.buffers[1],
                extra: ["RELAY_HTTP_PORT": String(killed.port)]
            )
            group.replace(1, with: restarted)
            let opened = try #require(
                restarted.process.standardError.split(separator: "\n").first { $0.contains("Retry buffer opened") }
            )
            recovered = try #require(
                opened.split(separator: " ").first { $0.hasPrefix("buffer.pending=") }.flatMap { Int($0.dropFirst(15)) }
            )
        case .replayFromPath:
            // The volume, detached, is attached to another machine at another path.
            let attached = group.buffers[1] + "-attached"
            try FileManager.default.moveItem(atPath: group.buffers[1], toPath: attached)
            let replay = try await ChildProcess.run(
                RelayExecutable.path,
                ["replay", "--path", attached, "--state", "pending", "--json"],
                environment: killed.environment
            )
            #expect(replay.status == 0, "\(replay.stderr)")
            let result = try #require(
                try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as? [String: Any]
            )
            recovered = try #require(result["replayed"] as? Int)
            #expect(result["failed"] as? Int ?? 0 == 0)
        }
        #expect(recovered > 0, "the killed replica held pending events")

        let acknowledged = tally.acknowledged.withLock { $0 }
        let consumer = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        var records: [KafkaMessage] = []
        repeat {
            records = try await consumer.readAll(topic: Self.topic)
            if Set(records.compactMap { $0.header("ce_id") }).isSuperset(of: acknowledged) { break }
            try await Task.sleep(for: .milliseconds(300))
        } while ContinuousClock.now < deadline
        let published = records.compactMap { $0.header("ce_id") }
        let lost = acknowledged.subtracting(published)
        let sent = tally.sent.load(ordering: .relaxed)
        #expect(lost.isEmpty, "answered 2xx but not in Kafka: \(lost.sorted().prefix(20))")
        #expect(acknowledged.count == sent, "every delivery was accepted in the end (the senders' retries succeeded)")
        #expect(Set(published).isSubset(of: acknowledged), "nothing but the senders' deliveries")
        #expect(sent > 50, "the load ran: \(sent) deliveries")
        print(
            "replicas (\(kind), \(recovery)): \(sent) deliveries sent in \(tally.attempts.load(ordering: .relaxed)) requests, "
                + "\(tally.refused.load(ordering: .relaxed)) refused and retried, \(acknowledged.count) acknowledged, "
                + "\(recovered) recovered from the killed replica's buffer, \(published.count) records in Kafka, "
                + "\(published.count - Set(published).count) duplicates, \(lost.count) lost"
        )
    }

    @Test(
        "A replica that cannot make events durable (cut off from Kafka, no room in its buffer) is routed around",
        .timeLimit(.minutes(2)),
        arguments: LoadBalancer.Kind.allCases
    )
    func unreadyReplicaIsRoutedAround(_ kind: LoadBalancer.Kind) async throws {
        let cluster = try MockKafkaCluster()
        // Replica 3 reaches no Kafka and has a 1 MiB buffer, which the sender below fills.
        let cutOff = [
            "RELAY_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:\(try FreePort.find())",
            "RELAY_KAFKA_WARMUP_TIMEOUT": "200ms",
            "RELAY_BUFFER_MAX_SIZE": "1MiB",
            "RELAY_BUFFER_SEGMENT_SIZE": "1MiB",
        ]
        let group = try await ReplicaGroup.start(cluster: cluster, extra: [:], lastExtra: cutOff)
        defer { group.stop() }
        let full = try await Self.fillBuffer(port: group.ports[2])
        #expect(full > 0, "replica 3 buffered \(full) deliveries before it was full")
        let readiness = try await HTTPTestClient.send(port: group.ports[2], method: "GET", path: "/readyz")
        #expect(readiness.status == 503, "\(readiness.bodyText)")
        let before = try await group.webhookRequests()
        let balancer = try await LoadBalancer.start(kind, replicas: group.ports)
        defer { balancer.stop() }
        if kind == .haproxy {
            // HAProxy's own health check takes it out.
            try await balancer.process.waitForOutput(containing: "relay-3 is DOWN", inErrors: true)
        }

        let ids = (0..<30).map { "req_unready_\(kind)_\($0)" }
        for id in ids {
            let answer = try await RelayProcess.post(id, document: id, port: balancer.port)
            #expect(answer.status == 202, "\(id) on the first attempt: \(answer.status) \(answer.bodyText)")
        }
        let messages = try await KafkaConsumer(bootstrapServers: cluster.bootstrapServers)
            .waitForMessages(topic: Self.topic, count: ids.count, timeout: .seconds(30))
        #expect(messages.compactMap { $0.header("ce_id") }.sorted() == ids.sorted())
        let perReplica = zip(try await group.webhookRequests(), before).map { $0 - $1 }
        switch kind {
        case .haproxy:
            #expect(perReplica[2] == 0, "HAProxy sent nothing to the unready replica: \(perReplica)")
        case .nginx:
            // nginx has no active checks: the first request hashed to it gets its 503 and goes on to
            // the next replica, and nginx passes it over for fail_timeout (10 s).
            #expect(perReplica[2] <= 1, "nginx passes over the replica after one 503: \(perReplica)")
        }
        #expect(perReplica[0] + perReplica[1] == ids.count)
    }

    /// Posts deliveries straight to a relay that reaches no Kafka, ever smaller, until even a small
    /// one is refused: its buffer is full. Returns how many it took.
    static func fillBuffer(port: Int) async throws -> Int {
        var factory = DeliveryFactory()
        factory.timestamp = Int64(Date().timeIntervalSince1970)
        var accepted = 0
        for padding in [262_144, 32_768, 4_096, 512, 16] {
            while true {
                let id = "req_fill_\(accepted)_\(padding)"
                let body = Array(
                    #"{"conversion_id":"\#(id)","padding":"\#(String(repeating: "x", count: padding))"}"#.utf8
                )
                let answer = try await HTTPTestClient.send(
                    port: port,
                    path: "/webhooks/docutray",
                    headers: factory.headers(body: body, event: "CONVERSION_COMPLETED", deliveryID: id),
                    body: body
                )
                guard answer.status == 202 else {
                    #expect(answer.status == 503, "a full buffer refuses with 503: \(answer.bodyText)")
                    break
                }
                accepted += 1
            }
        }
        return accepted
    }
}

/// Three `webhook-relay serve` processes on one cluster, each with its own buffer directory.
final class ReplicaGroup: Sendable {
    let buffers: [String]
    private let running: Locked<[RelayProcess]>

    private init(buffers: [String], relays: [RelayProcess]) {
        self.buffers = buffers
        self.running = Locked(relays)
    }

    static func start(
        cluster: MockKafkaCluster,
        extra: [String: String] = [:],
        lastExtra: [String: String]? = nil
    ) async throws -> ReplicaGroup {
        var relays: [RelayProcess] = []
        var buffers: [String] = []
        for index in 0..<3 {
            let buffer = TestRelay.temporaryDirectory(prefix: "relay-replica-\(index + 1)")
            let settings = index == 2 ? extra.merging(lastExtra ?? [:]) { $1 } : extra
            relays.append(try await RelayProcess.start(cluster: cluster, buffer: buffer, extra: settings))
            buffers.append(buffer)
        }
        return ReplicaGroup(buffers: buffers, relays: relays)
    }

    var relays: [RelayProcess] { running.withLock { $0 } }
    var ports: [Int] { relays.map(\.port) }

    func replace(_ index: Int, with relay: RelayProcess) {
        running.withLock { $0[index] = relay }
    }

    /// Webhook requests each replica answered, from its `relay_requests_total`.
    func webhookRequests() async throws -> [Int] {
        var counts: [Int] = []
        for relay in relays {
            let metrics = try await HTTPTestClient.send(
                port: relay.adminPort,
                method: "GET",
                path: "/metrics",
                headers: [("authorization", "Bearer \(RelayProcess.adminToken)")]
            )
            counts.append(
                metrics.bodyText.split(separator: "\n")
                    .filter { $0.hasPrefix("relay_requests_total{") }
                    .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
                    .reduce(0) { $0 + Int($1) }
            )
        }
        return counts
    }

    func stop() {
        for relay in relays { relay.process.signal(SIGKILL) }
    }
}

/// nginx or HAProxy, run from the configuration in `deploy/` with the replicas' loopback ports.
struct LoadBalancer {
    enum Kind: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case nginx, haproxy
        var testDescription: String { rawValue }
    }

    let process: ChildProcess
    let port: Int

    static let repository = Repository.root

    /// The shipped file with `relay-N:8080` replaced by the replicas' ports and its listener moved.
    static func shipped(
        _ path: String,
        replicas: [Int],
        replacing listener: String,
        with bound: String
    ) throws -> String {
        var text = try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8)
        for (index, port) in replicas.enumerated() {
            let name = "relay-\(index + 1):8080"
            #expect(text.contains(name), "\(path) lists \(name)")
            text = text.replacingOccurrences(of: name, with: "127.0.0.1:\(port)")
        }
        #expect(text.contains(listener), "\(path) has '\(listener)'")
        return text.replacingOccurrences(of: listener, with: bound)
    }

    static func start(_ kind: Kind, replicas: [Int]) async throws -> LoadBalancer {
        let directory = TestRelay.temporaryDirectory(prefix: "relay-\(kind)")
        let port = try FreePort.find()
        let process: ChildProcess
        switch kind {
        case .nginx:
            let site = try shipped(
                "deploy/nginx/webhook-relay.conf",
                replicas: replicas,
                replacing: "listen 80;",
                with: "listen 127.0.0.1:\(port);"
            )
            try site.write(toFile: directory + "/webhook-relay.conf", atomically: true, encoding: .utf8)
            // One process (no workers to outlive it), logs on stderr, temporary files in the directory.
            let main = """
                daemon off;
                master_process off;
                pid \(directory)/nginx.pid;
                error_log stderr notice;
                events { worker_connections 512; }
                http {
                    access_log off;
                    client_body_temp_path \(directory)/body;
                    proxy_temp_path \(directory)/proxy;
                    fastcgi_temp_path \(directory)/fastcgi;
                    uwsgi_temp_path \(directory)/uwsgi;
                    scgi_temp_path \(directory)/scgi;
                    include \(directory)/webhook-relay.conf;
                }
                """
            try main.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
            process = try ChildProcess(
                "/usr/sbin/nginx",
                ["-p", directory, "-c", directory + "/nginx.conf", "-e", "stderr"]
            )
        case .haproxy:
            // The health check every 200 ms instead of 2 s, so the test need not wait.
            let configuration = try shipped(
                "deploy/haproxy/haproxy.cfg",
                replicas: replicas,
                replacing: "bind :80",
                with: "bind 127.0.0.1:\(port)"
            ).replacingOccurrences(of: "inter 2s", with: "inter 200ms")
            try configuration.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
            process = try ChildProcess("/usr/sbin/haproxy", ["-db", "-f", directory + "/haproxy.cfg"])
        }
        let balancer = LoadBalancer(process: process, port: port)
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while (try? await HTTPTestClient.send(port: port, method: "GET", path: "/healthz", timeout: .seconds(2)))?
            .status
            != 200
        {
            guard process.isRunning, ContinuousClock.now < deadline else {
                balancer.stop()
                throw HTTPTestClient.Failure(
                    description: "\(kind) did not start: \(process.standardError.suffix(2000))"
                )
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return balancer
    }

    func stop() { process.signal(SIGKILL) }
}

/// What the senders of the kill test did, shared between them.
private final class SenderTally: Sendable {
    let acknowledged = Locked<Set<String>>([])
    let sent = Atomic(0)
    let attempts = Atomic(0)
    let refused = Atomic(0)
    let stopped = Atomic(false)
}
