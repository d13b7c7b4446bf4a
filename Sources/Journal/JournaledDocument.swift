import CRDT

/// A document kept in a journal: what the CLI replica (and later `Replica`) edits. Every
/// change the document emits is appended; an edit's seq is returned once it is committed.
public final class JournaledDocument {
    /// The loaded document. Edit it through `commitEdit`/`edit` (or `flush` after editing it directly) so that every change is journaled.
    /// `reload()` replaces it: read it again after one.
    public private(set) var doc: YDoc
    /// The journal the document is kept in; this object owns it and closes it in `close()`.
    public let journal: Journal
    /// What the load at open found (complete, or what could not be restored).
    public let loadReport: LoadReport
    private let collector: UpdateCollector
    /// The client id meta holds (the document may pick a new one, see `flushReturningSeqs`).
    private var storedClientID: ClientID
    /// The collector's observer on `doc`.
    private var observer: ObserverID

    static let clientIDKey = "client_id"
    /// How many lost entries (bad or missing rows, in the journal or in quarantine) the client id
    /// has been checked against: more of them on a later open means the id must change.
    static let lostSeenKey = "client_id.lost_seen"

    /// Collects what the document emits, so that nothing it changed goes unjournaled (also
    /// changes made on `doc` directly: they are appended by the next `edit`, `apply` or `flush`).
    private final class UpdateCollector {
        var updates: [(update: [UInt8], origin: String?)] = []
    }

    private init(doc: YDoc, journal: Journal, loadReport: LoadReport) {
        self.doc = doc
        self.journal = journal
        self.loadReport = loadReport
        storedClientID = doc.clientID
        let collector = UpdateCollector()
        self.collector = collector
        observer = Self.collect(doc, into: collector)
    }

    private static func collect(_ doc: YDoc, into collector: UpdateCollector) -> ObserverID {
        doc.observeUpdate { [collector] event in collector.updates.append((event.update, event.origin)) }
    }

    /// Opens (or creates) the store and loads the document. A new store takes `clientID` (a
    /// random uint32 when nil) and keeps it in meta "client_id"; an existing store keeps its
    /// own (`.clientIDMismatch` if `clientID` differs). When the load could not restore
    /// everything, the document gets a fresh client id: the lost rows may hold clocks of the
    /// old one, and reusing them would fork the history for peers that have them.
    ///
    /// `access: .write` (the default) holds the store's writer lock until `close` (see
    /// `Journal.open`): a second writer fails at once with `.locked`. `.read` takes no lock and
    /// stores nothing (a fresh client id stays in memory); `edit`, `apply` and `flush` then fail
    /// with `.readOnly` once they have something to append.
    public static func open(path: String, create: Bool = false, clientID: ClientID? = nil,
                            options: JournalOptions = .init(),
                            access: JournalAccess = .write) throws(JournalError) -> JournaledDocument {
        if let clientID, clientID == 0 || clientID > UInt64(UInt32.max) {
            throw .invalidArgument("client id \(clientID) is not a non-zero uint32")
        }
        let journal = try Journal.open(path: path, create: create, options: options, access: access)
        let writing = access == .write
        do throws(JournalError) {
            var stored = try journal.meta(clientIDKey).flatMap { ClientID($0) }
            if let stored, let clientID, stored != clientID {
                throw .clientIDMismatch(stored: stored, requested: clientID)
            }
            if stored == nil {
                let fresh = clientID ?? ClientID(UInt32.random(in: 1...UInt32.max))
                if writing {
                    try journal.setMeta(clientIDKey, String(fresh))
                    try journal.setMeta(lostSeenKey, "0")
                }
                stored = fresh
            }
            var doc = YDoc(clientID: stored)
            let report = try journal.load(into: doc)
            // Content lost since the id was last checked may include clocks of this id.
            let lost = report.previouslyQuarantined + report.quarantined.filter { $0.kind != "snapshot" }.count
            let seen = try journal.meta(lostSeenKey).flatMap { Int($0) } ?? 0
            if lost > seen {
                doc = try Self.withFreshClientID(doc)
                if writing {
                    try journal.setMeta(clientIDKey, String(doc.clientID))
                    try journal.setMeta(lostSeenKey, String(lost))
                }
            }
            journal.releaseCachedPages()  // the load read every row once; appends need few pages
            return JournaledDocument(doc: doc, journal: journal, loadReport: report)
        } catch {
            journal.close()
            throw error
        }
    }

    /// The same state in a document with a new random client id.
    private static func withFreshClientID(_ old: YDoc) throws(JournalError) -> YDoc {
        var id: ClientID
        repeat { id = ClientID(UInt32.random(in: 1...UInt32.max)) } while old.stateVector[id] != 0
        let doc = YDoc(clientID: id, gc: old.gc)
        var failure: (any Error)?
        doc.transact(origin: "journal") {
            do { try doc.applyUpdate(old.encodeStateAsUpdate()) } catch { failure = error }
        }
        if let failure { throw .invalidArgument("could not copy the loaded state: \(failure)") }
        return doc
    }

    /// The document's current client id (it may differ from the stored one after an incomplete load or an id collision).
    public var clientID: ClientID { doc.clientID }

    /// What one `commitEdit` or `commitApply` did: what the document emitted (one update per
    /// transaction, in order: what a replica relays to its peers) and how journaling went.
    public struct Commit {
        /// The updates the document emitted, in order (empty: the document did not change).
        public var updates: [[UInt8]]
        /// The seq of the last row appended (nil: nothing changed, or `journalError`).
        public var seq: Int64?
        /// This call gave the journal something to append (appended, or still to be after
        /// `journalError`).
        public var changed: Bool
        /// Appending failed: the rows stay collected and the next call appends them.
        public var journalError: JournalError?
    }

