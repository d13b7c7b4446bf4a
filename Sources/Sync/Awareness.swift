import CRDT

/// One client's entry in an `Awareness`: its clock, its state as JSON text (nil once the client
/// is gone: the clock is kept so that older messages stay refused) and when we last heard of it.
public struct AwarenessEntry: Sendable, Equatable {
    /// The client's awareness clock: an entry is replaced only by a newer one.
    public var clock: UInt64
    /// The state as JSON text, exactly as given or received; nil when the client is gone.
    public var json: String?
    /// Time (seconds, caller's clock) of the last accepted change.
    public var lastUpdated: Double
}

/// What an awareness operation changed. `added`/`updated`/`removed` are y-protocols' `change`
/// event (`updated` only when the state differs as JSON); `touched` lists every client whose
/// entry was accepted (the `update` event, also for equal states). `broadcast` is the list to
/// encode and send to peers (y-websocket sends added + touched + removed).
public struct AwarenessChange: Sendable, Equatable {
    /// Clients that got a state (new, or back after being gone).
    public var added: [ClientID] = []
    /// Clients whose state changed (compared as parsed JSON).
    public var updated: [ClientID] = []
    /// Clients whose state was removed.
    public var removed: [ClientID] = []
    /// Clients with an accepted entry that still have a state, changed or not.
    public var touched: [ClientID] = []
    /// A peer tried to remove our local state: we kept it and bumped our clock; re-broadcast it.
    public var reassertedLocal = false

    /// No change.
    public init() {}
    /// Nothing was accepted and nothing needs broadcasting.
    public var isEmpty: Bool { added.isEmpty && touched.isEmpty && removed.isEmpty && !reassertedLocal }
    /// The clients to encode and send to peers: added, then touched, then removed.
    public var broadcast: [ClientID] { added + touched + removed }
}

/// y-protocols awareness: clock per client, JSON state text, `null` = gone, 30 s timeout.
/// Time is injected (seconds as `Double`, any epoch): nothing here reads a clock.
///
/// Bounded by `limits`: `check` refuses an update that would pass them (the host then refuses
/// the whole message), and the clocks of gone clients (tombstones) are forgotten after
/// `tombstoneLifetime` or, beyond `maxTombstones`, oldest first.
///
///     awarenessUpdate = vu(count) (vu(client) vu(clock) vs(JSON text)) × count
///
/// States are stored as the JSON text given/received (not re-serialised), so that we forward
/// exactly what a peer wrote; equality for `updated` compares parsed values.
public struct Awareness: Sendable {
    /// A remote client not heard of for this long is removed (y-protocols `outdatedTimeout`).
    public static let outdatedTimeout: Double = 30
    /// The local state is re-published (clock + 1) when older than this.
    public static let renewInterval: Double = 15
    /// How often y-protocols runs its check; call `tick(now:)` about this often.
    public static let checkInterval: Double = 3

    /// The local client: the one whose state `setLocalState` sets.
    public let clientID: ClientID
    /// Every client heard of, gone ones included (their clocks are kept, within `limits`).
    public private(set) var entries: [ClientID: AwarenessEntry] = [:]
    /// What this awareness may hold (see `check`) and how long it keeps tombstones.
    public var limits: AwarenessLimits
    /// Present states (entries with a state).
    public private(set) var stateCount = 0
    /// Sum of the JSON text bytes of the present states.
    public private(set) var stateBytes = 0
    /// Gone clients whose clocks are kept.
    public var tombstoneCount: Int { entries.count - stateCount }

    /// Starts with the local state `{}` at clock 0, as y-protocols does.
    public init(clientID: ClientID, now: Double, limits: AwarenessLimits = .init()) {
        self.clientID = clientID
        self.limits = limits
        put(clientID, AwarenessEntry(clock: 0, json: "{}", lastUpdated: now))
    }

    /// The one place entries change, so that the counts stay exact.
    private mutating func put(_ client: ClientID, _ entry: AwarenessEntry) {
        if let old = entries.updateValue(entry, forKey: client)?.json {
            stateCount -= 1
            stateBytes -= old.utf8.count
        }
        if let new = entry.json {
            stateCount += 1
            stateBytes += new.utf8.count
        } else if tombstoneCount > limits.maxTombstones {
            forgetOldestTombstones()
        }
    }

    /// Over `maxTombstones`: forget the oldest quarter at once (sorting once per many removals
    /// instead of scanning on each).
    private mutating func forgetOldestTombstones() {
        let keep = limits.maxTombstones - limits.maxTombstones / 4
        let gone = entries.filter { $0.value.json == nil && $0.key != clientID }
            .sorted { ($0.value.lastUpdated, $0.key) < ($1.value.lastUpdated, $1.key) }
        for (c, _) in gone.prefix(max(0, gone.count - keep)) { entries.removeValue(forKey: c) }
    }

