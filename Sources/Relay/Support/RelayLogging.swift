import Logging

/// Process-wide logging set-up for the executable.
public enum RelayLogging {
    /// Installs the log handler once, at the configured level.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
