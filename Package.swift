// swift-tools-version:6.2

import PackageDescription

/// Settings shared by every target of this package: Swift 6 language mode comes with the tools version;
/// these add the upcoming features the project relies on and make every warning an error.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

// Linux only: the buffer opens files through Glibc and tunes glibc's allocator (mallopt), so no
// Apple platform is declared.
let package = Package(
    name: "webhook-relay",
    products: [
        .executable(name: "webhook-relay", targets: ["webhook-relay"]),
        .library(name: "Relay", targets: ["Relay"]),
        .library(name: "RelayTools", targets: ["RelayTools"]),
        .library(name: "SenderKit", targets: ["SenderKit"]),
        .library(name: "Senders", targets: ["Senders"]),
        .library(name: "SenderCertificates", targets: ["SenderCertificates"]),
        .library(name: "RelayKafka", targets: ["RelayKafka"]),
        .library(name: "AWSAuth", targets: ["AWSAuth"]),
        .library(name: "RelayPrimitives", targets: ["RelayPrimitives"]),
        .library(name: "RetryBuffer", targets: ["RetryBuffer"]),
        .library(name: "RetryBufferTestKit", targets: ["RetryBufferTestKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-collections.git", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        // OTLP/HTTP only: the gRPC exporter's packages are not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", exact: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", exact: "1.7.3"),
    ],
    targets: [
        // librdkafka from Debian's librdkafka-dev; only RelayKafka imports it.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "RelayKafka",
            dependencies: [
                "CRdKafka",
                "CSystemShims",
                "RelayPrimitives",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // glibc allocator settings (mallopt is not visible from Swift's Glibc module) and the hook that runs
        // tasks on the event loops.
        .target(name: "CProcessTuning"),
        // CRC-32C with SSE 4.2's crc32 instruction, for the buffer's record frames.
        .target(name: "CCRC32C"),
        // System calls Swift's Glibc module does not show or shows unreliably: O_DIRECT opens, thread
        // names, address parsing and a free loopback port.
        .target(name: "CSystemShims"),
        // The leaf every module may use: time conversions, RFC 3339, the wall clock, CRC-32C and
        // constant-time comparison.
        .target(
            name: "RelayPrimitives",
            dependencies: ["CCRC32C"],
            swiftSettings: strictSettings
        ),
        // The disk log behind the retry buffer; knows nothing of Kafka or HTTP.
        .target(
            name: "RetryBuffer",
            dependencies: [
                "CSystemShims",
                "RelayPrimitives",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // The plug-in API a sender implements, and what senders share (HMAC, base64, JSON fields).
        .target(
            name: "SenderKit",
            dependencies: [
                "RelayPrimitives",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        // Signing certificates named by requests (Amazon SNS, PayPal): fetched under allowed
        // prefixes from public addresses, chain, validity and subject checked, keys cached.
        // AWS credentials (the default chain, an assumed role) and Amazon MSK IAM tokens for the
        // producer's OAUTHBEARER; signs with swift-crypto, fetches with async-http-client.
        .target(
            name: "AWSAuth",
            dependencies: [
                "RelayKafka",
                "RelayPrimitives",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SenderCertificates",
            dependencies: [
                "CSystemShims",
                "RelayPrimitives",
                "SenderKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSettings
        ),
        // One folder per sender (Docutray, GitHub, Stripe…); the core never imports this.
        .target(
            name: "Senders",
            dependencies: [
                "RelayPrimitives",
                "SenderCertificates",
                "SenderKit",
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Relay",
            dependencies: [
                "AWSAuth",
                "CProcessTuning",
                "CSystemShims",
                "RelayKafka",
                "RelayPrimitives",
                "RetryBuffer",
                "SenderKit",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            // The console's script as edited and checked (node --check); ConsoleScript.swift embeds it.
            exclude: ["Admin/Console/console.js"],
            swiftSettings: strictSettings
        ),
        // Operator tooling over the core: the buffer commands (admin API or a stopped relay's
        // directory), `dev` (with a local HTTPS certificate host and its own CA), `sign`.
        .target(
            name: "RelayTools",
            dependencies: [
                "Relay",
                "RelayKafka",
                "RelayPrimitives",
                "RetryBuffer",
                "SenderCertificates",
                "SenderKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "webhook-relay",
            dependencies: [
                "AWSAuth",
                "Relay",
                "RelayTools",
                "RelayKafka",
                "RelayPrimitives",
                "SenderKit",
                "Senders",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // A process that installs the event-loop executor hook and reports how tasks then run
        // (the hook is process-wide and permanent, so the tests run it as a child).
        .executableTarget(
            name: "executor-probe",
            dependencies: [
                "Relay",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/ExecutorProbe",
            swiftSettings: strictSettings
        ),
        // Helpers shared by the test targets: a raw HTTP client, a running relay, fixtures.
        .target(
            name: "RelayTestSupport",
            dependencies: [
                "Relay",
                "RelayKafka",
                "RelayPrimitives",
                "RelayTools",
                "SenderKit",
                "Senders",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            resources: [
                .copy("Resources/docutray-signatures.json"), .copy("Resources/sender-signatures.json"),
                .copy("Resources/sender-signatures-2.json"),
            ],
            swiftSettings: strictSettings
        ),
        // An in-memory file system that can fill up and lose unsynced data, for the buffer's tests.
        .target(
            name: "RetryBufferTestKit",
            dependencies: ["RelayPrimitives", "RetryBuffer"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RelayPrimitivesTests",
            dependencies: ["RelayPrimitives"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RetryBufferTests",
            dependencies: [
                "RelayPrimitives",
                "RetryBuffer",
                "RetryBufferTestKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RelayTests",
            dependencies: [
                "Relay",
                "RelayKafka",
                "RelayPrimitives",
                "RelayTestSupport",
                "RelayTools",
                "RetryBuffer",
                "RetryBufferTestKit",
                "SenderKit",
                "Senders",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Relay",
                "RelayKafka",
                "RelayPrimitives",
                "RetryBuffer",
                "RelayTestSupport",
                "RelayTools",
                "SenderKit",
                "Senders",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SendersTests",
            dependencies: [
                "RelayTestSupport",
                "SenderCertificates",
                "SenderKit",
                "Senders",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AWSAuthTests",
            dependencies: [
                "AWSAuth",
                "RelayKafka",
                "RelayPrimitives",
                "RelayTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RelayKafkaTests",
            dependencies: [
                "RelayKafka",
                "RelayPrimitives",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
