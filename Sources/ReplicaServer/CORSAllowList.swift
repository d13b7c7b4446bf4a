import HTTPTypes
import Hummingbird

/// CORS with an allow-list of origins (`*` allows any, as the seed does). Answers every
/// `OPTIONS` preflight itself.
struct CORSAllowList<Context: RequestContext>: RouterMiddleware {
    let origins: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        if request.method == .options {
            var response = Response(status: .noContent)
            addHeaders(to: &response, origin: origin)
            response.headers[.accessControlMaxAge] = "86400"
            return response
        }
        // With an allow-list, a browser's cross-origin "simple" POST (no preflight) must not
        // change anything: refused here. Requests without Origin (scripts, curl) pass.
        if !Self.safeMethods.contains(request.method), !allows(origin) {
            return errorResponse(.forbidden, "origin not allowed (--cors-origin)")
        }
        do {
            var response = try await next(request, context)
            addHeaders(to: &response, origin: origin)
            return response
        } catch let error as HTTPResponseError {
            // One error shape everywhere, `{"error": "..."}` (Hummingbird's own is
            // `{"error": {"message": ...}}`, or no body at all).
            var response = errorResponse(error.status, Self.message(error, request))
            if let headers = (error as? HTTPError)?.headers {
                for field in headers { response.headers[field.name] = field.value }
            }
            addHeaders(to: &response, origin: origin)
            return response
        }
    }

    /// The error's own message, else what its status means here.
    static func message(_ error: any HTTPResponseError, _ request: Request) -> String {
        if let message = (error as? HTTPError)?.body { return message }
        switch error.status {
        case .notFound: return "no such endpoint: \(request.method) \(request.uri.path)"
        case .contentTooLarge: return "the body is too large"
        default: return error.status.reasonPhrase.lowercased()
        }
    }

    private static var safeMethods: [HTTPRequest.Method] { [.get, .head, .options] }

    /// Whether a request with this `Origin` header may change state or open a WebSocket: no
    /// header (not a browser), `*` in the list, or the origin listed.
    func allows(_ origin: String?) -> Bool {
        guard let origin else { return true }
        return origins.contains("*") || origins.contains(origin)
    }

    private func addHeaders(to response: inout Response, origin: String?) {
        if origins.contains("*") {
            response.headers[.accessControlAllowOrigin] = "*"
        } else if let origin, origins.contains(origin) {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.vary] = "Origin"
        } else {
            return
        }
        response.headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
        response.headers[.accessControlAllowHeaders] = "Content-Type, Authorization"
    }
}
