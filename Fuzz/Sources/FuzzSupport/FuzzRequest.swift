import HTTPTypes

/// How the header fuzz targets read their input: "name: value" lines, an empty line, a body.
public enum FuzzRequest {
    /// Splits `bytes` into header fields (lines whose name is a valid field name) and a body.
    public static func parse(_ bytes: some Collection<UInt8>) -> (fields: HTTPFields, body: [UInt8]) {
        let all = Array(bytes)
        let split = all.firstRange(of: [10, 10] as [UInt8])
        let head = split.map { Array(all[..<$0.lowerBound]) } ?? all
        let body = split.map { Array(all[$0.upperBound...]) } ?? []
        var fields = HTTPFields()
        for line in head.split(separator: 10) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            let value = line[line.index(after: colon)...].drop { $0 == UInt8(ascii: " ") }
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: String(decoding: value, as: UTF8.self)))
        }
        return (fields, body)
    }
}
