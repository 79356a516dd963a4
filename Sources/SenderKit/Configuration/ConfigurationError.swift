/// A configuration value that is missing or wrong. The message names the key, its environment
/// variable and the problem, and never quotes a secret.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The YAML key, e.g. `kafka.publish_timeout`.
    public var key: String
    /// The environment variable of the key, if it has one.
    public var environment: String?
    /// What is wrong.
    public var problem: String

    public init(key: String, environment: String? = nil, problem: String) {
        self.key = key
        self.environment = environment
        self.problem = problem
    }

    /// An error about `setting`, named by its key and variable.
    public init(_ setting: Setting, _ problem: String) {
        self.init(key: setting.key, environment: setting.environment, problem: problem)
    }

    public var description: String {
        let name = [key.isEmpty ? nil : key, environment.map { key.isEmpty ? $0 : "(\($0))" }]
            .compactMap { $0 }
            .joined(separator: " ")
        return "invalid configuration: \(name): \(problem)"
    }
}
