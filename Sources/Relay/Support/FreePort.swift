import CSystemShims

/// Finds a TCP port on 127.0.0.1 that is free right now.
package enum FreePort {
    package struct Unavailable: Error, CustomStringConvertible {
        package var description: String { "could not find a free TCP port on 127.0.0.1" }
    }

    package static func find() throws -> Int {
        let port = relay_free_loopback_port()
        guard port > 0 else { throw Unavailable() }
        return Int(port)
    }
}
