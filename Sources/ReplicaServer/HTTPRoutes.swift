import CRDT
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Replica
import RoomHost
import Sync

/// The HTTP API: the seed's `GET`/`POST /parties/<party>/:room`, and ours (`state`, `update`,
/// `text`, `/healthz`, `/metrics`). Errors are JSON `{"error": "..."}` with a fitting status.
struct HTTPRoutes {
    let server: ReplicaServer

    func register(on router: Router<BasicRequestContext>) {
        let base = "/parties/\(server.config.party)/:room"
        router.get("/healthz") { _, _ in
            let rooms = await server.host.loadedRooms.count
            let connections = Int64(server.connections.current)
            return json(.object([("connections", .integer(connections)), ("rooms", .integer(Int64(rooms))), ("status", .string("ok"))]))
        }
        router.get("/metrics") { request, _ in
            if let expected = server.config.metricsToken {
                let given = RoomAuthenticator.token(query: request.uri.queryParameters.get("token").map { String($0) },
                                                    authorization: request.headers[.authorization])
                guard let given, Self.sameSecret(given, expected) else {
                    server.host.counters.add("ysync_http_requests_total", labels: ["route": "metrics", "status": "401"])
                    return errorResponse(.unauthorized, "/metrics needs the metrics token (Authorization: Bearer TOKEN)")
                }
            }
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: await server.host.metrics())))
            response.headers[.contentType] = ServerMetrics.contentType
            return response
        }
        router.get(RouterPath(base)) { request, context in
            // An unknown room has no users, and asking creates nothing.
            try await route("users", request, context, needs: .read,
                            ifMissing: { json(Self.usersDocument([:], connections: 0)) }) { room in
                let states = await room.awarenessStates
                let connections = await room.connectionCount
                return json(Self.usersDocument(states, connections: connections))
            }
        }
        router.post(RouterPath(base)) { request, context in
            try await route("broadcast", request, context, needs: .write, readsBody: true) { room, body in
                // Before the JSON is parsed: a refused broadcast costs no more than its read.
                do throws(BroadcastRefusal) { try await room.admitBroadcast(bytes: body.readableBytes) } catch {
                    switch error {
                    case .tooLarge: throw HTTPError(.contentTooLarge, message: error.description)
                    case .tooMany, .tooManyBytes:
                        throw HTTPError(.tooManyRequests, headers: [.retryAfter: "1"], message: error.description)
                    }
                }
                let text = String(buffer: body)
                guard case let .object(fields)? = try? YAny.parseJSON(text) else {
                    throw HTTPError(.badRequest, message: "body must be a JSON object {\"requestId\", \"body\", \"name\"}")
                }
                let delivered = await room.broadcastText(text)
                var answer: [(String, YAny)] = [("delivered", .integer(Int64(delivered)))]
                if let id = fields.last(where: { $0.0 == "requestId" })?.1 { answer.append(("requestId", id)) }
                return json(.object(answer))
            }
        }
        router.get(RouterPath(base + "/state")) { request, context in
            try await route("state", request, context, needs: .read, ifMissing: {
                _ = try Self.stateVector(request)
                return Self.updateResponse(YDoc(clientID: 1).encodeStateAsUpdate())  // the empty document
            }) { room in
                Self.updateResponse(await room.state(since: try Self.stateVector(request)))
            }
        }
        router.post(RouterPath(base + "/update")) { request, context in
            try await route("update", request, context, needs: .write, readsBody: true) { room, body in
                do throws(RoomError) {
                    let changed = try await room.applyUpdate(Array(body.readableBytesView))
                    return json(.object([("changed", .bool(changed))]))
                } catch {
                    switch error {
                    case .invalidUpdate: throw HTTPError(.badRequest, message: error.description)
                    case .documentTooLarge: throw HTTPError(.contentTooLarge, message: error.description)
                    case .readOnly: throw HTTPError(.forbidden, message: error.description)
                    case .journal, .closed: throw HTTPError(.serviceUnavailable, message: error.description)
                    }
                }
            }
        }
        router.get(RouterPath(base + "/text")) { request, context in
            try await route("text", request, context, needs: .read, ifMissing: { Self.textResponse("") }) { room in
                let name = request.uri.queryParameters.get("name") ?? "codemirror"
                return Self.textResponse(await room.text(name))
            }
        }
    }

    /// Authorises, leases the room, runs `body`, counts the request. With `ifMissing` (reads),
    /// a room that does not exist is not created: `ifMissing` answers instead.
    private func route(_ name: String, _ request: Request, _ context: BasicRequestContext, needs: Access,
                       ifMissing: (() throws -> Response)? = nil,
                       _ body: (Room) async throws -> Response) async throws -> Response {
        try await route(name, request, context, needs: needs, readsBody: false, ifMissing: ifMissing) { room, _ in try await body(room) }
    }

    /// The `sv` query parameter (base64 state vector), if given; a bad one is a 400.
    static func stateVector(_ request: Request) throws -> StateVector? {
        guard let sv = request.uri.queryParameters.get("sv") else { return nil }
        let bytes: [UInt8]
        do { bytes = try Base64.decode(sv) } catch { throw HTTPError(.badRequest, message: "sv is \(error)") }
        do { return try StateVector(decoding: bytes) } catch {
            throw HTTPError(.badRequest, message: "sv is not a state vector: \(error)")
        }
    }

    static func updateResponse(_ bytes: [UInt8]) -> Response {
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        response.headers[.contentType] = "application/octet-stream"
        return response
    }

    static func textResponse(_ text: String) -> Response {
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.contentType] = "text/plain; charset=utf-8"
        return response
    }

    /// Authorises, reads the request body (`readsBody`: all of it, up to the configured limit)
    /// and only then leases the room, so a body still arriving holds no room; runs `body`, counts.
    private func route(_ name: String, _ request: Request, _ context: BasicRequestContext, needs: Access,
                       readsBody: Bool, ifMissing: (() throws -> Response)? = nil,
                       _ body: (Room, ByteBuffer) async throws -> Response) async throws -> Response {
        do {
            let roomName = try Self.roomName(context.parameters.get("room"))
            let token = RoomAuthenticator.token(query: request.uri.queryParameters.get("token").map { String($0) },
                                                authorization: request.headers[.authorization])
            let access: Access
            do throws(AuthError) { access = try await server.auth.access(room: roomName, token: token) } catch {
                switch error {
                case .missingToken, .invalidToken, .expired, .notYetValid: throw HTTPError(.unauthorized, message: error.description)
                case .otherRoom, .badScope, .weakSecret: throw HTTPError(.forbidden, message: error.description)
                }
            }
            if needs == .write, access != .write { throw HTTPError(.forbidden, message: "read-only token") }
            let limit = server.config.effectiveMaxRequestBytes
            let bytes: ByteBuffer
            do { bytes = readsBody ? try await request.body.collect(upTo: limit) : ByteBuffer() } catch is NIOTooManyBytesError {
                throw HTTPError(.contentTooLarge, message: Self.bodyTooLarge(limit))
            }
            // A connection that ends mid-body ends the stream as if it were complete.
            if readsBody, let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared != bytes.readableBytes {
                throw HTTPError(.badRequest, message: "the body ended after \(bytes.readableBytes) of \(declared) bytes")
            }
            let response = if let ifMissing {
                try await server.host.withExistingRoom(roomName) { room in
                    if let room { try await body(room, bytes) } else { try ifMissing() }
                }
            } else {
                try await server.host.withRoom(roomName) { room in try await body(room, bytes) }
            }
            server.host.counters.add("ysync_http_requests_total", labels: ["route": name, "status": String(response.status.code)])
            return response
        } catch let error as HTTPError {
            server.host.counters.add("ysync_http_requests_total", labels: ["route": name, "status": String(error.status.code)])
            var response = errorResponse(error.status, error.body ?? "\(error.status)")
            for field in error.headers { response.headers.append(field) }  // e.g. a 429's Retry-After
            return response
        } catch let error as RoomHostError {
            let status: HTTPResponse.Status = if case .badName = error { .badRequest } else { .serviceUnavailable }
            server.host.counters.add("ysync_http_requests_total", labels: ["route": name, "status": String(status.code)])
            return errorResponse(status, error.description)
        }
    }

    /// The room name of a path (percent-decoded); a 400 when it is missing or not valid percent-encoding.
    static func roomName(_ raw: String?) throws(HTTPError) -> String {
        guard let raw, !raw.isEmpty else { throw HTTPError(.badRequest, message: "missing room name") }
        guard let name = raw.removingPercentEncoding else {
            throw HTTPError(.badRequest, message: "bad room name: not valid percent-encoding (a % must start %XX of UTF-8)")
        }
        guard !name.isEmpty else { throw HTTPError(.badRequest, message: "missing room name") }
        return name
    }

    /// The 413's message, naming the limit.
    static func bodyTooLarge(_ limit: Int) -> String {
        "the body is over the limit of \(limit) bytes (--max-request-bytes, by default --max-frame-bytes)"
    }

    /// Compares without stopping at the first difference (no timing hint about the secret).
    static func sameSecret(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = x.count ^ y.count
        for i in 0..<min(x.count, y.count) { diff |= Int(x[i] ^ y[i]) }
        return diff == 0
    }

    /// `{"users": [...], "connections": N, "clients": [{"clientId", "state"}]}`: `users` holds
    /// each awareness state's `user` field (what Yjs apps put there), or the whole state.
    static func usersDocument(_ states: [ClientID: String], connections: Int) -> YAny {
        var users: [YAny] = [], clients: [YAny] = []
        for (client, text) in states.sorted(by: { $0.key < $1.key }) {
            // Awareness states were checked as JSON when they arrived.
            let state = (try? YAny.parseJSON(text)) ?? .null
            if case let .object(fields) = state, let user = fields.last(where: { $0.0 == "user" })?.1 {
                users.append(user)
            } else {
                users.append(state)
            }
            clients.append(.object([("clientId", .integer(Int64(client))), ("state", state)]))
        }
        return .object([("clients", .array(clients)), ("connections", .integer(Int64(connections))), ("users", .array(users))])
    }

}

/// A JSON response (`value.jsonText`).
func json(_ value: YAny, status: HTTPResponse.Status = .ok) -> Response {
    var response = Response(status: status, body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    response.headers[.contentType] = "application/json"
    return response
}

func errorResponse(_ status: HTTPResponse.Status, _ message: String) -> Response {
    json(.object([("error", .string(message))]), status: status)
}
