/// Handle returned by `observeUpdate`, to remove the observer later.
public struct ObserverID: Hashable, Sendable {
    let raw: Int
}

/// What a committed transaction produced: its v1 update (the same bytes Yjs emits for the same
/// edits and client id), the transaction origin and whether it was a local edit.
public struct UpdateEvent: Sendable {
    public let update: [UInt8]
    public let origin: String?
    public let isLocal: Bool
}

/// Errors of the document API (bad indexes, type mismatches). Decoding errors are `DecodingError`.
public enum YDocError: Error, Equatable, Sendable, CustomStringConvertible {
    case indexOutOfRange(index: Int, length: Int)
    case typeMismatch(String)
    case integrationFailed(String)

    public var description: String {
        switch self {
        case let .indexOutOfRange(index, length): return "index \(index) is out of range (length \(length))"
        case let .typeMismatch(msg): return "type mismatch: \(msg)"
        case let .integrationFailed(msg): return "update could not be integrated: \(msg)"
        }
    }
}

/// A Yjs-compatible document. Not thread-safe: one owner (an actor, a task) uses it at a time.
///
/// Structs live by value in `items` (an arena addressed by `ItemRef`), strings in one UTF-16
/// buffer, other contents in a side table. Lists are doubly linked through arena indexes.
public final class YDoc {
    public internal(set) var clientID: ClientID
    /// Garbage-collect deleted content at the end of each transaction (Yjs' default).
    public var gc: Bool

    var items: [ItemRecord] = []
    var textUnits: [UInt16] = []
    var contents: [YContent] = []
    var types: [TypeRecord] = []
    var roots: [String: Int32] = [:]
    var keys: [String] = []
    var keyIndex: [String: Int32] = [:]
    var clientIDs: [ClientID] = []
    var clientIndexOf: [ClientID: ClientIndex] = [:]
    var clientStructs: [ClientStructs] = []

    /// Structs that could not be integrated yet, and the lowest clock per client they wait for.
    var pendingStructs: DecodedUpdate?
    var pendingMissing: [ClientID: Clock] = [:]
    /// Deletions of ids we do not have yet.
    var pendingDeletes: DeleteSet?

    var transaction: TransactionState?
    var updateObservers: [(ObserverID, (UpdateEvent) -> Void)] = []
    var nextObserverID = 0

    public init(clientID: ClientID? = nil, gc: Bool = true) {
        self.clientID = clientID ?? ClientID(UInt32.random(in: 1...UInt32.max))
        self.gc = gc
        items.reserveCapacity(1024)
    }

    // MARK: - Roots

    func rootType(_ name: String) -> Int32 {
        if let t = roots[name] { return t }
        let t = Int32(types.count)
        types.append(TypeRecord(ref: nil, rootName: name))
        roots[name] = t
        return t
    }

    func rootType(_ name: String, as ref: YTypeRef) throws(YDocError) -> Int32 {
        let t = rootType(name)
        if let existing = types[Int(t)].ref {
            if existing != ref && !(Self.isTextLike(existing) && Self.isTextLike(ref)) {
                throw .typeMismatch("root '\(name)' is a \(existing), not a \(ref)")
            }
        } else {
            types[Int(t)].ref = ref
        }
        return t
    }

    static func isTextLike(_ r: YTypeRef) -> Bool { r == .text || r == .xmlText }

    public func getText(_ name: String) -> YText {
        YText(doc: self, type: (try? rootType(name, as: .text)) ?? rootType(name))
    }

    public func getMap(_ name: String) -> YMap {
        YMap(doc: self, type: (try? rootType(name, as: .map)) ?? rootType(name))
    }

    public func getArray(_ name: String) -> YArray {
        YArray(doc: self, type: (try? rootType(name, as: .array)) ?? rootType(name))
    }

    /// Names of the root types known to this document.
    public var rootNames: [String] { roots.keys.sorted() }

    // MARK: - Observers

    @discardableResult
    public func observeUpdate(_ handler: @escaping (UpdateEvent) -> Void) -> ObserverID {
        let id = ObserverID(raw: nextObserverID)
        nextObserverID += 1
        updateObservers.append((id, handler))
        return id
    }

    public func removeObserver(_ id: ObserverID) {
        updateObservers.removeAll { $0.0 == id }
    }

    // MARK: - Tables

    func clientIndex(_ client: ClientID) -> ClientIndex {
        if let i = clientIndexOf[client] { return i }
        let i = ClientIndex(clientIDs.count)
        clientIDs.append(client)
        clientIndexOf[client] = i
        clientStructs.append(ClientStructs())
        return i
    }

    func keyIndex(_ key: String) -> Int32 {
        if let k = keyIndex[key] { return k }
        let k = Int32(keys.count)
        keys.append(key)
        keyIndex[key] = k
        return k
    }

    @inline(__always) func state(_ client: ClientIndex) -> Clock {
        Int(client) < clientStructs.count ? clientStructs[Int(client)].state : 0
    }

    func state(of client: ClientID) -> Clock {
        guard let i = clientIndexOf[client] else { return 0 }
        return clientStructs[Int(i)].state
    }

    public var stateVector: StateVector {
        var sv = StateVector()
        for (i, cs) in clientStructs.enumerated() where cs.state > 0 {
            sv[clientIDs[i]] = cs.state
        }
        return sv
    }

    public func encodeStateVector() -> [UInt8] { stateVector.encoded() }

    public var hasPending: Bool { pendingStructs != nil || pendingDeletes != nil }
}
