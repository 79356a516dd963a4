import Foundation

/// The repository's own files (deployment files, scripts, documentation) that tests read or run.
public enum Repository {
    /// The repository's root: this file is `Sources/RelayTestSupport/Repository.swift`.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The absolute path of `relativePath` in the repository.
    public static func path(_ relativePath: String) -> String {
        root.appendingPathComponent(relativePath).path
    }
}
