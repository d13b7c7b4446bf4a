#!/usr/bin/env python3
"""Markdown report and SVG plots from the suite's JSON (written by bench_all.py). Every figure
comes from that JSON; nothing is typed in by hand. Regenerate without re-running:

    .venv/bin/python Benchmarks/bench_report.py Benchmarks/results/all.json [OUT_DIR]
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import svg_plot  # noqa: E402

PEERS = ["ysync", "pycrdt", "loro"]

CRDT_METRICS = [
    ("timeMs", "time (ms)", lambda x: f"{x:,.2f}"),
    ("avgUpdateBytes", "avgUpdateSize (bytes)", lambda x: f"{x:,.0f}"),
    ("docBytes", "docSize (bytes)", lambda x: f"{x:,}"),
    ("encodeMs", "encodeTime (ms)", lambda x: f"{x:,.2f}"),
    ("parseMs", "parseTime (ms)", lambda x: f"{x:,.2f}"),
    ("memoryBytes", "memUsed (heap bytes, mallinfo2)", lambda x: f"{x:,}"),
]
B4X_METRICS = [m for m in CRDT_METRICS if m[0] != "avgUpdateBytes"]

PLOTS = {"crdt": "crdt-time.svg", "b4": "b4-replay.svg", "converge": "converge-time-vs-replicas.svg",
         "converge-wire": "converge-wire-ratio-vs-replicas.svg", "b4x": "b4x-time.svg",
         "server": "server-latency.svg", "server-dist": "server-latency-distribution.svg"}



def bench_path(versions):
    """The benchmark binary of a run (results written before ysync-bench existed name ycli)."""
    return versions.get("ysyncBench") or versions.get("ycli", "?")

def ratio(a, b):
    if a is None or b is None or not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or b == 0:
        return "n/a"
    return f"{a / b:.2f}×"


def cell(v, fmt):
    return fmt(v) if isinstance(v, (int, float)) else "n/a"


def by_group(doc, group):
    return [r for r in doc["scenarios"] if r["group"] == group]


def peer_table(records, metrics, label="scenario"):
    """One table per metric: ysync, pycrdt, loro and the ratios ysync / peer."""
    out = []
    for key, title, fmt in metrics:
        out += [f"#### {title}\n", f"| {label} | ysync | pycrdt | loro | ysync / pycrdt | ysync / loro |",
                "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for r in records:
            v = [r["peers"].get(p, {}).get(key) for p in PEERS]
            name = f"{r['id']} {r['title']}" if r["group"] == "crdt" else r["id"]
            out.append(f"| {name} | {cell(v[0], fmt)} | {cell(v[1], fmt)} | {cell(v[2], fmt)} "
                       f"| {ratio(v[0], v[1])} | {ratio(v[0], v[2])} |")
        out.append("")
    return out


def crossing(records):
    out = ["#### Cross-checks\n", "| scenario | updates (ysync / pycrdt / loro) | same document bytes as pycrdt "
           "| same content as pycrdt | same content as loro |", "| --- | ---: | :---: | :---: | :---: |"]
    for r in records:
        p = r["peers"]
        if not all(k in p for k in PEERS):
            out.append(f"| {r['id']} | {r['status']} | | | |")
            continue
        y = p["ysync"]
        if y["docSha256"] == p["pycrdt"]["docSha256"]:
            same_doc = "yes"
        elif y["docBytes"] == p["pycrdt"]["docBytes"]:
            same_doc = "same size, other byte order"
        else:
            same_doc = f"no ({y['docBytes']:,} vs {p['pycrdt']['docBytes']:,} bytes)"
        out.append(f"| {r['id']} | {y['updates']} / {p['pycrdt']['updates']} / {p['loro']['updates']} | {same_doc} "
                   f"| {'yes' if y['contentSha256'] == p['pycrdt']['contentSha256'] else 'no'} "
                   f"| {'yes' if y['contentSha256'] == p['loro']['contentSha256'] else 'no (own merge order)'} |")
    out.append("")
    return out


def lacked(y):
    """wire / lacked (structs and only the deletes a replica lacked), when the run has it."""
    return f"{y['wireLackedRatio']:.3f}" if "wireLackedRatio" in y else "–"


def converge_table(records):
    out = ["| workload | replicas | profile | converge (ms) | wire bytes | minimal bytes | wire / minimal "
           "| wire / lacked | update bytes / minimal | messages | handshake frames / link | journal writes / update "
           "| redundant frames | converged |",
           "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"]
    for r in records:
        y = r["peers"].get("ysync")
        if not y:
            out.append(f"| {r['workload']} | | {r['profile']} | {r['status']} | | | | | | | | | | no |")
            continue
        out.append(f"| {r['workload']} | {y['replicas']} | {y['profile']} | {y['convergeMs']:,.1f} | {y['wireBytes']:,} "
                   f"| {y['minimalBytes']:,} | {y['wireRatio']:.3f} | {lacked(y)} | {y['updateRatio']:.3f} | {y['messages']:,} "
                   f"| {y['handshakeFramesPerLink']:.2f} | {y['journalWritesPerUpdate']:.2f} | {y['redundantFrames']} "
                   f"| {'yes' if y.get('converged') else 'no'} |")
    out.append("")
    return out


JOURNAL_ROWS = [
    # key, title, format, pycrdt-store: None (no such figure), "show" (its figure, over its prefix), "ratio"
    ("updates", "updates appended (pycrdt-store: the per-commit prefix)", "{:,}", "show"),
    ("batchedAppendsPerSecond", "appends/s, batched (--batch per commit)", "{:,.0f}", None),
    ("perCommitAppendsPerSecond", "appends/s, one durable commit each (same first updates)", "{:,.0f}", "ratio"),
    ("fileBytesPerUpdate", "file bytes per update (different counts: no ratio)", "{:.1f}", "show"),
    ("payloadBytesPerUpdate", "payload bytes per update (different counts: no ratio)", "{:.1f}", "show"),
    ("rowLz4Ratio", "LZ4 ratio of rows", "{:.2f}", None),
    ("snapshotLz4Ratio", "LZ4 ratio of the snapshot", "{:.2f}", None),
    ("coldOpenUncompactedMs", "cold open, uncompacted (ms)", "{:,.1f}", None),
    ("compactMs", "compaction with the loaded document (ms)", "{:,.1f}", None),
    ("compactDoclessMs", "compaction without a document (ms)", "{:,.1f}", None),
    ("coldOpenCompactedMs", "cold open, compacted (ms)", "{:,.1f}", None),
]


def journal_table(records):
    out = []
    for r in records:
        y = r["peers"].get("ysync")
        if not y:
            out.append(f"- {r['id']}: {r['status']}")
            continue
        s = r["peers"].get("pycrdt") or {}
        who = f"pycrdt-store {s['version']}, its first {s['updates']:,} updates, one write each" if s else "not run"
        out += [f"Trace {r['id']}, durability {y.get('durability')}; pycrdt-store column: {who}.\n",
                "| figure | ysync | pycrdt-store | loro | ysync / pycrdt-store |", "| --- | ---: | ---: | --- | ---: |"]
        for key, title, fmt, peer in JOURNAL_ROWS:
            if key not in y:
                continue
            theirs = fmt.format(s[key]) if peer and key in s else "no equivalent"
            out.append(f"| {title} | {fmt.format(y[key])} | {theirs} | no store | "
                       f"{ratio(y[key], s.get(key)) + ' (above 1: ysync faster)' if peer == 'ratio' else ''} |")
        out.append("")
        if "coldOpenMs" in s:
            out.append(f"pycrdt-store cold open of its {s['updates']:,} updates: {s['coldOpenMs']:,.1f} ms "
                       f"(not comparable with ysync's whole-stream figures above).\n")
        out.append(f"Peers: {r.get('peerNote', '')}.\n")
    return out


SERVER_METRICS = [
    ("latencyP50Ms", "fan-out latency p50 (ms)", "{:,.2f}"),
    ("latencyP99Ms", "fan-out latency p99 (ms)", "{:,.2f}"),
    ("latencyMaxMs", "fan-out latency max (ms)", "{:,.2f}"),
    ("lostDeliveries", "lost deliveries", "{:,}"),
    ("updatesPerSecond", "sustained updates/s (above 1: ysync faster)", "{:,.0f}"),
    ("deliveriesPerSecond", "deliveries/s (above 1: ysync faster)", "{:,.0f}"),
    ("memoryPerConnectionBytes", "memory per connection (bytes)", "{:,}"),
    ("memoryPerRoomBytes", "memory per room (bytes)", "{:,}"),
]


def server_section(records):
    out = []
    for r in records:
        if r["status"] == "unavailable":
            out.append(f"{r['note'][0].upper()}{r['note'][1:]}.\n")
    fan = [r for r in records if r["id"] == "fan-out"]
    for r in fan:
        ours = {x["clients"]: x for x in r["peers"].get("ysync", []) if "error" not in x}
        theirs = {x["clients"]: x for x in r["peers"].get("pycrdt-websocket", []) if "error" not in x}
        o = r.get("options", {})
        out += [f"![fan-out latency](plots/{PLOTS['server']})\n",
                f"![fan-out latency distribution](plots/{PLOTS['server-dist']})\n",
                f"Fan-out: {o.get('updates', '?')} updates at {o.get('rate', '?')}/s for latency, {o.get('senders', '?')} "
                f"senders × {o.get('burst', '?')} updates for throughput; our journal durability {o.get('durability', '?')}; "
                "pycrdt-websocket's server measured by the same command in the same run.\n",
                "| figure | clients | ysync | pycrdt-websocket | ysync / pycrdt-websocket |",
                "| --- | ---: | ---: | ---: | ---: |"]
        for key, title, fmt in SERVER_METRICS:
            for n in sorted(set(ours) | set(theirs)):
                a, b = ours.get(n, {}).get(key), theirs.get(n, {}).get(key)
                out.append(f"| {title} | {n} | {fmt.format(a) if a is not None else 'n/a'} "
                           f"| {fmt.format(b) if b is not None else 'n/a'} | {ratio(a, b)} |")
        out.append("")
    conv = [r for r in records if r["id"].startswith("converge/")]
    if conv:
        out += ["Replicas reconnecting through `ycli serve` (random workload, star around the server; "
                f"{conv[0]['peerNote']}):\n",
                "| replicas | profile | converge (ms) | wire bytes | minimal bytes | wire / minimal | wire / lacked | messages "
                "| journal writes / update | converged |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"]
        for r in conv:
            y = r["peers"].get("ysync")
            if not y:
                out.append(f"| {r['id']} | {r['profile']} | {r['status']} | | | | | | | no |")
                continue
            out.append(f"| {y['replicas']} | {y['profile']} | {y['convergeMs']:,.1f} | {y['wireBytes']:,} | {y['minimalBytes']:,} "
                       f"| {y['wireRatio']:.3f} | {lacked(y)} | {y['messages']:,} | {y['journalWritesPerUpdate']:.2f} "
                       f"| {'yes' if y.get('converged') else 'no'} |")
        out.append("")
    return out


def markdown(doc):
    m, v = doc["machine"], doc["versions"]
    lines = [
        "# Benchmark suite: ysync vs pycrdt (yrs) vs loro\n",
        f"- Command: `{doc['command']}` (from the repository root)",
        f"- Date: {doc['date'][:16].replace('T', ' ')} UTC; took {doc['seconds']:.0f} s"
        + ("; **quick mode** (small sizes: a harness check, not a measurement)" if doc["quick"] else ""),
        f"- Machine: {m['nproc']} cores ({m['cpu']}), {(m['memTotalBytes'] or 0) / 2**30:.0f} GiB RAM, Linux {m['kernel']}",
        f"- Versions: {v['swift']}; ysync {v['ysyncCommit']}; pycrdt {v['pycrdt']}; loro {v['loro']}; Python {v['python']}",
        f"- ysync-bench: `{os.path.relpath(bench_path(v), os.path.dirname(HERE)) if bench_path(v).startswith(os.path.dirname(HERE)) else bench_path(v)}`",
        "- Every figure below was produced by this run; ratios are ysync / peer (for times and sizes, below 1 = "
        "ysync faster or smaller).",
        "",
        "## Scenarios\n",
        "| group | scenario | status | seconds |", "| --- | --- | --- | ---: |",
    ]
    for r in doc["scenarios"]:
        status = r["status"] if r["status"] != "unavailable" else "not available in this build"
        lines.append(f"| {r['group']} | {r['id']} | {status} | {r.get('seconds', 0):.1f} |")
    lines.append("")
    if doc["problems"]:
        lines += ["**Problems:**\n"] + [f"- {p}" for p in doc["problems"]] + [""]
    for r in doc["scenarios"]:
        for e in r.get("errors", []):
            lines.append(f"- {r['group']} {r['id']} failed: `{e.splitlines()[0][:300]}`")
    lines.append("")

    o = doc["options"]
    crdt = by_group(doc, "crdt")
    if crdt:
        lines += [f"## B1–B3: crdt-benchmarks scenarios (N = {o['n']}, seed {o['seed']}, median of {o['repeat']})\n",
                  f"![time per scenario](plots/{PLOTS['crdt']})\n"]
        lines += peer_table(crdt, CRDT_METRICS) + crossing(crdt)
    b4 = by_group(doc, "b4")
    if b4:
        lines += [f"## B4: sequential editing traces (median of {o['trace_repeat']} replays, {o['load_repeat']} loads)\n",
                  f"![replay time per trace](plots/{PLOTS['b4']})\n",
                  "Measured as `scripts/bench.sh` does (Benchmarks/trace_bench.py): replay with one transaction per "
                  "patch, full state, load, encode, memory of the loaded document. loro's full state is its own "
                  "snapshot format.\n"]
        lines += peer_table(b4, [("replayMs", "replay (ms)", lambda x: f"{x:,.1f}"),
                                 ("fullStateBytes", "full-state size (bytes)", lambda x: f"{x:,}"),
                                 ("loadMs", "load (ms)", lambda x: f"{x:,.2f}"),
                                 ("encodeMs", "encode (ms)", lambda x: f"{x:,.2f}"),
                                 ("memoryBytes", "memory of the loaded document (heap bytes)", lambda x: f"{x:,}")],
                            label="trace")
    b4x = by_group(doc, "b4x100")
    if b4x:
        lines += [f"## B4x{o['b4x_times']}: {o['b4x_trace']} replayed {o['b4x_times']} times into one document\n",
                  f"![B4xK](plots/{PLOTS['b4x']})\n"]
        lines += peer_table(b4x, B4X_METRICS)
    conv = by_group(doc, "converge")
    if conv:
        lines += ["## Convergence over the faulty in-memory transport (`ysync-bench converge`)\n",
                  f"![time to converge vs replicas](plots/{PLOTS['converge']})\n",
                  f"![wire bytes / minimal vs replicas](plots/{PLOTS['converge-wire']})\n",
                  f"Random workload: {o['edits']} edits per replica made apart; concurrent traces: one replica per "
                  f"agent. Star topology around replica 0; seed {o['seed']}. Time from heal/connect until every "
                  "replica holds the union's state vector. Minimal = the diff each replica lacked as Yjs computes it "
                  "for a state vector (structs it lacked + the whole delete set, which a y-protocols step 1 cannot "
                  "avoid); lacked = only the structs and deletes it lacked. Peers: " + conv[0]["peerNote"] + ".\n"]
        lines += converge_table(conv)
    jr = by_group(doc, "journal")
    if jr:
        lines += ["## Journal (`ysync-bench journal`)\n"] + journal_table(jr)
    srv = by_group(doc, "server")
    if srv:
        lines += ["## Server over WebSockets (`ysync-bench server`, `ysync-bench converge-server`)\n"]
        lines += server_section(srv)
    lines += [NOTES]
    return "\n".join(lines)


NOTES = """## Method

