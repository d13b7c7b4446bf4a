#!/usr/bin/env python3
"""One Python peer's side of the crdt-benchmarks scenarios: B1.1-B3.4 (and B4xK with --trace) in
pycrdt or loro, printing the same JSON as `ycli bench crdt --json`.

    .venv/bin/python Benchmarks/crdt_peer.py pycrdt --only B1.1 B2.4
    .venv/bin/python Benchmarks/crdt_peer.py loro --only B4x --trace Benchmarks/traces/sequential/sveltecomponent.json.gz --times 3

Inputs: Benchmarks/crdt_workload.py (the same draws as ycli). Client ids as in ycli: 1 and 2 (B1,
B2), i + 1 for B3 client i. Transactions: pycrdt makes each call outside `with doc.transaction():`
its own transaction (as Yjs does); loro commits after each op (B1) or after a client's batch (B2).
B3's timed apply is one `with doc.transaction():` in pycrdt, `import_batch` in loro.
Memory: heap in use (glibc mallinfo2) after minus before loading the encoded document and reading
its content once (loro decodes lazily), in this process; parseMs is the load alone.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crdt_workload as W  # noqa: E402
from trace_peer import heap_in_use, load_trace, sha256, utf8_patches  # noqa: E402


def ms_since(t0):
    return (time.perf_counter() - t0) * 1e3


class Pycrdt:
    name = "pycrdt"

    def __init__(self):
        import pycrdt
        self.y = pycrdt

    def new_doc(self, client_id):
        return self.y.Doc(client_id=client_id)

    def text(self, doc):
        return doc.get("text", type=self.y.Text)

    def edit(self, text, op):
        if op[0] == "ins":
            text.insert(op[1], op[2])
        else:
            del text[op[1]:op[1] + op[2]]

    def transact(self, doc, body):
        with doc.transaction():
            body()

    def record(self, doc, sink, muted):
        return doc.observe(lambda e: None if muted[0] else sink.append(bytes(e.update)))

    def apply(self, doc, update):
        doc.apply_update(update)

    def apply_all(self, doc, updates):
        with doc.transaction():
            for u in updates:
                doc.apply_update(u)

    def set_map(self, doc, value):
        doc.get("map", type=self.y.Map)["v"] = value

    def map_value(self, doc):
        return doc.get("map", type=self.y.Map).get("v")

    def array_insert_front(self, doc, value):
        doc.get("array", type=self.y.Array).insert(0, value)

    def array_items(self, doc):
        return list(doc.get("array", type=self.y.Array))

    def text_string(self, doc):
        return str(doc.get("text", type=self.y.Text))

    def encode(self, doc):
        return doc.get_update()

    def load(self, data):
        doc = self.y.Doc()
        doc.apply_update(data)
        return doc

    def prepare_trace(self, start, patches):
        return utf8_patches(start, patches)  # pycrdt Text takes UTF-8 byte offsets


class Loro:
    name = "loro"

    def __init__(self):
        import loro
        self.l = loro

    def new_doc(self, client_id):
        doc = self.l.LoroDoc()
        doc.peer_id = client_id
        return doc

    def text(self, doc):
        return doc.get_text("text")

    def edit(self, text, op):
        if op[0] == "ins":
            text.insert(op[1], op[2])
        else:
            text.delete(op[1], op[2])

    def transact(self, doc, body):
        body()
        doc.commit()

    def record(self, doc, sink, muted):
        return doc.subscribe_local_update(lambda u: (None if muted[0] else sink.append(bytes(u)), True)[1])

    def apply(self, doc, update):
        doc.import_(update)

    def apply_all(self, doc, updates):
        doc.import_batch(updates)

    def set_map(self, doc, value):
        doc.get_map("map").insert("v", value)
        doc.commit()

    def map_value(self, doc):
        return doc.get_map("map").get_value().get("v")

    def array_insert_front(self, doc, value):
        doc.get_list("array").insert(0, value)
        doc.commit()

    def array_items(self, doc):
        return list(doc.get_list("array").get_value())

    def text_string(self, doc):
        return doc.get_text("text").to_string()

    def encode(self, doc):
        return bytes(doc.export(self.l.ExportMode.Snapshot()))

    def load(self, data):
        doc = self.l.LoroDoc()
        doc.import_(data)
        return doc

    def prepare_trace(self, start, patches):
        return patches  # loro takes code points, the trace's unit


PEERS = {"pycrdt": Pycrdt, "loro": Loro}


def edit_each(p, doc, text, ops):
    """B1/B4: every op its own transaction."""
    if isinstance(p, Loro):
        for op in ops:
            p.edit(text, op)
            doc.commit()
    else:
        for op in ops:
            p.edit(text, op)


def b3_content(p, sid, doc):
    if sid == "B3.4":
        return ",".join(str(x) for x in p.array_items(doc))
    v = p.map_value(doc)
    if isinstance(v, dict):
        return f"{v.get('name')}|{v.get('address')}"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # pycrdt stores Python ints as floats
    return str(v)


def finish(p, sid, title, ms, updates, avg, doc, content, render):
    t0 = time.perf_counter()
    state = p.encode(doc)
    encode_ms = ms_since(t0)
    gc.collect()
    h0 = heap_in_use()
    t0 = time.perf_counter()
    loaded = p.load(state)
    parse_ms = ms_since(t0)
    loaded_content = render(loaded)
    memory = heap_in_use() - h0
    if loaded_content != content:
        raise RuntimeError(f"{sid}: the loaded document differs from the original")
    total = sum(len(u) for u in updates)
    return {"id": sid, "title": title, "timeMs": ms, "updates": len(updates), "updateBytes": total,
            "avgUpdateBytes": avg, "encodeMs": encode_ms, "docBytes": len(state), "docSha256": sha256(state),
            "parseMs": parse_ms, "memoryBytes": memory, "contentSha256": sha256(content.encode()),
            "contentLength": len(content.encode())}


def b1(p, sid, n, seed):
    ops, expected = W.b1(sid, n, seed)
    doc1, doc2 = p.new_doc(1), p.new_doc(2)
    updates, muted = [], [False]
    sub = p.record(doc1, updates, muted)  # noqa: F841 (kept alive)
    text = p.text(doc1)
    gc.collect()
    t0 = time.perf_counter()
    edit_each(p, doc1, text, ops)
    ms = ms_since(t0)
    for u in updates:
        p.apply(doc2, u)
    content = p.text_string(doc1)
    if content != expected or p.text_string(doc2) != expected:
        raise RuntimeError(f"{sid}: final text differs from the expected one")
    return finish(p, sid, W.TITLES[sid], ms, updates, sum(map(len, updates)) / max(1, len(ops)), doc1, content,
                  p.text_string)


def b2(p, sid, n, seed):
    ops1, ops2 = W.b2(sid, n, seed)
    doc1, doc2 = p.new_doc(1), p.new_doc(2)
    out1, out2, muted = [], [], [False]
    subs = (p.record(doc1, out1, muted), p.record(doc2, out2, muted))  # noqa: F841
    t1, t2 = p.text(doc1), p.text(doc2)

    def send(out, to):
        muted[0] = True  # updates emitted by applying remote ones are not sent (crdt-benchmarks' mutex)
        for u in out:
            p.apply(to, u)
        muted[0] = False
        sent.extend(out)
        out.clear()

    sent = []
    p.transact(doc1, lambda: t1.insert(0, W.b2_initial_text(seed)))
    send(out1, doc2)
    gc.collect()
    t0 = time.perf_counter()
    p.transact(doc1, lambda: [p.edit(t1, op) for op in ops1])
    send(out1, doc2)
    p.transact(doc2, lambda: [p.edit(t2, op) for op in ops2])
    send(out2, doc1)
    ms = ms_since(t0)
    content = p.text_string(doc1)
    if content != p.text_string(doc2):
        raise RuntimeError(f"{sid}: the two clients did not converge")
    return finish(p, sid, W.TITLES[sid], ms, sent, sum(map(len, sent)) / 2, doc1, content, p.text_string)


def b3(p, sid, n):
    clients = W.b3_clients(n)
    updates, docs, subs, muted = [], [], [], [False]
    for i in range(clients):
        doc = p.new_doc(i + 1)
        subs.append(p.record(doc, updates, muted))
        if sid == "B3.1":
            p.set_map(doc, i)
        elif sid == "B3.2":
            p.set_map(doc, {"name": str(i), "address": "here"})
        elif sid == "B3.3":
            p.set_map(doc, str(i) * clients)
        elif sid == "B3.4":
            p.array_insert_front(doc, str(i))
        docs.append(doc)
    updates = list(updates)
    muted[0] = True
    p.apply_all(docs[0], updates)
    gc.collect()
    t0 = time.perf_counter()
    p.apply_all(docs[1], updates)
    ms = ms_since(t0)

    def render(d):
        return b3_content(p, sid, d)

    content = render(docs[0])
    if content != render(docs[1]):
        raise RuntimeError(f"{sid}: clients 1 and 2 did not converge")
    return finish(p, sid, W.TITLES[sid], ms, updates, sum(map(len, updates)), docs[0], content, render)


def b4x(p, path, times):
    start, end, patches, _ = load_trace(path)
    prepared = [[op for op in (("del", pos, dl) if dl else None, ("ins", pos, ins) if ins else None) if op]
                for pos, dl, ins in p.prepare_trace(start, patches)]
    doc = p.new_doc(1)
    text = p.text(doc)
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(times):
        if start:
            p.transact(doc, lambda: text.insert(0, start))
        for ops in prepared:  # one transaction per patch: delete, then insert
            p.transact(doc, lambda: [p.edit(text, op) for op in ops])
    ms = ms_since(t0)
    content = p.text_string(doc)
    if content != end * times:
        raise RuntimeError(f"B4x{times}: final text differs from endContent x {times}")
    name = os.path.basename(path).removesuffix(".gz").removesuffix(".json")
    return finish(p, f"B4x{times}", f"Apply {name} {times} times", ms, [], 0, doc, content, p.text_string)


def run(p, sid, args):
    if sid == "B4x":
        return b4x(p, args.trace, args.times)
    if sid.startswith("B1."):
        return b1(p, sid, args.n, args.seed)
    if sid.startswith("B2."):
        return b2(p, sid, args.n, args.seed)
    return b3(p, sid, args.n)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peer", choices=sorted(PEERS))
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=1, help="runs per scenario; times are medians")
    ap.add_argument("--only", nargs="+", metavar="ID", default=None)
    ap.add_argument("--trace", help="sequential trace for B4xK")
    ap.add_argument("--times", type=int, default=100)
    args = ap.parse_args()
    ids = args.only or (W.IDS + (["B4x"] if args.trace else []))
    bad = [i for i in ids if i not in W.IDS and i != "B4x"]
    if bad:
        ap.error(f"unknown scenario {bad[0]}; known: {', '.join(W.IDS)}, B4x")
    if "B4x" in ids and not args.trace:
        ap.error("B4x needs --trace FILE")
    if args.n < 10 or args.repeat < 1 or args.times < 1:
        ap.error("--n must be >= 10, --repeat and --times >= 1")
    p = PEERS[args.peer]()
    results = []
    for sid in ids:
        runs = [run(p, sid, args) for _ in range(args.repeat)]
        r = dict(runs[0])
        for k in ("timeMs", "encodeMs", "parseMs"):
            r[k] = statistics.median(x[k] for x in runs)
        results.append(r)
    from importlib.metadata import version
    json.dump({"peer": args.peer, "version": version(args.peer), "n": args.n, "seed": args.seed,
               "repeat": args.repeat, "b3Clients": W.b3_clients(args.n), "results": results}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
