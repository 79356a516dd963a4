import RetryBuffer

/// Where the dedup memory lives across restarts: every confirmed delivery is remembered until it
/// expires, and what was remembered is handed back at start. The retry buffer is the store (its
/// seen journal); tests may use another.
protocol SeenDeliveryStore: Sendable {
    /// Persists one confirmed delivery (it may be written lazily: a crash may forget the last ones).
    func remember(_ key: DedupGuard.Key, digest: BodyDigest, expiresAt: Int64)

    /// What was remembered before this start and has not expired.
    /// What was remembered before this start and has not expired; a `nil` digest was remembered by
    /// an older relay in a form that cannot be compared (any body is then taken for a retry).
    var rememberedDeliveries: [(key: DedupGuard.Key, digest: BodyDigest?, expiresAt: Int64)] { get }
}

extension RetryBuffer: SeenDeliveryStore {
    func remember(_ key: DedupGuard.Key, digest: BodyDigest, expiresAt: Int64) {
        rememberSeen(
            SeenDelivery(
                source: key.source,
                deliveryID: key.deliveryID,
                bodyChecksum: digest.checksum,
                expiresAt: expiresAt
            )
        )
    }

    var rememberedDeliveries: [(key: DedupGuard.Key, digest: BodyDigest?, expiresAt: Int64)] {
        recoveredSeenDeliveries.map { seen in
            (
                DedupGuard.Key(source: seen.source, deliveryID: seen.deliveryID),
                seen.bodyChecksum.map(BodyDigest.init(checksum:)), seen.expiresAt
            )
        }
    }
}
