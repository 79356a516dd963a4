/// What a signing secret or admin token must be: long enough, and not a value copied from the
/// documentation.
enum SecretStrength {
    /// Shorter secrets are refused at start.
    static let minimumLength = 16
    /// Shorter secrets start with a warning.
    static let recommendedLength = 32

    /// Whether `secret` is a placeholder from the documentation or the deployment files
    /// (`replace-me…`, `whsec_replace_me_with_the_docutray_secret`, `changeme`).
    static func isPlaceholder(_ secret: String) -> Bool {
        let letters = String(secret.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic })
        return ["replaceme", "changeme", "yoursecret", "secrethere"].contains { letters.contains($0) }
    }
}
