// swift-tools-version:6.2

import PackageDescription

// Benchmarks live in their own package so the relay's users never build them.
let package = Package(
    name: "webhook-relay-benchmarks",
    dependencies: [
        .package(name: "webhook-relay", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", exact: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "relay-bench",
            dependencies: [
                .product(name: "Relay", package: "webhook-relay"),
                .product(name: "RelayKafka", package: "webhook-relay"),
                .product(name: "RelayPrimitives", package: "webhook-relay"),
                .product(name: "RetryBuffer", package: "webhook-relay"),
                .product(name: "SenderKit", package: "webhook-relay"),
                .product(name: "Senders", package: "webhook-relay"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        )
    ]
)
