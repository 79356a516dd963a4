/// Identifies a record for its whole life: a sequence number, increasing in append order.
public struct RecordID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: RecordID, rhs: RecordID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// Where a record is in its life.
public enum RecordState: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Not yet acknowledged by Kafka; it will be drained (published) again.
    case pending = 0
    /// Acknowledged by Kafka; kept for the archive retention, then deleted.
    case delivered = 1
    /// Refused permanently and not accepted by the dead-letter topic either; kept for replay.
    case dead = 2
    /// Refused permanently and published to the dead-letter topic; kept like a delivered record.
    case deadLettered = 3

    /// Delivered and dead-lettered records are settled: nothing more happens to them.
    public var isSettled: Bool { self == .delivered || self == .deadLettered }

    public var description: String {
        switch self {
        case .pending: "pending"
        case .delivered: "delivered"
        case .dead: "dead"
        case .deadLettered: "dead-lettered"
        }
    }
}

/// One header of a buffered Kafka record.
public struct BufferedHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}

/// Everything needed to publish an event later, exactly as it would have been published now.
public struct BufferRecord: Sendable, Hashable {
    /// The relay source name, e.g. `github`.
    public var source: String
    /// The sender's delivery id (`ce_id`).
    public var deliveryID: String
    public var eventType: String
    public var topic: String
    public var key: [UInt8]?
    public var headers: [BufferedHeader]
    public var value: [UInt8]
    /// When the relay received the request (Unix milliseconds).
    public var receivedAt: Int64
    /// Publish attempts made so far.
    public var attempts: UInt32

    public init(
        source: String,
        deliveryID: String,
        eventType: String,
        topic: String,
        key: [UInt8]?,
        headers: [BufferedHeader],
        value: [UInt8],
        receivedAt: Int64,
        attempts: UInt32
    ) {
        self.source = source
        self.deliveryID = deliveryID
        self.eventType = eventType
        self.topic = topic
        self.key = key
        self.headers = headers
        self.value = value
        self.receivedAt = receivedAt
        self.attempts = attempts
    }

    /// A hash of the Kafka key (or the delivery id when there is no key): records with one key are
    /// published in order.
    public var orderingKey: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for byte in key ?? Array(deliveryID.utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// The binary payloads inside frames.
enum BufferCodec {
    static let recordKind: UInt8 = 1
    static let stateKind: UInt8 = 2
    static let version: UInt8 = 1

    /// A record frame with a placeholder id and header, for the writer to number and seal
    /// (``setID(_:inFrame:)``, ``RecordFrame/seal(_:)``): the body is copied once, into the frame.
    static func encodeRecordFrame(_ record: BufferRecord, state: RecordState) -> [UInt8] {
        let size = RecordFrame.headerSize + encodedSize(of: record)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var writer = ByteCursor(buffer)
            writer.zeros(RecordFrame.headerSize)
            writer.u8(version)
            writer.u8(recordKind)
            writer.u64(0)  // the id, set by the writer
            writer.u8(state.rawValue)
            writer.i64(record.receivedAt)
            writer.u32(record.attempts)
            writer.string(record.source)
            writer.string(record.deliveryID)
            writer.string(record.eventType)
            writer.string(record.topic)
            writer.blob(record.key)
            writer.u16(UInt16(min(record.headers.count, Int(UInt16.max))))
            for header in record.headers.prefix(Int(UInt16.max)) {
                writer.string(header.name)
                writer.blob(header.value)
            }
            writer.blob(record.value)
            precondition(writer.offset == size, "encodedSize(of:) disagrees with what was written")
            initialized = size
        }
    }

    /// The exact payload size ``encodeRecordFrame(_:state:)`` writes, so it allocates once.
    private static func encodedSize(of record: BufferRecord) -> Int {
        func string(_ text: String) -> Int { 2 + min(text.utf8.count, Int(UInt16.max)) }
        func blob(_ bytes: [UInt8]?) -> Int { 4 + (bytes?.count ?? 0) }
        var size = 1 + 1 + 8 + 1 + 8 + 4
        size += string(record.source) + string(record.deliveryID) + string(record.eventType) + string(record.topic)
        size += blob(record.key) + 2 + blob(record.value)
        for header in record.headers.prefix(Int(UInt16.max)) { size += string(header.name) + blob(header.value) }
        return size
    }

    /// Writes `id` into a frame from ``encodeRecordFrame(_:state:)`` (payload bytes 2–9, after
    /// version and kind).
    static func setID(_ id: RecordID, inFrame frame: inout [UInt8]) {
        frame.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: id.rawValue.littleEndian, toByteOffset: RecordFrame.headerSize + 2, as: UInt64.self)
        }
    }

    /// Decodes a record frame's payload; without `body`, the value is left empty (not copied) and
    /// only its size is returned.
    static func decodeRecord(
        _ payload: [UInt8],
        body: Bool = true
    ) throws(ByteReader.Malformed) -> (RecordID, RecordState, BufferRecord, valueSize: Int) {
        var reader = ByteReader(payload)
        guard try reader.u8() == version, try reader.u8() == recordKind else { throw ByteReader.Malformed() }
        let id = RecordID(rawValue: try reader.u64())
        guard let state = RecordState(rawValue: try reader.u8()) else { throw ByteReader.Malformed() }
        let receivedAt = try reader.i64()
        let attempts = try reader.u32()
        let source = try reader.string()
        let deliveryID = try reader.string()
        let eventType = try reader.string()
        let topic = try reader.string()
        let key = try reader.blob()
        var headers: [BufferedHeader] = []
        for _ in 0..<Int(try reader.u16()) {
            headers.append(BufferedHeader(name: try reader.string(), value: try reader.blob()))
        }
        let value: [UInt8]
        let valueSize: Int
        if body {
            guard let bytes = try reader.blob() else { throw ByteReader.Malformed() }
            value = bytes
            valueSize = bytes.count
        } else {
            valueSize = try reader.skipBlob()
            value = []
        }
        let record = BufferRecord(
            source: source,
            deliveryID: deliveryID,
            eventType: eventType,
            topic: topic,
            key: key,
            headers: headers,
            value: value,
            receivedAt: receivedAt,
            attempts: attempts
        )
        return (id, state, record, valueSize)
    }

    /// A state change of one record, appended to its segment's `.state` file.
    struct StateChange: Sendable, Hashable {
        var id: RecordID
        var state: RecordState
        var attempts: UInt32
        var reason: String
    }

    static func encodeState(_ change: StateChange) -> [UInt8] {
        var writer = ByteWriter(capacity: 32 + change.reason.utf8.count)
        writer.u8(version)
        writer.u8(stateKind)
        writer.u64(change.id.rawValue)
        writer.u8(change.state.rawValue)
        writer.u32(change.attempts)
        writer.string(change.reason)
        return writer.bytes
    }

    static func decodeState(_ payload: [UInt8]) throws(ByteReader.Malformed) -> StateChange {
        var reader = ByteReader(payload)
        guard try reader.u8() == version, try reader.u8() == stateKind else { throw ByteReader.Malformed() }
        let id = RecordID(rawValue: try reader.u64())
        guard let state = RecordState(rawValue: try reader.u8()) else { throw ByteReader.Malformed() }
        return StateChange(id: id, state: state, attempts: try reader.u32(), reason: try reader.string())
    }
}
