#!/usr/bin/env python3
"""Trace benchmark: ysync (`ysync-bench trace`) next to pycrdt (yrs) and loro on every sequential
editing trace in Benchmarks/traces/sequential, measured in the same invocation.

    scripts/bench.sh                                   # setup + this script
    .venv/bin/python Benchmarks/trace_bench.py         # all traces
    .venv/bin/python Benchmarks/trace_bench.py --quick # 2 small traces

Builds `swift build -c release --product ysync-bench`, then per trace runs each peer in its own
subprocess (ours: ysync-bench; pycrdt and loro: Benchmarks/trace_peer.py) plus a fresh subprocess per
Python peer for its memory figure. Prints Markdown tables with ratios, writes
Benchmarks/results/trace-bench.json and Benchmarks/RESULTS-trace.md. See Benchmarks/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEER_SCRIPT = os.path.join(HERE, "trace_peer.py")
QUICK_TRACES = ["sveltecomponent", "json-crdt-patch"]  # small; json-crdt-patch has non-ASCII text
TARGET_REPLAY_MS = {"automerge-paper": 150.0}
PEERS = ["ours", "pycrdt", "loro"]


def die(msg):
    sys.stderr.write(f"trace_bench: {msg}\n")
    sys.exit(1)


def run(cmd, timeout, what):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        die(f"{what} timed out after {timeout} s: {shlex.join(cmd)}")
    except OSError as e:
        die(f"{what}: cannot run {cmd[0]}: {e}")
    if p.returncode != 0:
        die(f"{what} failed (exit {p.returncode}): {shlex.join(cmd)}\n{p.stderr.strip()}\n{p.stdout.strip()[-2000:]}")
    return p.stdout


def run_json(cmd, timeout, what):
    out = run(cmd, timeout, what)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        die(f"{what}: expected a JSON line, got:\n{out[-2000:]}")


# ---------------------------------------------------------------------------------------------
# Environment

def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memTotalBytes": mem,
            "kernel": platform.release(), "os": platform.platform()}


def versions():
    v = {"python": platform.python_version()}
    try:
        out = subprocess.run(["swift", "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
        v["swift"] = out.strip().splitlines()[0] if out.strip() else "unknown"
    except OSError:
        v["swift"] = "not found"
    from importlib.metadata import version, PackageNotFoundError
    for lib in ("pycrdt", "loro"):
        try:
            v[lib] = version(lib)
        except PackageNotFoundError:
            die(f"Python package {lib} is not installed for {sys.executable}; run scripts/setup.sh and use .venv/bin/python")
    try:
        v["ysyncCommit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, text=True).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        if dirty:
            v["ysyncCommit"] += " (with uncommitted changes)"
    except OSError:
        v["ysyncCommit"] = "unknown"
    return v


def build_bench(scratch_path):
    """Release builds of ysync-bench and of the ycli beside it (the server benchmarks start
    `ycli serve`); returns the path of ysync-bench."""
    base = ["swift", "build", "-c", "release"] + (["--scratch-path", scratch_path] if scratch_path else [])
    t0 = time.perf_counter()
    for product in ("ysync-bench", "ycli"):
        cmd = base + ["--product", product]
        print(f"building: {shlex.join(cmd)}", file=sys.stderr, flush=True)
        p = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            die(f"release build failed:\n{p.stdout[-4000:]}")
    print(f"built in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    bin_dir = subprocess.run(base + ["--show-bin-path"], cwd=REPO, stdout=subprocess.PIPE, text=True).stdout.strip()
    return os.path.join(bin_dir, "ysync-bench")


# ---------------------------------------------------------------------------------------------
# Measuring

def bench_trace(path, bench, args, tmp):
    name = os.path.basename(path).removesuffix(".gz").removesuffix(".json")
    common = ["--client-id", str(args.client_id), "--text", args.text, "--repeat", str(args.repeat),
              "--load-repeat", str(args.load_repeat)]
    res = {}
    print(f"  {name}: ours", end="", file=sys.stderr, flush=True)
    res["ours"] = run_json([bench, "trace", "--json", *common, path], args.timeout, f"ysync-bench on {name}")
    for peer in ("pycrdt", "loro"):
        print(f", {peer}", end="", file=sys.stderr, flush=True)
        state = os.path.join(tmp, f"{name}.{peer}.state")
        r = run_json([sys.executable, PEER_SCRIPT, peer, path, *common, "--state-out", state],
                     args.timeout, f"{peer} on {name}")
        mem = run_json([sys.executable, PEER_SCRIPT, peer, path, "--text", args.text, "--memory-of", state,
                        "--expected-length", str(res["ours"]["finalLength"])],
                       args.timeout, f"{peer} memory on {name}")
        r.update(mem)
        res[peer] = r
    print(" done", file=sys.stderr, flush=True)
    return name, res


# ---------------------------------------------------------------------------------------------
# Reporting

METRICS = [
    # key, title, unit, formatter
    ("replayMs", "Replay (one transaction per patch)", "ms", lambda x: f"{x:,.1f}"),
    ("fullStateBytes", "Full-state size", "bytes", lambda x: f"{x:,}"),
    ("loadMs", "Load the full state into a fresh document", "ms", lambda x: f"{x:,.2f}"),
    ("encodeMs", "Encode the full state out of the loaded document", "ms", lambda x: f"{x:,.2f}"),
    ("memoryBytes", "Memory held by the loaded document", "heap bytes, mallinfo2", lambda x: f"{x:,}"),
]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}×"


def tables(results):
    out = []
    for key, title, unit, fmt in METRICS:
        out.append(f"### {title} ({unit})\n")
        out.append("| trace | ysync | pycrdt | loro | ysync / pycrdt | ysync / loro |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for name, res in results.items():
            vals = [res[p].get(key) for p in PEERS]
            cells = [fmt(v) if v is not None else "n/a" for v in vals]
            out.append(f"| {name} | {cells[0]} | {cells[1]} | {cells[2]} | {ratio(vals[0], vals[1])} | {ratio(vals[0], vals[2])} |")
        out.append("")
    out.append("### Cross-checks\n")
    out.append("| trace | patches | full state = pycrdt's bytes | update stream = pycrdt's bytes | ysync re-encode = full state |")
    out.append("| --- | ---: | :---: | :---: | :---: |")
    for name, res in results.items():
        o, p = res["ours"], res["pycrdt"]
        same_full = "yes" if o["fullStateSha256"] == p["fullStateSha256"] else f"no ({o['fullStateBytes']:,} vs {p['fullStateBytes']:,})"
        same_stream = "yes" if o["updateStreamSha256"] == p["updateStreamSha256"] else f"no ({o['updateStreamBytes']:,} vs {p['updateStreamBytes']:,})"
        out.append(f"| {name} | {o['patches']:,} | {same_full} | {same_stream} | {'yes' if o.get('encodeMatchesFullState') else 'no'} |")
    out.append("")
    return "\n".join(out)


def targets(results):
    lines, ok_all = [], True
    for name, limit in TARGET_REPLAY_MS.items():
        if name in results:
            v = results[name]["ours"]["replayMs"]
            ok = v <= limit
            ok_all &= ok
            lines.append(f"- {'PASS' if ok else 'FAIL'}: {name} replay {v:.1f} ms ≤ {limit:.0f} ms")
    load_fail = [n for n, r in results.items() if r["ours"]["loadMs"] > 0.5 * r["pycrdt"]["loadMs"]]
    enc_fail = [n for n, r in results.items() if r["ours"]["encodeMs"] > r["pycrdt"]["encodeMs"]]
    ok_all &= not load_fail and not enc_fail
    lines.append(f"- {'PASS' if not load_fail else 'FAIL'}: load ≤ half of pycrdt's on every trace"
                 + (f" (not on: {', '.join(load_fail)})" if load_fail else ""))
    lines.append(f"- {'PASS' if not enc_fail else 'FAIL'}: encode ≤ pycrdt's on every trace"
                 + (f" (not on: {', '.join(enc_fail)})" if enc_fail else ""))
    return "\n".join(lines), ok_all


NOTES = """\
Notes on method:
- Every peer replays the trace with one transaction per patch (delete, then insert): ysync
  `doc.transact {}`, pycrdt `with doc.transaction():`, loro `doc.commit()` after each patch.
  Positions are converted beforehand (not timed) for the Python peers: pycrdt's Text takes UTF-8
  byte offsets, loro's `insert`/`delete` take code points; ysync converts code points to UTF-16
  inside its timed replay (O(1) per patch without astral characters).
