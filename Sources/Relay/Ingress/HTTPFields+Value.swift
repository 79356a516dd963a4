import HTTPTypes

extension HTTPFields {
    /// The value of the field `name`, as `self[name]` gives it, without making a new string when the
    /// field appears once (the usual case). The subscript joins every value through generic lazy
    /// sequences, which costs about a microsecond a look-up on the request path.
    func value(of name: HTTPField.Name) -> String? {
        guard let first = firstIndex(where: { $0.name == name }) else { return nil }
        // Several fields of one name keep the subscript's meaning: their values joined by commas.
        guard !self[index(after: first)...].contains(where: { $0.name == name }) else { return self[name] }
        return self[first].value
    }
}
