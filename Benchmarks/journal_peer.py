#!/usr/bin/env python3
"""The journal benchmark's peer: pycrdt-store's SQLiteYStore (the store behind pycrdt-websocket)
appending a trace's per-transaction updates one write (= one SQLite commit) each, like the
"per commit" run of `ycli bench journal`. Prints one JSON object.

    .venv/bin/python Benchmarks/journal_peer.py Benchmarks/traces/sequential/automerge-paper.json.gz --count 5000

The updates are those of pycrdt replaying the trace's first --count patches (one transaction each;
not timed). Timed: the --count writes; then a cold open (a new store object + apply_updates into a
fresh Doc), checked against the replayed text. SQLite settings are pycrdt-store's own (rollback
journal, synchronous FULL: durable at every commit); it writes a checkpoint every 100 updates.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trace_peer import PycrdtPeer, load_trace  # noqa: E402


def updates_of(path, count):
    start, _, patches, _ = load_trace(path)
    peer = PycrdtPeer("text")
    prepared = peer.prepare(start, patches)[:count]
    doc = peer.new_doc(1)
    updates = []
    sub = peer.observe_updates(doc, updates.append)  # noqa: F841
    peer.replay(doc, start, prepared)
    return updates, peer.text(doc)


async def measure(updates, expected, db_path):
    from pycrdt import Doc, Text
    from pycrdt.store import SQLiteYStore

    class Store(SQLiteYStore):
        pass

    Store.db_path = db_path
    async with Store(path="bench") as store:
        t0 = time.perf_counter()
        for u in updates:
            await store.write(u)
        write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    async with Store(path="bench") as store:
        doc = Doc()
        await store.apply_updates(doc)
    open_ms = (time.perf_counter() - t0) * 1e3
    if str(doc.get("text", type=Text)) != expected:
        raise SystemExit("pycrdt-store: the reopened document differs from the replayed one")
    return write_s, open_ms


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--count", type=int, default=5000, help="updates to append, one commit each")
    args = ap.parse_args()
    if args.count < 1:
        ap.error("--count must be >= 1")
    import anyio
    from importlib.metadata import version
    updates, expected = updates_of(args.trace, args.count)
    with tempfile.TemporaryDirectory(prefix="journal-peer-") as tmp:
        db = os.path.join(tmp, "ystore.db")
        write_s, open_ms = anyio.run(measure, updates, expected, db)
        file_bytes = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
    payload = sum(map(len, updates))
    json.dump({"peer": "pycrdt-store", "version": version("pycrdt-store"), "updates": len(updates),
               "perCommitAppendsPerSecond": len(updates) / write_s, "writeSeconds": write_s,
               "fileBytes": file_bytes, "fileBytesPerUpdate": file_bytes / max(1, len(updates)),
               "payloadBytesPerUpdate": payload / max(1, len(updates)), "coldOpenMs": open_ms}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
