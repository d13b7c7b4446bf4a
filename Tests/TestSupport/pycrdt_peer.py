#!/usr/bin/env python3
"""pycrdt (yrs) oracle peer for the ysync tests.

A long-running process speaking JSON lines: one request object per line on stdin, one reply object
per line on stdout. It wraps ONE pycrdt Doc (re-created with {"op":"new"}).

Positions and lengths in requests are UTF-16 code units, as in Yjs and in ysync. pycrdt 0.14 indexes
Text by UTF-8 byte, so this bridge converts every text position before calling pycrdt.

Every editing command runs inside one pycrdt transaction. The reply carries "updates": the hex of
every non-empty update v1 that the document emitted while the command ran (doc.observe), so a
one-edit command replies with exactly one update.

Addressing a shared type: "target": {"root": NAME, "kind": "text"|"map"|"array", "path": [...]}
`kind` is the kind of the ROOT; `path` steps from it: a string = map key, an int = array index.
The object reached at the end of the path must be of the kind the command edits.

Requests (all replies have "ok": true/false; errors carry "error"):
  {"op":"new","client_id":N,"gc":true}
  {"op":"text_insert","target":T,"index":I,"text":S}
  {"op":"text_delete","target":T,"index":I,"count":C}
  {"op":"map_set","target":T,"key":K,"value":V}            V: JSON value, or {"$bytes":"hex"}
  {"op":"map_set_type","target":T,"key":K,"kind":"text"|"map"|"array"}
  {"op":"map_delete","target":T,"key":K}
  {"op":"array_insert","target":T,"index":I,"values":[V...]}
  {"op":"array_insert_type","target":T,"index":I,"kind":...}
  {"op":"array_delete","target":T,"index":I,"count":C}
  {"op":"apply_update","update":"hex"}
  {"op":"get_update","sv":"hex"?}            -> {"update":"hex"}
  {"op":"get_state"}                         -> {"sv":"hex"}
  {"op":"content","roots":{NAME:KIND,...},"typed":bool}  -> {"content":{NAME: rendered}}
       rendering: text -> string, map -> object, array -> list, nested types recursively,
       bytes -> {"$bytes":"hex"}, numbers as JSON numbers. With "typed": shared types become
       {"$text": s}, {"$map": {...}}, {"$array": [...]} (plain values stay plain).
  {"op":"text_length","target":T}            -> {"length": UTF-16 units}
  {"op":"replay_trace","path":P,"client_id":N,"root":NAME}
       replays a josephg/editing-traces sequential trace (gzip JSON, positions in code points),
       one transaction per patch -> {"patches":n,"end_ok":bool,"update":"hex","sv":"hex",
       "update_hashes":[fnv1a64 hex of each per-transaction update, in order]}
  {"op":"trace_update","index":i}            -> {"update":"hex"} (kept from the last replay)
  y-protocols (pycrdt._sync and pycrdt.Awareness; frames are whole messages, hex):
  {"op":"sync_step1"}                        -> {"message": create_sync_message(doc)}
  {"op":"sync_message","kind":"step1"|"step2"|"update"|"awareness","payload":"hex"}
                                             -> {"message": create_*_message(payload)}
  {"op":"sync_handle","message":"hex"}       -> {"reply": hex or null} (handle_sync_message on a
                                                sync frame [0, ...]; applied updates in "updates")
  {"op":"awareness_new"}                     -> a fresh Awareness on the document (local state {})
  {"op":"awareness_set_local","state":JSON}  (null removes the local state)
  {"op":"awareness_encode","clients":[N...]} -> {"update":"hex"}
  {"op":"awareness_apply","update":"hex"}    -> {"changes":[[topic, added, updated, removed]...]}
  {"op":"awareness_states"}                  -> {"states":{"id":state}, "clocks":{"id":clock}}
  {"op":"ping"}, {"op":"quit"}
"""

import gzip
import json
import sys
import traceback

from pycrdt import Array, Awareness, Doc, Map, Text
from pycrdt import _sync as ysync

KINDS = {"text": Text, "map": Map, "array": Array}


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def utf16_to_cp(s: str, units: int) -> int:
    """Code-point index of the position `units` UTF-16 units into `s` (must not split a pair)."""
    if units < 0:
        raise ValueError(f"negative UTF-16 offset {units}")
    if s.isascii():
        if units > len(s):
            raise IndexError(f"UTF-16 offset {units} beyond length {len(s)}")
        return units
    u = 0
    for i, ch in enumerate(s):
        if u == units:
            return i
        u += 2 if ord(ch) > 0xFFFF else 1
        if u > units:
            raise ValueError(f"UTF-16 offset {units} splits a surrogate pair")
    if u == units:
        return len(s)
    raise IndexError(f"UTF-16 offset {units} beyond length {u}")


