import SenderKit
import Yams

/// A parsed YAML configuration file: nested maps, lists and scalar text.
indirect enum ConfigTree: Sendable {
    case scalar(String)
    case list([ConfigTree])
    case map([(String, ConfigTree)])

    /// Parses YAML text; an empty document is an empty map.
    static func parse(yaml: String, path: String) throws(ConfigurationError) -> ConfigTree {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError(
                key: "",
                environment: Setting.configFile.environment,
                problem: "\(path) is not valid YAML: \(describe(error))"
            )
        }
        guard let node else { return .map([]) }
        let tree = try convert(node, path: "")
        guard case .map = tree else {
            throw ConfigurationError(
                key: "",
                environment: Setting.configFile.environment,
                problem: "\(path) must hold a YAML mapping"
            )
        }
        return tree
    }

    /// What is wrong and where (line and column), never the text there: the offending line may
    /// hold a secret (Yams' own description quotes it).
    static func describe(_ error: any Error) -> String {
        func at(_ mark: Mark) -> String { "line \(mark.line), column \(mark.column)" }
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return "\(problem) at \(at(mark))" + (context.map { " (\($0.text) at \(at($0.mark)))" } ?? "")
        case .reader(let problem, let offset, _, let yaml):
            guard let offset else { return problem }
            let before = yaml.utf8.prefix(offset)
            let line = before.count { $0 == UInt8(ascii: "\n") } + 1
            let column =
                before.count
                - (before.lastIndex(of: UInt8(ascii: "\n")).map { before.distance(from: before.startIndex, to: $0) + 1 }
                    ?? 0) + 1
            return "\(problem) at line \(line), column \(column)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "duplicate keys \(duplicates.joined(separator: ", ")) at \(at(context.mark))"
        default:
            return "it cannot be read as YAML"
        }
    }

    private static func convert(_ node: Node, path: String) throws(ConfigurationError) -> ConfigTree {
        switch node {
        case .scalar(let scalar):
            return .scalar(scalar.string)
        case .sequence(let sequence):
            var items: [ConfigTree] = []
            for (index, item) in sequence.enumerated() {
                items.append(try convert(item, path: "\(path)[\(index)]"))
            }
            return .list(items)
        case .mapping(let mapping):
            var pairs: [(String, ConfigTree)] = []
            for (key, value) in mapping {
                guard let name = key.scalar?.string else {
                    throw ConfigurationError(key: path, problem: "mapping keys must be plain text")
                }
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                pairs.append((name, try convert(value, path: childPath)))
            }
            return .map(pairs)
        case .alias:
            throw ConfigurationError(key: path, problem: "YAML aliases are not supported")
        }
    }

    /// The subtree at a dotted path.
    func node(at path: String) -> ConfigTree? {
        var current = self
        for component in path.split(separator: ".") {
            guard case .map(let pairs) = current, let next = pairs.first(where: { $0.0 == component })?.1 else {
                return nil
            }
            current = next
        }
        return current
    }

    /// Every leaf path (`kafka.publish_timeout`, `kafka.properties.linger.ms`…) under this tree.
    func leafPaths(prefix: String = "") -> [String] {
        switch self {
        case .scalar, .list:
            return [prefix]
        case .map(let pairs):
            if pairs.isEmpty { return prefix.isEmpty ? [] : [prefix] }
            return pairs.flatMap { key, value in value.leafPaths(prefix: prefix.isEmpty ? key : "\(prefix).\(key)") }
        }
    }
}
