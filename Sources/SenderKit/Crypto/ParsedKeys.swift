/// Public keys parsed once, when a scheme is built, rather than on every request. swift-crypto
/// 3.12's key types are immutable values that are safe to share but not marked `Sendable`; this box
/// says so for them.
public final class ParsedKeys<Key>: @unchecked Sendable {
    public let keys: [Key]

    public init(_ keys: [Key]) {
        self.keys = keys
    }
}