- Times are medians of {repeat} replays and {load_repeat} loads / encodes, each replay and load into a
  fresh document. Parsing the trace is never timed.
  Replay is timed without an update observer; a further observed replay gives the update stream.
- Full state: ysync and pycrdt `encodeStateAsUpdate` / `get_update()` (Yjs update v1), loro
  `export(ExportMode.Snapshot())` (its own format, with history). Load: apply that into a fresh
  document; encode: the same export out of the loaded document. loro imports snapshots lazily, so its
  load figure excludes decoding its text state, and its encode of an untouched loaded doc can reuse
  the imported bytes.
- Memory: heap bytes in use (glibc mallinfo2, uordblks + hblkhd) after minus before loading the
  full state; ysync in the ysync-bench process, pycrdt and loro in a fresh Python process each (both are
  Rust extensions allocating through glibc malloc, which mallinfo2 sees; Python's own small objects
  are not counted). loro's figure is taken after reading its text once, so its lazy state is decoded.
  RSS deltas (in the JSON) are unreliable here: freed pages are reused.
- Python peers pay the interpreter's per-call overhead in replay (hundreds of thousands of calls);
  load and encode are single calls into Rust.
"""


def main():
    ap = argparse.ArgumentParser(description="Trace benchmark: ysync vs pycrdt vs loro.")
    ap.add_argument("--quick", action="store_true", help=f"only {' and '.join(QUICK_TRACES)}")
    ap.add_argument("--traces", default=os.environ.get("YSYNC_TRACES_SEQUENTIAL"),
                    help="directory of sequential traces (default: <repo>/Benchmarks/traces/sequential, "
                         "or $YSYNC_TRACES/sequential)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these traces (names without .json.gz)")
    ap.add_argument("--repeat", type=int, default=3, help="timed replays per peer and trace; medians reported (default 3)")
    ap.add_argument("--load-repeat", type=int, default=10, help="timed loads and encodes; medians reported (default 10)")
    ap.add_argument("--client-id", type=int, default=1)
    ap.add_argument("--text", default="text", help="root text name (default: text)")
    ap.add_argument("--bench", help="use this ysync-bench binary instead of building one")
    ap.add_argument("--scratch-path", help="swift build --scratch-path for the release build")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per subprocess (default 1800)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write the results files")
    args = ap.parse_args()

    trace_dir = args.traces
    if not trace_dir:
        base = os.environ.get("YSYNC_TRACES") or os.path.join(REPO, "Benchmarks", "traces")
        trace_dir = os.path.join(base, "sequential")
    if not os.path.isdir(trace_dir):
        die(f"no traces at {trace_dir} (they live in Benchmarks/traces in the repository; restore them with git checkout)")
    names = sorted(f.removesuffix(".json.gz") for f in os.listdir(trace_dir) if f.endswith(".json.gz"))
    if args.quick:
        names = [n for n in QUICK_TRACES if n in names]
    if args.only:
        missing = [n for n in args.only if n not in names]
        if missing:
            die(f"no such trace in {trace_dir}: {', '.join(missing)}")
        names = args.only
    if not names:
        print(f"trace_bench: no sequential traces in {trace_dir}; skipping", file=sys.stderr)
        return 0

    vers = versions()  # fails early when pycrdt / loro are missing
    bench = args.bench or build_bench(args.scratch_path)
    machine = machine_info()
    started = datetime.datetime.now(datetime.timezone.utc)
    results = {}
    print(f"running {len(names)} trace(s):", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="trace-bench-") as tmp:
        for name in names:
            n, res = bench_trace(os.path.join(trace_dir, name + ".json.gz"), bench, args, tmp)
            results[n] = res

    if os.environ.get("YSYNC_BENCH_VIA_SCRIPT"):
        command = shlex.join(["scripts/bench.sh", *sys.argv[1:]])
    else:
        py = sys.executable
        py = os.path.relpath(py, REPO) if py.startswith(REPO + os.sep) else py
        command = shlex.join([py, os.path.relpath(os.path.abspath(__file__), REPO), *sys.argv[1:]])
    target_text, ok = targets(results)
    header = (
        f"# Trace benchmark: ysync vs pycrdt vs loro\n\n"
        f"- Command: `{command}` (from the repository root)\n"
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- Machine: {machine['nproc']} cores ({machine['cpu']}), "
        f"{(machine['memTotalBytes'] or 0) / 2**30:.0f} GiB RAM, Linux {machine['kernel']}\n"
        f"- Versions: {vers['swift']}; ysync {vers['ysyncCommit']}; pycrdt {vers['pycrdt']}; loro {vers['loro']}; "
        f"Python {vers['python']}\n"
        f"- Traces: {trace_dir} ({'quick: ' if args.quick else ''}{len(names)}); client id {args.client_id}; "
        f"root text \"{args.text}\"; medians of {args.repeat} replays and {args.load_repeat} loads/encodes\n"
    )
    body = tables(results)
    notes = NOTES.replace("{repeat}", str(args.repeat)).replace("{load_repeat}", str(args.load_repeat))
    report = f"{header}\n## Targets\n\n{target_text}\n\n## Figures\n\n{body}\n{notes}"
    print(report)

    if not args.no_write:
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        json_path = os.path.join(HERE, "results", "trace-bench.json")
        with open(json_path, "w") as f:
            json.dump({"command": command, "date": started.isoformat(), "machine": machine, "versions": vers,
                       "traceDir": trace_dir, "quick": args.quick, "repeat": args.repeat, "loadRepeat": args.load_repeat,
                       "clientId": args.client_id, "textName": args.text, "targetsMet": ok,
                       "results": results}, f, indent=1)
            f.write("\n")
        md_path = os.path.join(HERE, "RESULTS-trace.md")
        with open(md_path, "w") as f:
            f.write(report)
        print(f"wrote {os.path.relpath(json_path, REPO)} and {os.path.relpath(md_path, REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