    /// Present clients and their JSON states.
    public var states: [ClientID: String] {
        var out: [ClientID: String] = [:]
        for (c, e) in entries { if let j = e.json { out[c] = j } }
        return out
    }

    /// The local state's JSON text; nil after it was removed.
    public var localState: String? { entries[clientID]?.json }

    /// Sets (or, with nil, removes) the local state; broadcast `encodeUpdate(clients: [clientID])`.
    /// `json` must be JSON text (not checked here: it is ours).
    @discardableResult
    public mutating func setLocalState(_ json: String?, now: Double) -> AwarenessChange {
        let prev = entries[clientID]
        let clock = prev.map { $0.clock + 1 } ?? 0
        put(clientID, AwarenessEntry(clock: clock, json: json, lastUpdated: now))
        var ch = AwarenessChange()
        if json == nil {
            ch.removed = [clientID]
        } else if prev?.json == nil {
            ch.added = [clientID]
        } else {
            ch.touched = [clientID]
            if !Self.sameJSON(prev?.json, json) { ch.updated = [clientID] }
        }
        return ch
    }

    /// Encodes the entries of `clients` (unknown clients are left out; gone ones encode `null`).
    public func encodeUpdate(clients: [ClientID]) -> [UInt8] {
        let known = clients.filter { entries[$0] != nil }
        var w = Lib0Writer()
        w.writeVarUInt(known.count)
        for c in known {
            let e = entries[c]!
            w.writeVarUInt(c)
            w.writeVarUInt(e.clock)
            w.writeString(e.json ?? "null")
        }
        return w.bytes
    }

    /// Every present client (the reply to a query-awareness message, and what to send on connect).
    public func encodeFullUpdate() -> [UInt8] {
        encodeUpdate(clients: entries.filter { $0.value.json != nil }.keys.sorted())
    }

    /// A decoded awareness update entry.
    public struct WireEntry: Sendable, Equatable {
        /// The client the entry is about.
        public var client: ClientID
        /// Its clock in the update.
        public var clock: UInt64
        /// Its state as JSON text; nil for `null` (the client is gone).
        public var json: String?   // nil for `null`
    }

    /// Decodes an awareness update; every state must parse as JSON. States longer than
    /// `maxStateBytes` are not parsed (a refusal by `check` follows; parsing megabytes of JSON
    /// only to refuse them would cost what the limit saves).
    public static func decodeUpdate(_ bytes: [UInt8], maxStateBytes: Int = .max) throws(SyncError) -> [WireEntry] {
        var r = Lib0Reader(bytes)
        var out: [WireEntry] = []
        do {
            let n = try r.readCount("awareness entry count", minBytesEach: 3)
            out.reserveCapacity(n)
            for _ in 0..<n {
                let client = try r.readVarUInt("awareness client")
                let clock = try r.readVarUInt("awareness clock")
                let text = try r.readString("awareness state")
                if text.utf8.count > maxStateBytes {
                    out.append(WireEntry(client: client, clock: clock, json: text))
                    continue
                }
                let value: YAny
                do { value = try YAny.parseJSON(text) } catch {
                    throw SyncError.invalidAwarenessJSON(client: client, reason: "\(error)")
                }
                out.append(WireEntry(client: client, clock: clock, json: value == .null ? nil : text))
            }
        } catch let e as DecodingError {
            throw SyncError(e)
        } catch let e as SyncError {
            throw e
        } catch {
            throw SyncError.invalidPayload(.malformed("\(error)", offset: r.offset))
        }
        guard r.isAtEnd else { throw .trailingBytes(count: r.remaining, offset: r.offset) }
        return out
    }

    /// Applies a peer's awareness update (y-protocols `applyAwarenessUpdate`). All or nothing:
    /// a malformed update changes nothing. The limits are not checked here (`check` does).
    ///
    /// An entry is accepted when its clock is newer, or equal with `null` while we hold a state.
    /// `null` removes the client, except our own while we still have a local state: then our
    /// clock is bumped and the state kept, so that the next broadcast re-asserts it.
    @discardableResult
    public mutating func apply(_ update: [UInt8], now: Double) throws(SyncError) -> AwarenessChange {
        apply(try Self.decodeUpdate(update), now: now)
    }

    /// Whether `list` would be accepted: an entry is accepted as `apply` would accept it.
    private func accepts(_ e: WireEntry, after prev: (clock: UInt64, json: String?)?) -> Bool {
        let currClock = prev?.clock ?? 0
        return currClock < e.clock || (currClock == e.clock && e.json == nil && prev?.json != nil)
    }

