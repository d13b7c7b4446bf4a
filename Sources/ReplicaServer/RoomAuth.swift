import Foundation
import JWTKit
import Replica
import RoomHost

/// The claims of a room token (HS256): which rooms, what scope, until when.
///
/// `{"exp": 1767225600, "rooms": ["doc-1", "doc-2"], "scope": "write"}`; `"room": "doc-1"` is
/// accepted for one room and `"*"` names every room. Scope `write` may edit, `read` only
/// receives; a token without a scope is read-only (least privilege). `exp` is required.
public struct RoomClaims: JWTPayload, Equatable {
    /// Expiry (required).
    public var exp: ExpirationClaim
    /// One room the token grants (`"*"`: every room).
    public var room: String?
    /// Rooms the token grants (`"*"`: every room).
    public var rooms: [String]?
    /// "write" or "read"; absent means read.
    public var scope: String?
    /// Who the token was issued to (informational).
    public var sub: String?
    /// Not before: a token is refused until then (optional).
    public var nbf: NotBeforeClaim?

    /// Claims for `rooms` with `scope` until `expires` (and not before `notBefore`, if given).
    public init(expires: Date, rooms: [String], scope: Access, subject: String? = nil, notBefore: Date? = nil) {
        exp = ExpirationClaim(value: expires)
        nbf = notBefore.map { NotBeforeClaim(value: $0) }
        self.rooms = rooms
        self.scope = scope.rawValue
        sub = subject
    }

    /// Throws when the token has expired (JWTKit calls this after checking the signature).
    public func verify(using _: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try nbf?.verifyNotBefore()
    }

    func allows(_ roomName: String) -> Bool {
        let names = (rooms ?? []) + (room.map { [$0] } ?? [])
        return names.contains("*") || names.contains(roomName)
    }
}

/// Why a request was refused access (or the authenticator could not be made).
public enum AuthError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server has a secret and the request carried no token.
    case missingToken
    /// The token does not verify (signature, format, claims); the text says why.
    case invalidToken(String)
    /// The token's `exp` has passed.
    case expired
    /// The token's `nbf` is still ahead.
    case notYetValid
    /// The token does not name this room.
    case otherRoom(String)
    /// The token's scope is neither "read" nor "write".
    case badScope(String)
    /// The configured secret is shorter than `RoomAuthenticator.minimumSecretBytes` (its length in bytes).
    case weakSecret(Int)

    /// One line for a person.
    public var description: String {
        switch self {
        case .missingToken: "no token (query parameter token= or Authorization: Bearer)"
        case let .invalidToken(reason): "invalid token: \(reason)"
        case .expired: "token expired"
        case .notYetValid: "token not valid yet (nbf is ahead)"
        case let .otherRoom(room): "token does not grant room \(room)"
        case let .badScope(scope): "unknown scope \(scope) (read or write)"
        case let .weakSecret(n): "the JWT secret has \(n) bytes; HS256 needs at least \(RoomAuthenticator.minimumSecretBytes)"
        }
    }
}

/// Decides what a request may do in a room. Without a secret everything is open (writable).
public struct RoomAuthenticator: Sendable {
    private let keys: JWTKeyCollection?

    /// No secret: every request may write every room.
    public var isOpen: Bool { keys == nil }

    /// HS256 keys shorter than the hash output (32 bytes) are refused (RFC 7518 §3.2).
    public static let minimumSecretBytes = 32

    /// An authenticator for HS256 tokens signed with `secret`; nil or empty makes it open. Throws
    /// `.weakSecret` for a secret under `minimumSecretBytes`.
    public init(secret: String?) async throws(AuthError) {
        if let secret, !secret.isEmpty {
            guard secret.utf8.count >= Self.minimumSecretBytes else { throw .weakSecret(secret.utf8.count) }
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            self.keys = keys
        } else {
            keys = nil
        }
    }

    /// The token from `?token=` or `Authorization: Bearer <token>`.
    public static func token(query: String?, authorization: String?) -> String? {
        if let query, !query.isEmpty { return query }
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]) }
        }
        return nil
    }

    /// What `token` allows in `room`: `.write` when open; otherwise throws `.missingToken`,
    /// `.invalidToken`, `.expired`, `.otherRoom` or `.badScope`.
    public func access(room: String, token: String?) async throws(AuthError) -> Access {
        try await grant(room: room, token: token).access
    }

    /// What `token` allows in `room`, and until when (`expires` is nil on an open server);
    /// throws as `access(room:token:)` does, and `.notYetValid` before the token's `nbf`.
    public func grant(room: String, token: String?) async throws(AuthError) -> (access: Access, expires: Date?) {
        guard let keys else { return (.write, nil) }
        guard let token else { throw .missingToken }
        // JWTKit picks the key by `kid` and does not hold the header's `alg` to it: only HS256 is ours.
        guard Self.headerAlgorithm(token) == "HS256" else { throw .invalidToken("the token's header alg is not HS256") }
        let claims: RoomClaims
        do {
            claims = try await keys.verify(token, as: RoomClaims.self)
        } catch let error as JWTError {
            if error.errorType == .claimVerificationFailure, error.failedClaim is ExpirationClaim { throw .expired }
            if error.errorType == .claimVerificationFailure, error.failedClaim is NotBeforeClaim { throw .notYetValid }
            throw .invalidToken(error.reason ?? "\(error.errorType)")
        } catch {
            throw .invalidToken("\(error)")
        }
        guard claims.allows(room) else { throw .otherRoom(room) }
        switch claims.scope ?? "read" {
        case "write": return (.write, claims.exp.value)
        case "read": return (.read, claims.exp.value)
        case let other: throw .badScope(other)
        }
    }

    /// The `alg` of a compact JWT's header, nil when the header does not decode.
    static func headerAlgorithm(_ token: String) -> String? {
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first else { return nil }
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["alg"] as? String
    }

    /// A token for tests and `ycli token`.
    public static func sign(_ claims: RoomClaims, secret: String) async throws -> String {
        guard secret.utf8.count >= minimumSecretBytes else { throw AuthError.weakSecret(secret.utf8.count) }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return try await keys.sign(claims)
    }
}
