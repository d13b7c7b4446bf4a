#!/usr/bin/env python3
"""One peer's side of the trace benchmark: replay a sequential trace in pycrdt or loro and print
the same figures as `ycli bench trace --json`, as one JSON object on stdout.

Run by trace_bench.py, one subprocess per peer and trace (and a second, fresh one for the memory
figure). Usable on its own:

    .venv/bin/python Benchmarks/trace_peer.py pycrdt Benchmarks/traces/sequential/sveltecomponent.json.gz

Timings exclude reading, decompressing and parsing the trace, and the conversion of positions to
each library's units (done beforehand): pycrdt's Text takes UTF-8 byte offsets, loro's
`insert`/`delete` take Unicode code points (the trace's own unit).

Memory: heap bytes in use (glibc mallinfo2: uordblks + hblkhd) after minus before loading the full
state into a fresh document, measured in a fresh process that did nothing else. Both libraries are
Rust extensions allocating through glibc's malloc, so mallinfo2 sees their allocations (Python's own
objects live in pymalloc arenas, which it does not count; tracemalloc would see only those). RSS delta
is recorded too, for reference.
"""

import argparse
import bisect
import ctypes
import ctypes.util
import gc
import gzip
import hashlib
import json
import os
import statistics
import sys
import time


# ---------------------------------------------------------------------------------------------
# Trace loading and unit conversion (not timed)