    /// Runs `body` in one transaction and journals its update. If `body` throws after changing
    /// the document, the change is kept and journaled (the transaction commits what it did) and
    /// the error comes back beside the commit.
    public func commitEdit(origin: String? = nil, _ body: (YDoc) throws -> Void) -> (Commit, bodyError: (any Error)?) {
        let before = collector.updates.count
        var bodyError: (any Error)?
        doc.transact(origin: origin) {
            do { try body(doc) } catch { bodyError = error }
        }
        let emitted = collector.updates[before...].map(\.update)
        return (finish(emitted: emitted, changed: !emitted.isEmpty), bodyError)
    }

    /// Applies a remote or imported update (origin "remote" unless given) and journals what it
    /// changed. Throws `.badUpdate` (the document unchanged) when it does not decode; a journal
    /// failure comes back in the commit. If the document is left with updates whose
    /// dependencies are missing (`doc.hasPending`), the update is journaled as received instead
    /// of what the document emitted, so that the parked part survives a reopen too.
    public func commitApply(_ update: [UInt8], origin: String? = nil) throws(JournalError) -> Commit {
        let origin = origin ?? "remote"
        let before = collector.updates.count
        let pendingBefore = doc.pendingUpdate
        do { try doc.applyUpdate(update, origin: origin) } catch let error as DecodingError {
            throw .badUpdate(error)
        } catch {
            throw .badUpdate(.malformed("\(error)", offset: 0))
        }
        let emitted = collector.updates[before...].map(\.update)
        if doc.hasPending {
            collector.updates.removeSubrange(before...)
            // An update that neither changed the document nor what waits (a peer re-sending
            // the parked part, as a Yjs step 2 does: it carries its own pending structs) is not
            // a change: journaling and acknowledging it would grow the journal and ping-pong
            // acknowledgements with that peer for ever.
            if !emitted.isEmpty || doc.pendingUpdate != pendingBefore {
                collector.updates.append((update, origin))
            }
        }
        return finish(emitted: emitted, changed: collector.updates.count > before)
    }

    private func finish(emitted: [[UInt8]], changed: Bool) -> Commit {
        do throws(JournalError) {
            let seqs = try flushReturningSeqs()
            return Commit(updates: emitted, seq: changed ? seqs.last : nil, changed: changed)
        } catch {
            return Commit(updates: emitted, seq: nil, changed: changed, journalError: error)
        }
    }

    /// Runs `body` in one transaction and journals its update; returns the seq (nil if nothing
    /// changed). If `body` throws after changing the document, the change is still journaled
    /// (the transaction commits what it did), then the error is rethrown.
    @discardableResult
    public func edit(origin: String? = nil, _ body: (YDoc) throws -> Void) throws -> Int64? {
        let (commit, bodyError) = commitEdit(origin: origin, body)
        if let error = commit.journalError { throw error }
        if let bodyError { throw bodyError }
        return commit.seq
    }

    /// `commitApply` for callers that only need the seq (nil if it changed nothing); a journal
    /// failure is thrown.
    @discardableResult
    public func apply(_ update: [UInt8], origin: String? = nil) throws(JournalError) -> Int64? {
        let commit = try commitApply(update, origin: origin)
        if let error = commit.journalError { throw error }
        return commit.seq
    }

    /// Appends what the document emitted and is not journaled yet; returns the new seqs.
    @discardableResult
    public func flush() throws(JournalError) -> [Int64] {
        try flushReturningSeqs()
    }

    private func flushReturningSeqs() throws(JournalError) -> [Int64] {
        guard !collector.updates.isEmpty else { return [] }
        // On failure the updates stay collected, to be appended by the next call.
        let seqs = try journal.append(batch: collector.updates)
        collector.updates.removeAll()
        if doc.clientID != storedClientID {
            // A remote update carried structs of our own client id: like Yjs, the document
            // picked a new one, which later opens must use.
            try journal.setMeta(Self.clientIDKey, String(doc.clientID))
            storedClientID = doc.clientID
        }
        return seqs
    }

    /// Whether the document holds changes the journal does not (an append failed since).
    public var hasUnjournaledChanges: Bool { !collector.updates.isEmpty }

    /// Replaces `doc` with a document loaded afresh from the journal (same client id), dropping
    /// every change the journal does not hold: what a failed append left behind. The old
    /// document is detached (its later changes are not journaled). Throws when the journal
    /// cannot be read; the document is then unchanged and its changes still collected.
    @discardableResult
    public func reload() throws(JournalError) -> LoadReport {
        let fresh = YDoc(clientID: storedClientID, gc: doc.gc)
        let report = try journal.load(into: fresh)
        doc.removeObserver(observer)
        collector.updates.removeAll()
        doc = fresh
        observer = Self.collect(fresh, into: collector)
        return report
    }

    /// Compacts when the journal's thresholds are passed, from this document's state.
    public func compactIfNeeded() throws(JournalError) {
        _ = try flush()
        if journal.needsCompaction {
            try journal.compact(document: doc)
            journal.releaseCachedPages()
        }
    }

    /// Closes the journal and releases the store's writer lock.
    public func close() {
        journal.close()
    }
}

@available(*, unavailable)
extension JournaledDocument: Sendable {}
