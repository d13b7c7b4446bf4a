import CRDT
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Why a server refused a WebSocket upgrade. The WebSocket client only learns that the upgrade
/// was declined (as a browser's WebSocket does); the server answered the request with an HTTP
/// status and a JSON `{"error": ...}` body, so this repeats it as a plain GET with the same
/// token and reads the answer.
enum UpgradeRefusal {
    /// At most this long for the second request: a server that refused at once answers at once.
    static let timeout: TimeInterval = 5

    /// "401 Unauthorized: token required ..." (nil when the server cannot be asked or did not refuse).
    static func explain(url: String, token: String?) async -> String? {
        guard let httpURL = httpURL(for: url) else { return nil }
        var request = URLRequest(url: httpURL)
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        guard let (data, response) = try? await URLSession.shared.data(for: request),
              let http = response as? HTTPURLResponse, http.statusCode >= 400 else { return nil }
        let phrase = HTTPURLResponse.localizedString(forStatusCode: http.statusCode).capitalized
        var text = "\(http.statusCode) \(phrase)"
        let body = String(decoding: data.prefix(4096), as: UTF8.self)
        if case let .object(fields)? = try? YAny.parseJSON(body), case let .string(message)? = fields.last(where: { $0.0 == "error" })?.1 {
            text += ": \(message)"
        }
        return text
    }

    /// The http(s) URL of a ws(s) URL (same host, port, path and query).
    static func httpURL(for url: String) -> URL? {
        guard var parts = URLComponents(string: url) else { return nil }
        switch parts.scheme {
        case "ws": parts.scheme = "http"
        case "wss": parts.scheme = "https"
        default: return nil
        }
        return parts.url
    }
}