def utf16_len(s: str) -> int:
    if s.isascii():
        return len(s)
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def byte_offset(s: str, cp: int) -> int:
    if s.isascii():
        return cp
    return len(s[:cp].encode("utf-8"))


def to_prelim_value(v):
    if isinstance(v, dict) and set(v.keys()) == {"$bytes"}:
        return bytes.fromhex(v["$bytes"])
    if isinstance(v, dict):
        return {k: to_prelim_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_prelim_value(x) for x in v]
    return v


def new_type(kind: str):
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return KINDS[kind]()


def render(v, typed=False):
    """Plain: text -> str, map -> dict, array -> list. Typed: {"$text": str}, {"$map": {...}},
    {"$array": [...]} for shared types, so that a nested Text differs from a string value."""
    if isinstance(v, Text):
        return {"$text": str(v)} if typed else str(v)
    if isinstance(v, Map):
        m = {k: render(v[k], typed) for k in v.keys()}
        return {"$map": m} if typed else m
    if isinstance(v, Array):
        a = [render(x, typed) for x in v]
        return {"$array": a} if typed else a
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": bytes(v).hex()}
    if isinstance(v, dict):
        return {k: render(x, typed) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [render(x, typed) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return {"$unknown": repr(v)}


class Peer:
    def __init__(self):
        self.doc = None
        self.updates = []
        self.trace_updates = []
        self.awareness = None
        self.awareness_events = []
        self.new(client_id=None, gc=True)

    def new(self, client_id, gc=True):
        self.doc = Doc(client_id=client_id, skip_gc=not gc)
        self.updates = []
        self.doc.observe(self._on_txn)

    def _on_txn(self, event):
        upd = bytes(event.update)
        if upd != b"\x00\x00":
            self.updates.append(upd)

    def resolve(self, target, want=None):
        root = target["root"]
        kind = target.get("kind", "text")
        obj = self.doc.get(root, type=KINDS[kind])
        for step in target.get("path", []):
            if isinstance(step, str):
                if not isinstance(obj, Map):
                    raise TypeError(f"path step {step!r} applied to a {type(obj).__name__}")
                obj = obj[step]
            elif isinstance(step, int):
                if not isinstance(obj, Array):
                    raise TypeError(f"path step {step!r} applied to a {type(obj).__name__}")
                obj = obj[step]
            else:
                raise TypeError(f"bad path step {step!r}")
        if want is not None and not isinstance(obj, KINDS[want]):
            raise TypeError(f"target {target!r} is a {type(obj).__name__}, not a {want}")
        return obj

    # ---- commands -------------------------------------------------------------------------
    def handle(self, req):
        op = req["op"]
        d = self.doc
        if op == "ping":
            return {}
        if op == "new":
            self.new(req.get("client_id"), req.get("gc", True))
            return {"client_id": self.doc.client_id}
        if op == "text_insert":
            with d.transaction():
                t = self.resolve(req["target"], "text")
                s = str(t)
                cp = utf16_to_cp(s, req["index"])
                t.insert(byte_offset(s, cp), req["text"])
            return {}
        if op == "text_delete":
            with d.transaction():
                t = self.resolve(req["target"], "text")
                s = str(t)
                a = utf16_to_cp(s, req["index"])
                b = utf16_to_cp(s, req["index"] + req["count"])
                ba, bb = byte_offset(s, a), byte_offset(s, b)
                if bb > ba:
                    del t[ba:bb]
            return {}
        if op == "text_length":
            return {"length": utf16_len(str(self.resolve(req["target"], "text")))}
        if op == "map_set":
            with d.transaction():
                self.resolve(req["target"], "map")[req["key"]] = to_prelim_value(req["value"])
            return {}
        if op == "map_set_type":
            with d.transaction():
                self.resolve(req["target"], "map")[req["key"]] = new_type(req["kind"])
            return {}
        if op == "map_delete":
            with d.transaction():
                m = self.resolve(req["target"], "map")
                if req["key"] in m:
                    del m[req["key"]]
            return {}
        if op == "array_insert":
            with d.transaction():
                a = self.resolve(req["target"], "array")
                vals = [to_prelim_value(v) for v in req["values"]]
                idx = req["index"]
                if idx > len(a):
                    raise IndexError(f"array index {idx} beyond length {len(a)}")
                # one insert call = one ContentAny item, as in Yjs
                a[idx:idx] = vals
            return {}
        if op == "array_insert_type":
            with d.transaction():
                a = self.resolve(req["target"], "array")
                idx = req["index"]
                if idx > len(a):
                    raise IndexError(f"array index {idx} beyond length {len(a)}")
                a.insert(idx, new_type(req["kind"]))
            return {}
        if op == "array_delete":
            with d.transaction():
                a = self.resolve(req["target"], "array")
                i, c = req["index"], req["count"]
                if i + c > len(a):
                    raise IndexError(f"array range {i}+{c} beyond length {len(a)}")
                if c > 0:
                    del a[i : i + c]
            return {}
        if op == "apply_update":
            d.apply_update(bytes.fromhex(req["update"]))
            return {}
        if op == "get_update":
            sv = req.get("sv")
            upd = d.get_update(bytes.fromhex(sv)) if sv is not None else d.get_update()
            return {"update": upd.hex()}
        if op == "get_state":
            return {"sv": d.get_state().hex()}
        if op == "content":
            roots = req.get("roots") or {}
            typed = bool(req.get("typed", False))
            return {"content": {name: render(d.get(name, type=KINDS[kind]), typed) for name, kind in roots.items()}}
        if op == "sync_step1":
            return {"message": ysync.create_sync_message(d).hex()}
        if op == "sync_message":
            payload = bytes.fromhex(req["payload"])
            make = {
                "step1": ysync.create_sync_step1_message,
                "step2": ysync.create_sync_step2_message,
                "update": ysync.create_update_message,
                "awareness": ysync.create_awareness_message,
            }[req["kind"]]
            return {"message": make(payload).hex()}
        if op == "sync_handle":
            msg = bytes.fromhex(req["message"])
            if not msg or msg[0] != ysync.YMessageType.SYNC:
                raise ValueError("not a sync message")
            reply = ysync.handle_sync_message(msg[1:], d)
            return {"reply": reply.hex() if reply is not None else None}
        if op == "awareness_new":
            self.awareness = Awareness(d)
            self.awareness_events = []
            self.awareness.observe(lambda topic, ev: self.awareness_events.append(
                [topic, ev[0]["added"], ev[0]["updated"], ev[0]["removed"]]))
            return {}
        if op == "awareness_set_local":
            self.awareness.set_local_state(req["state"])
            return {}
        if op == "awareness_encode":
            return {"update": self.awareness.encode_awareness_update(req["clients"]).hex()}
        if op == "awareness_apply":
            self.awareness_events = []
            self.awareness.apply_awareness_update(bytes.fromhex(req["update"]), "remote")
            return {"changes": self.awareness_events}
        if op == "awareness_states":
            a = self.awareness
            return {
                "states": {str(k): v for k, v in a.states.items()},
                "clocks": {str(k): m["clock"] for k, m in a.meta.items()},
            }
        if op == "replay_trace":
            return self.replay_trace(req["path"], req.get("client_id"), req.get("root", "text"))
        if op == "trace_update":
            return {"update": self.trace_updates[req["index"]].hex()}
        raise ValueError(f"unknown op {op!r}")

    def replay_trace(self, path, client_id, root):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            trace = json.load(f)
        self.new(client_id, True)
        d = self.doc
        t = d.get(root, type=Text)
        s = trace.get("startContent", "")
        if s:
            raise ValueError("traces with startContent are not supported")
        n = 0
        for txn in trace["txns"]:
            for pos, dels, ins in txn["patches"]:
                # positions are code points: Python str indexes are code points too
                ascii_ = s.isascii() and ins.isascii()
                with d.transaction():
                    if dels:
                        a = pos if ascii_ else len(s[:pos].encode("utf-8"))
                        b = pos + dels if ascii_ else a + len(s[pos : pos + dels].encode("utf-8"))
                        del t[a:b]
                    if ins:
                        a = pos if ascii_ else len(s[:pos].encode("utf-8"))
                        t.insert(a, ins)
                s = s[:pos] + ins + s[pos + dels :]
                n += 1
        self.trace_updates = self.updates
        self.updates = []
        end_ok = str(t) == trace["endContent"] and s == trace["endContent"]
        return {
            "patches": n,
            "end_ok": end_ok,
            "update": d.get_update().hex(),
            "sv": d.get_state().hex(),
            "update_hashes": [fnv1a64(u) for u in self.trace_updates],
        }


def main():
    peer = Peer()
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except Exception as e:  # noqa: BLE001
            out.write(json.dumps({"ok": False, "error": f"bad JSON: {e}"}) + "\n")
            out.flush()
            continue
        if req.get("op") == "quit":
            out.write(json.dumps({"ok": True}) + "\n")
            out.flush()
            return
        peer.updates = []
        try:
            reply = peer.handle(req)
            reply["ok"] = True
        except Exception as e:  # noqa: BLE001
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=4)}
        reply["updates"] = [u.hex() for u in peer.updates]
        peer.updates = []
        out.write(json.dumps(reply, ensure_ascii=True) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
