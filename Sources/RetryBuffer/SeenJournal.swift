import Logging

/// A delivery the relay accepted, remembered across restarts so that a retry or replay of it is
/// recognized (replay protection survives a restart).
public struct SeenDelivery: Sendable, Hashable {
    public var source: String
    public var deliveryID: String
    /// The CRC-32C of the body; `nil` for a delivery remembered by a relay before version 4 of this
    /// journal's entries, whose digest (a SHA-256 prefix) cannot be compared with a CRC.
    public var bodyChecksum: UInt32?
    /// When it may be forgotten (Unix seconds).
    public var expiresAt: Int64

    public init(source: String, deliveryID: String, bodyChecksum: UInt32?, expiresAt: Int64) {
        self.source = source
        self.deliveryID = deliveryID
        self.bodyChecksum = bodyChecksum
        self.expiresAt = expiresAt
    }
}

/// The seen-deliveries journal: `seen/seen-<bucket>.log` files, one per minute of expiry time, so
/// that forgetting expired deliveries is deleting whole files. Written lazily by the buffer's writer
/// thread (a crash forgets at most the last maintenance interval's deliveries).
final class SeenJournal {
    static let folderName = "seen"
    static let magic = Array("WRSEEN01".utf8)
    static let bucketSeconds: Int64 = 60
    /// An entry with the body's CRC-32C.
    static let kind: UInt8 = 4
    /// An entry written before, with a 128-bit SHA-256 prefix of the body; still read.
    static let sha256Kind: UInt8 = 3

    private let directory: String
    private let fileSystem: any BufferFileSystem
    private var files: [Int64: (file: any BufferFile, size: Int)] = [:]
    private var dirty = Set<Int64>()
    /// The size of every bucket file on disk, those written before this start included; `nil`
    /// until the folder is first read.
    private var sizes: [Int64: Int]?

    init(bufferDirectory: String, fileSystem: any BufferFileSystem) {
        self.directory = bufferDirectory + "/" + Self.folderName
        self.fileSystem = fileSystem
    }

    static func fileName(_ bucket: Int64) -> String { "seen-\(bucket).log" }

    static func encode(_ delivery: SeenDelivery) -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.u8(BufferCodec.version)
        // A delivery without a checksum (restored from an older relay) keeps the older kind, so it
        // reads back without one instead of with a checksum of 0.
        writer.u8(delivery.bodyChecksum == nil ? sha256Kind : kind)
        writer.string(delivery.source)
        writer.string(delivery.deliveryID)
        if let checksum = delivery.bodyChecksum {
            writer.u32(checksum)
        } else {
            writer.u64(0)
            writer.u64(0)
        }
        writer.i64(delivery.expiresAt)
        return RecordFrame.encode(writer.bytes)
    }

    static func decode(_ payload: [UInt8]) throws(ByteReader.Malformed) -> SeenDelivery {
        var reader = ByteReader(payload)
        guard try reader.u8() == BufferCodec.version else { throw ByteReader.Malformed() }
        let entryKind = try reader.u8()
        guard entryKind == kind || entryKind == sha256Kind else { throw ByteReader.Malformed() }
        let source = try reader.string()
        let deliveryID = try reader.string()
        let bodyChecksum: UInt32?
        if entryKind == kind {
            bodyChecksum = try reader.u32()
        } else {
            _ = (try reader.u64(), try reader.u64())
            bodyChecksum = nil
        }
        return SeenDelivery(
            source: source,
            deliveryID: deliveryID,
            bodyChecksum: bodyChecksum,
            expiresAt: try reader.i64()
        )
    }

    /// Every unexpired delivery on disk; damaged entries are skipped.
    static func load(
        bufferDirectory: String,
        fileSystem: any BufferFileSystem,
        now: Int64,
        logger: Logger
    ) -> [SeenDelivery] {
        let folder = bufferDirectory + "/" + folderName
        guard let names = try? fileSystem.contents(ofDirectory: folder) else { return [] }
        var deliveries: [SeenDelivery] = []
        for name in names where name.hasPrefix("seen-") && name.hasSuffix(".log") {
            guard let file = try? fileSystem.open(folder + "/" + name, create: false),
                let bytes = try? file.read(at: 0, count: (try? file.size) ?? 0),
                bytes.count >= SegmentScanner.fileHeaderSize, bytes.starts(with: magic)
            else { continue }
            var offset = SegmentScanner.fileHeaderSize
            while case .frame(let payload, let next) = RecordFrame.scan(bytes, at: offset) {
                if let delivery = try? decode(Array(bytes[payload])), delivery.expiresAt > now {
                    deliveries.append(delivery)
                }
                offset = next
            }
        }
        logger.debug("Loaded seen deliveries", metadata: ["count": "\(deliveries.count)"])
        return deliveries
    }

    /// Appends deliveries to their bucket files, one write per bucket (writer thread only).
    func append(_ deliveries: [SeenDelivery]) throws(FileIOError) {
        var frames: [Int64: [UInt8]] = [:]
        for delivery in deliveries {
            frames[delivery.expiresAt / Self.bucketSeconds * Self.bucketSeconds, default: []] += Self.encode(delivery)
        }
        for (bucket, bytes) in frames {
            if files[bucket] == nil {
                try fileSystem.createSubdirectory(directory)
                let file = try fileSystem.open(directory + "/" + Self.fileName(bucket), create: true)
                var size = try file.size
                if size < SegmentScanner.fileHeaderSize {
                    let header = SegmentScanner.fileHeader(magic: Self.magic, number: UInt64(bitPattern: bucket))
                    try file.truncate(to: 0)
                    try file.write(header, at: 0)
                    size = header.count
                    try fileSystem.synchronizeDirectory(directory)
                }
                files[bucket] = (file, size)
            }
            try files[bucket]!.file.write(bytes, at: files[bucket]!.size)
            files[bucket]!.size += bytes.count
            dirty.insert(bucket)
            if sizes != nil { sizes![bucket] = files[bucket]!.size }
        }
    }

    /// Bytes the journal takes on disk (they count toward the buffer's maximum size).
    var totalBytes: Int {
        get {
            if sizes == nil { sizes = scanSizes() }
            return sizes!.values.reduce(0, +)
        }
    }

    private func scanSizes() -> [Int64: Int] {
        var sizes: [Int64: Int] = [:]
        for name in (try? fileSystem.contents(ofDirectory: directory)) ?? [] {
            guard let bucket = Self.bucket(ofFile: name) else { continue }
            sizes[bucket] =
                files[bucket]?.size ?? (try? fileSystem.open(directory + "/" + name, create: false).size) ?? 0
        }
        return sizes
    }

    private static func bucket(ofFile name: String) -> Int64? {
        guard name.hasPrefix("seen-"), name.hasSuffix(".log") else { return nil }
        return Int64(name.dropFirst("seen-".count).dropLast(".log".count))
    }

    /// Makes appended deliveries durable and deletes buckets that have fully expired.
    func maintain(now: Int64) {
        for bucket in dirty { try? files[bucket]?.file.synchronize() }
        dirty.removeAll()
        guard let names = try? fileSystem.contents(ofDirectory: directory) else { return }
        for name in names {
            guard let bucket = Self.bucket(ofFile: name), bucket + Self.bucketSeconds <= now else { continue }
            files[bucket] = nil
            sizes?[bucket] = nil
            try? fileSystem.remove(directory + "/" + name)
        }
    }
}
