import Relay

/// The raw HTTP client tests use (the same one the CLI uses for the admin API).
public typealias HTTPTestClient = MinimalHTTPClient

/// An HTTP answer read by ``HTTPTestClient``.
public typealias TestResponse = HTTPAnswer
