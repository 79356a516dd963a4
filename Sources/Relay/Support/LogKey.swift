/// Structured log metadata keys, in one place so log queries stay stable.
enum LogKey {
    static let source = "source"
    static let deliveryID = "request_id"
    static let eventType = "event_type"
    static let topic = "topic"
    static let status = "status"
    static let error = "error"
    static let reason = "reason"
}