def load_trace(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    data = json.loads(raw)
    if data.get("kind", "sequential") != "sequential":
        raise SystemExit(f"{path}: not a sequential trace")
    patches = [(p[0], p[1], p[2]) for txn in data["txns"] for p in txn["patches"]]
    return data.get("startContent", ""), data["endContent"], patches, len(data["txns"])


def utf8_patches(start, patches):
    """Code-point (pos, del, ins) -> UTF-8 byte (pos, del, ins), replaying the positions of the
    non-ASCII characters only (sorted list + bisect), so the common ASCII case costs O(1)."""
    na_pos = []  # sorted code-point positions of non-ASCII characters in the text
    na_extra = []  # their UTF-8 length minus 1
    length = 0

    def insert_chars(at, text):
        nonlocal length
        new_pos, new_extra = [], []
        for i, ch in enumerate(text):
            o = ord(ch)
            if o >= 0x80:
                new_pos.append(at + i)
                new_extra.append(1 if o < 0x800 else 2 if o < 0x10000 else 3)
        k = bisect.bisect_left(na_pos, at)
        n = len(text)
        if n:
            for j in range(k, len(na_pos)):
                na_pos[j] += n
        na_pos[k:k] = new_pos
        na_extra[k:k] = new_extra
        length += n

    insert_chars(0, start)
    out = []
    for pos, dl, ins in patches:
        if pos < 0 or dl < 0 or pos + dl > length:
            raise SystemExit(f"patch ({pos}, {dl}) does not fit a text of {length} code points")
        lo = bisect.bisect_left(na_pos, pos)
        hi = bisect.bisect_left(na_pos, pos + dl) if dl else lo
        before = sum(na_extra[:lo]) if lo else 0
        inside = sum(na_extra[lo:hi]) if hi > lo else 0
        out.append((pos + before, dl + inside, ins))
        if hi > lo:
            del na_pos[lo:hi]
            del na_extra[lo:hi]
        if dl:
            for j in range(lo, len(na_pos)):
                na_pos[j] -= dl
        length -= dl
        insert_chars(pos, ins)
    return out


# ---------------------------------------------------------------------------------------------
# Measurement helpers

class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
_libc.mallinfo2.restype = _MallInfo2


def heap_in_use():
    m = _libc.mallinfo2()
    return m.uordblks + m.hblkhd


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def ms_since(t0):
    return (time.perf_counter() - t0) * 1e3


def sha256(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------------------------------------
# Peers. Each offers: new_doc(client_id), replay(doc, patches), text(doc), encode(doc),
# load(bytes) -> doc, and a library version.

class PycrdtPeer:
    name = "pycrdt"

    def __init__(self, text_name):
        import pycrdt
        self.pycrdt = pycrdt
        self.text_name = text_name

    @staticmethod
    def version():
        from importlib.metadata import version
        return version("pycrdt")

    def prepare(self, start, patches):
        return utf8_patches(start, patches)  # pycrdt Text indexes are UTF-8 byte offsets

    def new_doc(self, client_id):
        return self.pycrdt.Doc(client_id=client_id)

    def replay(self, doc, start, patches):
        text = doc.get(self.text_name, type=self.pycrdt.Text)
        if start:
            with doc.transaction():
                text.insert(0, start)
        for pos, dl, ins in patches:
            with doc.transaction():  # one transaction per patch: delete, then insert
                if dl:
                    del text[pos:pos + dl]
                if ins:
                    text.insert(pos, ins)

    def observe_updates(self, doc, sink):
        return doc.observe(lambda event: sink(event.update))

    def text(self, doc):
        return str(doc.get(self.text_name, type=self.pycrdt.Text))

    def encode(self, doc):
        return doc.get_update()

    def load(self, data):
        doc = self.pycrdt.Doc()
        doc.apply_update(data)
        return doc


class LoroPeer:
    name = "loro"

    def __init__(self, text_name):
        import loro
        self.loro = loro
        self.text_name = text_name

    @staticmethod
    def version():
        from importlib.metadata import version
        return version("loro")

    def prepare(self, start, patches):
        return patches  # LoroText.insert/delete take Unicode code points, like the trace

    def new_doc(self, client_id):
        doc = self.loro.LoroDoc()
        doc.peer_id = client_id
        return doc

    def replay(self, doc, start, patches):
        text = doc.get_text(self.text_name)
        if start:
            text.insert(0, start)
            doc.commit()
        for pos, dl, ins in patches:
            if dl:
                text.delete(pos, dl)
            if ins:
                text.insert(pos, ins)
            doc.commit()  # one transaction (loro: commit) per patch

    def observe_updates(self, doc, sink):
        return doc.subscribe_local_update(lambda update: (sink(bytes(update)), True)[1])

    def text(self, doc):
        return doc.get_text(self.text_name).to_string()

    def encode(self, doc):
        return bytes(doc.export(self.loro.ExportMode.Snapshot()))

    def load(self, data):
        doc = self.loro.LoroDoc()
        doc.import_(data)
        return doc


PEERS = {"pycrdt": PycrdtPeer, "loro": LoroPeer}


# ---------------------------------------------------------------------------------------------

def check(actual, expected, what):
    if actual != expected:
        i = next((k for k, (a, b) in enumerate(zip(actual, expected)) if a != b), min(len(actual), len(expected)))
        raise SystemExit(f"{what} differs from endContent at code point {i} "
                         f"(lengths {len(actual)} vs {len(expected)}): "
                         f"got {actual[max(0, i - 20):i + 20]!r}, expected {expected[max(0, i - 20):i + 20]!r}")


def run_bench(peer, path, client_id, repeats, load_repeats):
    t0 = time.perf_counter()
    start, end, patches, txns = load_trace(path)
    prepared = peer.prepare(start, patches)
    parse_ms = ms_since(t0)

    replay_runs = []
    for _ in range(repeats):
        doc = peer.new_doc(client_id)
        gc.collect()
        t0 = time.perf_counter()
        peer.replay(doc, start, prepared)
        replay_runs.append(ms_since(t0))
        check(peer.text(doc), end, f"{peer.name} replayed text")
        del doc

    # One more replay with an update observer: the stream of updates the transactions emit.
    stream = hashlib.sha256()
    counts = [0, 0]

    def sink(update):
        stream.update(update)
        counts[0] += 1
        counts[1] += len(update)

    doc = peer.new_doc(client_id)
    sub = peer.observe_updates(doc, sink)
    t0 = time.perf_counter()
    peer.replay(doc, start, prepared)
    observed_ms = ms_since(t0)
    check(peer.text(doc), end, f"{peer.name} replayed text (observed)")
    del sub

    full = peer.encode(doc)
    del doc
    gc.collect()

    load_runs, loaded = [], None
    for _ in range(load_repeats):
        loaded = None
        gc.collect()
        t0 = time.perf_counter()
        loaded = peer.load(full)
        load_runs.append(ms_since(t0))
    check(peer.text(loaded), end, f"{peer.name} loaded text")

    # Encode out of a freshly loaded document (loro: its text was just read, see above).
    loaded = peer.load(full)
    encode_runs, reencoded = [], b""
    for _ in range(load_repeats):
        t0 = time.perf_counter()
        reencoded = peer.encode(loaded)
        encode_runs.append(ms_since(t0))

    return {
        "trace": os.path.basename(path).removesuffix(".gz").removesuffix(".json"),
        "peer": peer.name,
        "version": peer.version(),
        "patches": len(patches),
        "transactions": txns,
        "replayMs": statistics.median(replay_runs),
        "fullStateBytes": len(full),
        "fullStateSha256": sha256(full),
        "updateStreamBytes": counts[1],
        "updateStreamSha256": stream.hexdigest(),
        "updateCount": counts[0],
        "loadMs": statistics.median(load_runs),
        "encodeMs": statistics.median(encode_runs),
        "encodeMatchesFullState": reencoded == full,
        "replayObservedMs": observed_ms,
        "parseMs": parse_ms,
        "replayRunsMs": replay_runs,
        "loadRunsMs": load_runs,
        "encodeRunsMs": encode_runs,
        "clientId": client_id,
        "textName": peer.text_name,
        "_fullState": full,
    }


def measure_memory(peer, state_path, expected_length):
    """In a fresh process: heap held by a document loaded from the full state."""
    with open(state_path, "rb") as f:
        data = f.read()
    peer.text(peer.load(data))  # warm-up: first-use allocations of the library itself
    gc.collect()
    h0, r0 = heap_in_use(), rss_bytes()
    doc = peer.load(data)
    h1, r1 = heap_in_use(), rss_bytes()
    text = peer.text(doc)  # loro loads lazily: its state is decoded when first read
    h2, r2 = heap_in_use(), rss_bytes()
    if len(text) != expected_length:
        raise SystemExit(f"{peer.name}: loaded text has {len(text)} code points, expected {expected_length}")
    return {
        "memoryBytes": h2 - h0,
        "memoryAfterLoadOnlyBytes": h1 - h0,
        "rssDeltaBytes": r2 - r0,
        "memoryMethod": "mallinfo2 (uordblks + hblkhd) after loading the full state and reading the text, "
                        "minus before, in a fresh process",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peer", choices=sorted(PEERS))
    ap.add_argument("trace")
    ap.add_argument("--client-id", type=int, default=1)
    ap.add_argument("--text", default="text")
    ap.add_argument("--repeat", type=int, default=3, help="timed replays (median reported)")
    ap.add_argument("--load-repeat", type=int, default=10, help="timed loads and encodes (medians reported)")
    ap.add_argument("--state-out", help="write the full state here (for --memory-of in a fresh process)")
    ap.add_argument("--memory-of", metavar="STATE", help="only measure the memory of a document loaded from STATE")
    ap.add_argument("--expected-length", type=int, default=-1)
    args = ap.parse_args()

    peer = PEERS[args.peer](args.text)
    if args.memory_of:
        result = measure_memory(peer, args.memory_of, args.expected_length)
    else:
        result = run_bench(peer, args.trace, args.client_id, args.repeat, args.load_repeat)
        full = result.pop("_fullState")
        if args.state_out:
            with open(args.state_out, "wb") as f:
                f.write(full)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
