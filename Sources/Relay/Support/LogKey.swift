/// Structured log metadata keys, in one place so log queries stay stable.
public enum LogKey {
    public static let source = "source"
    public static let deliveryID = "request_id"
    public static let eventType = "event_type"
    public static let topic = "topic"
    public static let status = "status"
    public static let error = "error"
    public static let reason = "reason"
}
