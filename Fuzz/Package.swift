// swift-tools-version:6.2

import PackageDescription

// libFuzzer targets, in their own package so normal builds never carry sanitizer flags. Build with
//   swift build -Xswiftc -sanitize=fuzzer,address
// (scripts/fuzz.sh builds and runs them; see SECURITY.md). Each target's main calls libFuzzer's driver.
let package = Package(
    name: "webhook-relay-fuzz",
    dependencies: [
        .package(name: "webhook-relay", path: ".."),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        // What the header targets share: reading an input as a header block and a body.
        .target(name: "FuzzSupport", dependencies: [.product(name: "HTTPTypes", package: "swift-http-types")]),
        .executableTarget(
            name: "fuzz-headers",
            dependencies: [
                "CLibFuzzer",
                "FuzzSupport",
                .product(name: "SenderKit", package: "webhook-relay"),
                .product(name: "Senders", package: "webhook-relay"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "fuzz-senders",
            dependencies: [
                "CLibFuzzer",
                "FuzzSupport",
                .product(name: "SenderKit", package: "webhook-relay"),
                .product(name: "Senders", package: "webhook-relay"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "fuzz-envelope",
            dependencies: [
                "CLibFuzzer",
                .product(name: "Relay", package: "webhook-relay"),
                .product(name: "SenderKit", package: "webhook-relay"),
                .product(name: "Senders", package: "webhook-relay"),
            ]
        ),
        .executableTarget(
            name: "fuzz-log-reader",
            dependencies: [
                "CLibFuzzer",
                .product(name: "RetryBuffer", package: "webhook-relay"),
                .product(name: "RetryBufferTestKit", package: "webhook-relay"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
    ],
    // Top-level code hands global state to a C callback; Swift 5 mode keeps that simple.
    swiftLanguageModes: [.v5]
)
