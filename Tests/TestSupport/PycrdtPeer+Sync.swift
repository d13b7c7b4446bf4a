import Foundation

/// y-protocols through pycrdt (`pycrdt._sync`, `pycrdt.Awareness`): the oracle for the Sync tests.
extension PycrdtPeer {
    private func hexField(_ reply: [String: JSONValue], _ key: String) throws -> [UInt8] {
        guard let s = reply[key]?.stringValue, let b = Hex.decode(s) else {
            throw PycrdtPeerError.badReply("reply lacks hex field '\(key)'")
        }
        return b
    }

    /// `create_sync_message(doc)`: step 1 with the document's state vector.
    public func syncStep1Message() throws -> [UInt8] {
        try hexField(request(["op": "sync_step1"]), "message")
    }

    public enum SyncMessageKind: String, Sendable { case step1, step2, update, awareness }

    /// `create_sync_step1/step2/update/awareness_message(payload)`.
    public func syncMessage(_ kind: SyncMessageKind, payload: [UInt8]) throws -> [UInt8] {
        try hexField(request(["op": "sync_message", "kind": .string(kind.rawValue), "payload": .string(Hex.encode(payload))]), "message")
    }

    /// `handle_sync_message` on a sync frame: the reply frame (to a step 1) and the updates the
    /// document emitted while applying.
    public func handleSyncMessage(_ frame: [UInt8]) throws -> (reply: [UInt8]?, updates: [[UInt8]]) {
        let r = try request(["op": "sync_handle", "message": .string(Hex.encode(frame))])
        let reply: [UInt8]? = r["reply"].flatMap { $0.stringValue }.flatMap { Hex.decode($0) }
        let updates = try (r["updates"]?.arrayValue ?? []).map { v -> [UInt8] in
            guard let s = v.stringValue, let b = Hex.decode(s) else { throw PycrdtPeerError.badReply("bad update hex") }
            return b
        }
        return (reply, updates)
    }

    /// A fresh `Awareness` on the bridge's document (local state `{}`, clock 0).
    public func awarenessNew() throws { try request(["op": "awareness_new"]) }

    /// `set_local_state(state)`; `stateJSON` is JSON text, nil for None.
    public func awarenessSetLocal(_ stateJSON: String?) throws {
        let v: JSONValue = try stateJSON.map { try JSONValue.parse($0) } ?? .null
        try request(["op": "awareness_set_local", "state": v])
    }

    public func awarenessEncode(clients: [UInt64]) throws -> [UInt8] {
        try hexField(request(["op": "awareness_encode", "clients": .array(clients.map { JSONValue($0) })]), "update")
    }

    /// Applies an awareness update; returns the events `[topic, added, updated, removed]`.
    @discardableResult
    public func awarenessApply(_ update: [UInt8]) throws -> [JSONValue] {
        try request(["op": "awareness_apply", "update": .string(Hex.encode(update))])["changes"]?.arrayValue ?? []
    }

    /// Present states (as JSON values) and clocks, keyed by client id.
    public func awarenessStates() throws -> (states: [UInt64: JSONValue], clocks: [UInt64: Int]) {
        let r = try request(["op": "awareness_states"])
        var states: [UInt64: JSONValue] = [:], clocks: [UInt64: Int] = [:]
        for (k, v) in r["states"]?.objectValue ?? [:] { if let id = UInt64(k) { states[id] = v } }
        for (k, v) in r["clocks"]?.objectValue ?? [:] { if let id = UInt64(k), let c = v.intValue { clocks[id] = c } }
        return (states, clocks)
    }
}