- B1–B3 follow dmonad/crdt-benchmarks (js-lib/b1.js, b2.js, b3.js): B1 one client edits, each op its
  own transaction, the other client applies the update stream (not timed); B2 two clients synced on a
  100-character text each edit in one transaction and exchange their updates (timed together);
  B3 20·⌊√N⌋ clients make one change each, then one client applies all updates in one transaction
  (timed). avgUpdateSize: B1 bytes / ops, B2 bytes / 2 (the initial text's update included), B3 all
  bytes. The inputs come from a seeded SplitMix64 with the same draws in Swift and Python (one
  generator per scenario, so the inputs differ from crdt-benchmarks' lib0 PRNG but are the same for
  every peer; the cross-check table proves it). Client ids are 1, 2, … (Yjs picks random 32-bit ids:
  its updates are a few bytes larger per struct).
- Peers: ysync `ysync-bench crdt`; pycrdt and loro Benchmarks/crdt_peer.py, one process per scenario
  and peer. pycrdt makes each call outside `with doc.transaction():` its own transaction, as Yjs does;
  loro commits after each op (B1) or after a client's batch (B2); B3's apply is one transaction in
  pycrdt, `import_batch` in loro. loro's documents and updates are its own format (snapshots carry
  history).
- Cross-checks: ysync and pycrdt run the same algorithm with the same client ids, so their documents
  have the same content and, without concurrent deletes, the same bytes. pycrdt writes Python ints as
  floats (B3.1), and yrs writes delete-set clients and object keys in its hash order, hence "same size,
  other byte order" where several clients deleted (B2.4, B3.x).
