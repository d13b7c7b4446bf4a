/// Handle returned by `observeUpdate`, to remove the observer later.
public struct ObserverID: Hashable, Sendable {
    let raw: Int
}

/// What a committed transaction produced: its v1 update (the same bytes Yjs emits for the same
/// edits and client id), the transaction origin and whether it was a local edit.
public struct UpdateEvent: Sendable {
    /// The transaction's changes as update v1 bytes.
    public let update: [UInt8]
    /// The origin given to `transact` or `applyUpdate` (nil when none).
    public let origin: String?
    /// True for `transact` (local edits), false for applied updates.
    public let isLocal: Bool
}

/// Errors of the document API (bad indexes, type mismatches). Decoding errors are `DecodingError`.
public enum YDocError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An index or range end past the type's length.
    case indexOutOfRange(index: Int, length: Int)
    /// A root or value is of another kind than the call expects.
    case typeMismatch(String)
    /// An update could not be integrated (not thrown today: malformed updates throw `DecodingError`).
    case integrationFailed(String)

    /// One line for a person.
    public var description: String {
        switch self {
        case let .indexOutOfRange(index, length): return "index \(index) is out of range (length \(length))"
        case let .typeMismatch(msg): return "type mismatch: \(msg)"
        case let .integrationFailed(msg): return "update could not be integrated: \(msg)"
        }
    }
}

/// The document's state as one value: the struct store, types and tables, and the open
/// transaction. All internal algorithms are mutating methods on it, so that Swift checks
/// exclusive access statically instead of on every field access of a class.
///
/// Structs live by value in `items` (an arena addressed by `ItemRef`), strings in one UTF-16
/// buffer, other contents in a side table. Lists are doubly linked through arena indexes.
struct DocStore {
    var clientID: ClientID
    var gc: Bool

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
    /// Last struct found by `findCached`.
    var findCache: ItemRef = noItem
    /// Last client id -> index lookup (remote integration references few clients in a row).
    var lookupCache: (client: ClientID, index: ClientIndex) = (.max, 0)

    /// Structs that could not be integrated yet, and the lowest clock per client they wait for.
    var pendingStructs: DecodedUpdate?
    var pendingMissing: [ClientID: Clock] = [:]
    /// Deletions of ids we do not have yet.
    var pendingDeletes: DeleteSet?

    /// The open transaction (its buffers are reused from one transaction to the next).
    var txn = TransactionState()
    /// Whether committed transactions must produce their update bytes.
    var wantsUpdates = false
    /// The update of the last committed transaction, delivered by `YDoc` once the store is
    /// released (a store call commits at most one transaction).
    var outbox: UpdateEvent?

    init(clientID: ClientID, gc: Bool) {
        self.clientID = clientID
        self.gc = gc
    }

    // MARK: - Roots

    mutating func rootType(_ name: String) -> Int32 {
        if let t = roots[name] { return t }
        let t = Int32(types.count)
        types.append(TypeRecord(ref: nil, rootName: name))
        roots[name] = t
        return t
    }