    /// The limit `list` would break if applied (nil: none). Refuses any state over
    /// `maxStateBytes`, and an update after which the present states would number or weigh more
    /// than the limits allow (unless it makes them no larger than they are).
    public func check(_ list: [WireEntry]) -> AwarenessViolation? {
        var count = stateCount
        var bytes = stateBytes
        var seen: [ClientID: (clock: UInt64, json: String?)] = [:]
        for e in list {
            if let j = e.json, j.utf8.count > limits.maxStateBytes {
                return .stateTooLarge(client: e.client, bytes: j.utf8.count, limit: limits.maxStateBytes)
            }
            let prev = seen[e.client] ?? entries[e.client].map { (clock: $0.clock, json: $0.json) }
            guard accepts(e, after: prev) else { continue }
            // Our own state is never removed by a peer (apply re-asserts it).
            let newJSON = e.json == nil && e.client == clientID && localState != nil ? prev?.json : e.json
            if let old = prev?.json {
                count -= 1
                bytes -= old.utf8.count
            }
            if let new = newJSON {
                count += 1
                bytes += new.utf8.count
            }
            seen[e.client] = (e.clock, newJSON)
        }
        if count > limits.maxStates, count > stateCount { return .tooManyStates(wouldBe: count, limit: limits.maxStates) }
        if bytes > limits.maxTotalBytes, bytes > stateBytes { return .tooManyBytes(wouldBe: bytes, limit: limits.maxTotalBytes) }
        return nil
    }

    /// Applies decoded entries if `check` finds no limit broken; otherwise throws and changes
    /// nothing.
    @discardableResult
    public mutating func applyChecked(_ list: [WireEntry], now: Double) throws(AwarenessViolation) -> AwarenessChange {
        if let violation = check(list) { throw violation }
        return apply(list, now: now)
    }

    /// Applies decoded entries (see `apply(_:now:)` for the rules); the limits are not checked.
    @discardableResult
    public mutating func apply(_ list: [WireEntry], now: Double) -> AwarenessChange {
        var ch = AwarenessChange()
        for e in list {
            let prev = entries[e.client]
            guard accepts(e, after: prev.map { (clock: $0.clock, json: $0.json) }) else { continue }
            var clock = e.clock
            var newJSON = e.json
            if e.json == nil && e.client == clientID && localState != nil {
                clock += 1
                newJSON = prev?.json
                ch.reassertedLocal = true
                put(e.client, AwarenessEntry(clock: clock, json: newJSON, lastUpdated: now))
                ch.touched.append(e.client)
                continue
            }
            put(e.client, AwarenessEntry(clock: clock, json: newJSON, lastUpdated: now))
            if prev == nil, newJSON != nil {
                ch.added.append(e.client)
            } else if prev != nil, newJSON == nil {
                ch.removed.append(e.client)
            } else if newJSON != nil {
                if !Self.sameJSON(prev?.json, newJSON) { ch.updated.append(e.client) }
                ch.touched.append(e.client)
            }
        }
        return ch
    }

    /// Removes clients' states (e.g. those a closed connection controlled), keeping their clocks
    /// (as tombstones, from `now`). Removing our own state bumps our clock.
    @discardableResult
    public mutating func removeStates(_ clients: [ClientID], now: Double) -> AwarenessChange {
        var ch = AwarenessChange()
        for c in clients {
            guard var e = entries[c], e.json != nil else { continue }
            e.json = nil
            e.lastUpdated = now
            if c == clientID { e.clock += 1 }
            put(c, e)
            ch.removed.append(c)
        }
        return ch
    }

    /// The periodic check (call about every `checkInterval` seconds): re-publishes the local
    /// state when it is `renewInterval` old (broadcast `change.broadcast`), and removes remote
    /// clients not updated for `outdatedTimeout` (origin "timeout"; not broadcast by y-protocols);
    /// forgets tombstones older than `limits.tombstoneLifetime`.
    public mutating func tick(now: Double) -> (renewed: AwarenessChange, timedOut: [ClientID]) {
        var renewed = AwarenessChange()
        if let local = entries[clientID], let json = local.json, now - local.lastUpdated >= Self.renewInterval {
            renewed = setLocalState(json, now: now)
        }
        let stale = entries.filter { c, e in
            c != clientID && e.json != nil && now - e.lastUpdated >= Self.outdatedTimeout
        }.keys.sorted()
        let removed = removeStates(stale, now: now)
        let expired = entries.filter { c, e in
            c != clientID && e.json == nil && now - e.lastUpdated >= limits.tombstoneLifetime
        }.keys
        for c in expired { entries.removeValue(forKey: c) }
        return (renewed, removed.removed)
    }

    static func sameJSON(_ a: String?, _ b: String?) -> Bool {
        if a == b { return true }
        guard let a, let b, let va = try? YAny.parseJSON(a), let vb = try? YAny.parseJSON(b) else { return false }
        return va == vb
    }
}

extension Awareness {
    /// The awareness message (`01 vb(update)`) for `clients`, ready to send.
    public func awarenessMessage(clients: [ClientID]) -> [UInt8] {
        SyncMessage.awareness(encodeUpdate(clients: clients)).encoded()
    }
}