- parseTime: a fresh document plus applying the encoded state (loro imports lazily: its parse figure
  excludes decoding, which its memory figure includes because the content is read once). memUsed: heap
  in use after minus before that load (glibc mallinfo2; Swift and both Rust extensions allocate
  through glibc malloc), in the peer's process.
- B4x100 (crdt-benchmarks b4.js): the trace's patches applied K times to one document, one transaction
  per patch; the final text is the trace's text K times. The Python peers pay the interpreter's
  per-call cost (hundreds of thousands of calls per replay).
- Times are wall-clock on a machine shared with other work: compare ratios from one run, not runs.
"""


def plots(doc):
    """name -> SVG text for each plot with data."""
    out = {}
    crdt = [r for r in by_group(doc, "crdt") if r["peers"]]
    if crdt:
        out[PLOTS["crdt"]] = svg_plot.grouped_bars(
            f"crdt-benchmarks B1–B3 (N = {doc['options']['n']}): time", [r["id"] for r in crdt],
            {p: [r["peers"].get(p, {}).get("timeMs") for r in crdt] for p in PEERS}, "ms")
    b4 = [r for r in by_group(doc, "b4") if r["peers"]]
    if b4:
        out[PLOTS["b4"]] = svg_plot.grouped_bars(
            "B4: replay time per sequential trace", [r["id"] for r in b4],
            {p: [r["peers"].get(p, {}).get("replayMs") for r in b4] for p in PEERS}, "ms")
    b4x = [r for r in by_group(doc, "b4x100") if r["peers"]]
    if b4x:
        out[PLOTS["b4x"]] = svg_plot.grouped_bars(
            "B4xK: time", [r["id"] for r in b4x], {p: [r["peers"].get(p, {}).get("timeMs") for r in b4x] for p in PEERS},
            "ms")
    conv = [r for r in by_group(doc, "converge") if r["peers"].get("ysync") and r["workload"] == "random"]
    ws = [r for r in by_group(doc, "server") if r["id"].startswith("converge/") and r["peers"].get("ysync")]
    if conv or ws:
        series = {}
        for r in conv:
            y = r["peers"]["ysync"]
            series.setdefault(f"in-memory, {y['profile']}", []).append((y["replicas"], y["convergeMs"]))
        for r in ws:
            y = r["peers"]["ysync"]
            series.setdefault(f"WebSocket, {y['profile']}", []).append((y["replicas"], y["convergeMs"]))
        out[PLOTS["converge"]] = svg_plot.line_chart(
            f"ysync: time to converge after heal ({doc['options']['edits']} random edits per replica)",
            series, "replicas (star topology)", "ms")
        wire = {}
        for r in conv:
            y = r["peers"]["ysync"]
            wire.setdefault(f"in-memory, {y['profile']}", []).append((y["replicas"], y["wireRatio"]))
        for r in ws:
            y = r["peers"]["ysync"]
            wire.setdefault(f"WebSocket, {y['profile']}", []).append((y["replicas"], y["wireRatio"]))
        out[PLOTS["converge-wire"]] = svg_plot.line_chart(
            "ysync: bytes on the wire / minimal bytes", wire, "replicas (star topology)", "wire / minimal")
    fan = [r for r in by_group(doc, "server") if r["id"] == "fan-out" and r["peers"].get("ysync")]
    for r in fan:
        cats, ours, theirs = [], [], []
        other = {x["clients"]: x for x in r["peers"].get("pycrdt-websocket", []) if "error" not in x}
        for x in r["peers"]["ysync"]:
            if "error" in x:
                continue
            for key, label in (("latencyP50Ms", "p50"), ("latencyP99Ms", "p99"), ("latencyMaxMs", "max")):
                cats.append(f"{x['clients']} clients, {label}")
                ours.append(x.get(key))
                theirs.append(other.get(x["clients"], {}).get(key))
        out[PLOTS["server"]] = svg_plot.grouped_bars("Fan-out latency over WebSockets", cats,
                                                     {"ysync (ycli serve)": ours, "pycrdt-websocket": theirs}, "ms")
        # Latency distribution: x = 1 / (1 - percentile) on a log axis (2 = p50, 100 = p99).
        dist = {}
        for peer, label in (("ysync", "ysync"), ("pycrdt-websocket", "pycrdt-websocket")):
            for x in r["peers"].get(peer, []):
                if "error" in x or not x.get("latencyPercentilesMs"):
                    continue
                dist[f"{label}, {x['clients']} clients"] = [(1 / (1 - p), ms) for p, ms in x["latencyPercentilesMs"]]
        if dist:
            out[PLOTS["server-dist"]] = svg_plot.line_chart(
                "Fan-out latency distribution", dist, "1 / (1 - percentile): 2 = p50, 10 = p90, 100 = p99, 1000 = p99.9",
                "latency (ms)")
    return out


def write_all(doc, out_dir):
    """Writes the JSON, the Markdown report and the plots; returns the paths."""
    os.makedirs(os.path.join(out_dir, "plots"), exist_ok=True)
    json_path = os.path.join(out_dir, "results", "all.json") if os.path.abspath(out_dir) == HERE \
        else os.path.join(out_dir, "all.json")
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    md_path = os.path.join(out_dir, "RESULTS.md")
    text = markdown(doc)
    with open(md_path, "w") as f:
        f.write(text)
    paths = [json_path, md_path]
    for name, svg in plots(doc).items():
        p = os.path.join(out_dir, "plots", name)
        with open(p, "w") as f:
            f.write(svg)
        paths.append(p)
    return paths


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        d = json.load(f)
    dest = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[1])))
    for path in write_all(d, dest):
        print(path)
