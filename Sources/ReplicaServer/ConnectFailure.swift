import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns what the network stack throws while dialling (NIO's connection and DNS errors,
/// hummingbird-websocket's upgrade failure) into a short reason a user can act on, without
/// library type names or errno numbers.
enum ConnectFailure {
    static func reason(_ error: any Error) -> String {
        if let errno = firstErrno(in: error, depth: 0) {
            let text = String(cString: strerror(errno)).lowercased()
            switch errno {
            case ECONNREFUSED: return "connection refused (is the server running there?)"
            case ETIMEDOUT: return "the connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "\(text) (check the address)"
            default: return text
            }
        }
        let described = "\(error)"
        if described.hasPrefix("DNS error") || described.contains("UnknownHost") {
            return "the host name does not resolve"
        }
        if isUpgradeRefusal(error) {
            return "the server refused the WebSocket upgrade (check the path, ws://HOST:PORT/parties/main/ROOM, and the token)"
        }
        return described
    }

    /// The server answered the upgrade request with something else than 101 (see `UpgradeRefusal`).
    static func isUpgradeRefusal(_ error: any Error) -> Bool { "\(error)".contains("upgrade failed") }

    /// The errno of the first `IOError` inside `error` (NIO nests it in per-address failures).
    private static func firstErrno(in value: Any, depth: Int) -> Int32? {
        if let io = value as? IOError { return io.errnoCode }
        guard depth < 6 else { return nil }
        for child in Mirror(reflecting: value).children {
            if let found = firstErrno(in: child.value, depth: depth + 1) { return found }
        }
        return nil
    }
}