    mutating func rootType(_ name: String, as ref: YTypeRef) throws(YDocError) -> Int32 {
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

    // MARK: - Tables

    mutating func clientIndex(_ client: ClientID) -> ClientIndex {
        if let i = clientIndexOf[client] { return i }
        let i = ClientIndex(clientIDs.count)
        clientIDs.append(client)
        clientIndexOf[client] = i
        clientStructs.append(ClientStructs())
        return i
    }

    mutating func keyIndex(_ key: String) -> Int32 {
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

    var stateVector: StateVector {
        var sv = StateVector()
        for (i, cs) in clientStructs.enumerated() where cs.state > 0 {
            sv[clientIDs[i]] = cs.state
        }
        return sv
    }
}

/// A Yjs-compatible document. Not thread-safe: one owner (an actor, a task) uses it at a time.
public final class YDoc {
    /// Every access to the store is a short, non-reentrant call (observers run after the store
    /// is released), so the per-access dynamic exclusivity check buys nothing here.
    @exclusivity(unchecked) var store: DocStore
    /// A registered update observer (a class, so calling it needs no reabstraction thunk).
    private final class UpdateObserver {
        let id: ObserverID
        let handler: (UpdateEvent) -> Void
        init(id: ObserverID, handler: @escaping (UpdateEvent) -> Void) {
            self.id = id
            self.handler = handler
        }
    }

    private var updateObservers: [UpdateObserver] = []
    private var nextObserverID = 0

    /// An empty document. Without `clientID` a random non-zero 32-bit id is chosen; `gc` as the
    /// property below.
    public init(clientID: ClientID? = nil, gc: Bool = true) {
        store = DocStore(clientID: clientID ?? ClientID(UInt32.random(in: 1...UInt32.max)), gc: gc)
    }

    /// The client id this document's local edits are written under. A remote update that advances
    /// this id's own state (an id collision) makes the document pick a new random one.
    public var clientID: ClientID { store.clientID }

    /// Garbage-collect deleted content at the end of each transaction (Yjs' default).
    public var gc: Bool {
        get { store.gc }
        set { store.gc = newValue }
    }

    /// Runs `body` against the store, then delivers the updates of transactions it committed.
    @inline(__always)
    func mutate<R, E: Error>(_ body: (inout DocStore) throws(E) -> R) throws(E) -> R {
        let result = try body(&store)
        if store.outbox != nil { deliver() }
        return result
    }

    private func deliver() {
        guard let event = store.outbox else { return }
        store.outbox = nil
        for observer in updateObservers { observer.handler(event) }
    }

    /// Runs `body` in one transaction. Nested calls join the open transaction. At commit the
    /// transaction garbage-collects, merges neighbouring structs and emits its update.
    @discardableResult
    public func transact<R>(origin: String? = nil, _ body: () throws -> R) rethrows -> R {
        if store.txn.active { return try body() }
        store.begin(origin: origin, isLocal: true)
        defer {
            store.commit()
            if store.outbox != nil { deliver() }
        }
        return try body()
    }

    // MARK: - Roots

    /// The root text named `name`, created (empty) if absent. When the root already exists as
    /// another kind, the handle refers to that type and its kind is not changed.
    public func getText(_ name: String) -> YText {
        YText(doc: self, type: mutate { s in (try? s.rootType(name, as: .text)) ?? s.rootType(name) })
    }

    /// The root map named `name`, created (empty) if absent. When the root already exists as
    /// another kind, the handle refers to that type and its kind is not changed.
    public func getMap(_ name: String) -> YMap {
        YMap(doc: self, type: mutate { s in (try? s.rootType(name, as: .map)) ?? s.rootType(name) })
    }

    /// The root array named `name`, created (empty) if absent. When the root already exists as
    /// another kind, the handle refers to that type and its kind is not changed.
    public func getArray(_ name: String) -> YArray {
        YArray(doc: self, type: mutate { s in (try? s.rootType(name, as: .array)) ?? s.rootType(name) })
    }

    /// Names of the root types known to this document.
    public var rootNames: [String] { store.roots.keys.sorted() }

    // MARK: - Observers

    /// Calls `handler` with the update of every transaction that changed something, synchronously
    /// right after the commit, on the thread that committed. Returns an id for `removeObserver`.
    @discardableResult
    public func observeUpdate(_ handler: @escaping (UpdateEvent) -> Void) -> ObserverID {
        let id = ObserverID(raw: nextObserverID)
        nextObserverID += 1
        updateObservers.append(UpdateObserver(id: id, handler: handler))
        store.wantsUpdates = true
        return id
    }

    /// Stops calling the observer `id`; unknown ids are ignored.
    public func removeObserver(_ id: ObserverID) {
        updateObservers.removeAll { $0.id == id }
        store.wantsUpdates = !updateObservers.isEmpty
    }

    // MARK: - State

    /// The next expected clock of every client the document has structs of (pending ones excluded).
    public var stateVector: StateVector { store.stateVector }

    /// `stateVector` encoded as Yjs writes it (the payload of a SyncStep1).
    public func encodeStateVector() -> [UInt8] { store.stateVector.encoded() }

    /// Whether applied updates left structs or deletions waiting for updates not received yet.
    public var hasPending: Bool { store.pendingStructs != nil || store.pendingDeletes != nil }

    /// What is waiting (`hasPending`) as one update v1: the parked structs and deletions (Yjs
    /// `store.pendingStructs` and `pendingDs`); nil when nothing waits. Two equal values mean an
    /// apply in between changed nothing that waits.
    public var pendingUpdate: [UInt8]? {
        guard hasPending else { return nil }
        return UpdateEncoderV1.encode(DecodedUpdate(groups: store.pendingStructs?.groups ?? [],
                                                    deleteSet: store.pendingDeletes ?? DeleteSet()))
    }

    /// Decodes and applies an update v1. Malformed input throws before anything changes.
    public func applyUpdate(_ update: [UInt8], origin: String? = nil) throws {
        let raw = try RawUpdate.decode(update)
        mutate { $0.applyRaw(raw, origin: origin) }
    }

    /// Applies a wire-level update in one (remote) transaction. Throws when its contents would
    /// not survive the wire (e.g. Embed/Format values that are not JSON), changing nothing.
    public func apply(_ update: DecodedUpdate, origin: String? = nil) throws {
        let raw = try RawUpdate.decode(UpdateEncoderV1.encode(update))
        mutate { $0.applyRaw(raw, origin: origin) }
    }

    /// The whole document, or only what a peer with state vector `since` lacks, as update v1.
    /// Pending structs and deletes are carried along, as Yjs does.
    public func encodeStateAsUpdate(since: StateVector = StateVector()) -> [UInt8] {
        store.encodeStateAsUpdate(since: since)
    }

    /// Like `encodeStateAsUpdate(since:)` with an encoded state vector.
    public func encodeStateAsUpdate(sinceEncoded sv: [UInt8]) throws -> [UInt8] {
        store.encodeStateAsUpdate(since: try StateVector(decoding: sv))
    }
}
