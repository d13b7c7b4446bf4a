#!/usr/bin/env python3
"""The whole benchmark suite in one invocation: ysync next to pycrdt (yrs) and loro.

    scripts/bench-all.sh                        # setup + release build + everything (long: B4x100)
    scripts/bench-all.sh --quick                # CI smoke run (< 2 min): small sizes, checks only
    scripts/bench-all.sh --only crdt converge   # some scenarios (see --help)

Scenarios (names for --only):
  crdt      crdt-benchmarks B1.1-B3.4 (or single ids: B1.4, or groups: B2)  ysync, pycrdt, loro
  b4        every sequential trace (Benchmarks/trace_bench.py's measurement) ysync, pycrdt, loro
  b4x100    a trace replayed K times into one document (crdt-benchmarks B4x100) ysync, pycrdt, loro
  converge  `ysync-bench converge`: random workloads (2-64 replicas) and the concurrent traces, per
            fault profile                                                     ysync only
  journal   `ysync-bench journal`                          ysync, pycrdt-store (per-commit appends)
  server    `ysync-bench server` (fan-out: ycli serve vs pycrdt-websocket) and `ycli bench
            converge-server` (replicas over WebSockets), when this ysync-bench has them (not in a
            YSYNC_CORE_ONLY build: then "not available in this build")

Writes Benchmarks/results/all.json, Benchmarks/RESULTS.md and Benchmarks/plots/*.svg (with --quick
or --out DIR: DIR/all.json, DIR/RESULTS.md, DIR/plots/; --quick's DIR is Benchmarks/results/quick/). A failed scenario is recorded and the rest continue; the
exit code is 1 if any scenario failed, produced no results or a replica did not converge.
"""

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_report  # noqa: E402
import crdt_workload  # noqa: E402
import trace_bench  # noqa: E402

GROUPS = ["crdt", "b4", "b4x100", "converge", "journal", "server"]
PEERS = ["ysync", "pycrdt", "loro"]
CRDT_PEER = os.path.join(HERE, "crdt_peer.py")
JOURNAL_PEER = os.path.join(HERE, "journal_peer.py")
NO_PEER = "no pycrdt/loro equivalent: neither ships a faulty in-memory transport or replica; " \
          "the WebSocket comparison (pycrdt-websocket) belongs to the server scenario"


class Failure(Exception):
    pass


def progress(msg, end="\n"):
    print(msg, end=end, file=sys.stderr, flush=True)


def run_json(cmd, timeout):
    """Runs cmd, returns its stdout parsed as JSON; raises Failure with stderr on any problem."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s: {shlex.join(cmd)}")
    except OSError as e:
        raise Failure(f"cannot run {cmd[0]}: {e}")
    if p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip())[-1500:]
        raise Failure(f"exit {p.returncode}: {shlex.join(cmd)}\n{tail}")
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise Failure(f"expected JSON from {shlex.join(cmd)}, got: {p.stdout[-500:]!r}")


def guarded(record, body):
    """Runs body(record); a Failure (or a crash of the harness itself) marks the record failed."""
    t0 = time.perf_counter()
    try:
        body(record)
    except Failure as e:
        record["status"] = "failed"
        record.setdefault("errors", []).append(str(e))
    except SystemExit as e:  # trace_bench.die()
        record["status"] = "failed"
        record.setdefault("errors", []).append(f"trace benchmark stopped (exit {e.code}); see the messages above")
    except Exception as e:  # noqa: BLE001: report and go on with the next scenario
        record["status"] = "failed"
        record.setdefault("errors", []).append(f"{type(e).__name__}: {e}")
    record["seconds"] = round(time.perf_counter() - t0, 2)
    record.setdefault("status", "ok")
    return record


# ---------------------------------------------------------------------------------------------
# Scenarios

def crdt_scenario(sid, ctx):
    """One crdt-benchmarks scenario on the three peers (one subprocess each)."""
    a = ctx.args
    common = ["--n", str(a.n), "--seed", str(a.seed), "--repeat", str(a.repeat), "--only", sid]
    rec = {"group": "crdt", "id": sid, "title": crdt_workload.TITLES.get(sid, sid), "peers": {}}

    def body(rec):
        cmds = {"ysync": [ctx.bench, "crdt", "--json", *common],
                "pycrdt": [sys.executable, CRDT_PEER, "pycrdt", *common],
                "loro": [sys.executable, CRDT_PEER, "loro", *common]}
        errors = []
        for peer in PEERS:
            try:
                out = run_json(cmds[peer], a.timeout)
                res = out.get("results") or []
                if not res:
                    raise Failure(f"{peer}: no results")
                rec["peers"][peer] = res[0]
            except Failure as e:
                errors.append(f"{peer}: {e}")
        check_content(rec, errors)
        if errors:
            raise Failure("\n".join(errors))

    return guarded(rec, body)


def check_content(rec, errors):
    """All peers ran the same edits: B1 ends in the same text everywhere; ysync and pycrdt (same
    algorithm, same client ids) agree on B2/B3 too. loro resolves B2/B3 conflicts its own way."""
    p = rec["peers"]
    if "ysync" in p and "pycrdt" in p and p["ysync"]["contentSha256"] != p["pycrdt"]["contentSha256"]:
        errors.append("ysync and pycrdt ended with different content")
    if rec["id"].startswith(("B1.", "B4x")) and "ysync" in p and "loro" in p \
            and p["ysync"]["contentSha256"] != p["loro"]["contentSha256"]:
        errors.append("ysync and loro ended with different text")


def b4_scenario(name, ctx):
    a = ctx.args
    rec = {"group": "b4", "id": name, "title": f"Replay {name}", "peers": {}}

    def body(rec):
        targs = argparse.Namespace(client_id=1, text="text", repeat=a.trace_repeat, load_repeat=a.load_repeat,
                                   timeout=a.timeout)
        _, res = trace_bench.bench_trace(os.path.join(ctx.seq_dir, name + ".json.gz"), ctx.bench, targs, ctx.tmp)
        rec["peers"] = {"ysync": res["ours"], "pycrdt": res["pycrdt"], "loro": res["loro"]}

    return guarded(rec, body)


def b4x_scenario(ctx):
    a = ctx.args
    path = os.path.join(ctx.seq_dir, a.b4x_trace + ".json.gz")
    sid = f"B4x{a.b4x_times}"
    rec = {"group": "b4x100", "id": sid, "title": f"Apply {a.b4x_trace} {a.b4x_times} times", "peers": {}}

    def body(rec):
        if not os.path.exists(path):
            raise Failure(f"no trace {path}")
        common = ["--only", "B4x", "--trace", path, "--times", str(a.b4x_times)]
        cmds = {"ysync": [ctx.bench, "crdt", "--json", *common],
                "pycrdt": [sys.executable, CRDT_PEER, "pycrdt", *common],
                "loro": [sys.executable, CRDT_PEER, "loro", *common]}
        errors = []
        for peer in PEERS:
            progress(f"      {peer} ...", end="")
            try:
                rec["peers"][peer] = run_json(cmds[peer], a.timeout)["results"][0]
                progress(f" {rec['peers'][peer]['timeMs'] / 1000:.1f} s")
            except (Failure, KeyError, IndexError) as e:
                progress(" failed")
                errors.append(f"{peer}: {e}")
        check_content(rec, errors)
        if errors:
            raise Failure("\n".join(errors))

    return guarded(rec, body)


def converge_scenario(workload, replicas, profile, ctx):
    """workload: 'random' or a concurrent trace name."""
    a = ctx.args
    cmd = [ctx.bench, "converge", "--json", "--profile", profile, "--seed", str(a.seed)]
    if workload == "random":
        cmd += ["--replicas", str(replicas), "--edits", str(a.edits)]
        sid = f"random/{replicas}/{profile}"
    else:
        cmd += ["--trace", os.path.join(ctx.conc_dir, workload + ".json.gz")]
        sid = f"{workload}/{profile}"
    rec = {"group": "converge", "id": sid, "workload": workload, "profile": profile, "peers": {},
           "peerNote": NO_PEER}

    def body(rec):
        r = run_json(cmd, a.timeout)
        # `ysync-bench converge` exits non-zero unless every replica reached the union's state vector.
        r["converged"] = r.get("replicas", 0) >= 2 and r.get("convergeMs") is not None
        rec["peers"]["ysync"] = r
        if not r["converged"]:
            raise Failure("replicas did not converge")

    return guarded(rec, body)


def journal_scenario(ctx):
    a = ctx.args
    name = a.journal_trace
    cmd = [ctx.bench, "journal", "--json", "--per-commit", str(a.per_commit), "--open-repeat",
           str(a.open_repeat), os.path.join(ctx.seq_dir, name + ".json.gz")]
    peer_cmd = [sys.executable, JOURNAL_PEER, os.path.join(ctx.seq_dir, name + ".json.gz"), "--count", str(a.per_commit)]
    rec = {"group": "journal", "id": name, "title": f"Journal {name}", "peers": {},
           "peerNote": "pycrdt-store's SQLiteYStore (pycrdt-websocket's store) appends one commit per update "
                       "and has no batched appends, snapshots or compaction; loro has no store"}

    def body(rec):
        rec["peers"]["ysync"] = run_json(cmd, a.timeout)
        rec["peers"]["pycrdt"] = run_json(peer_cmd, a.timeout)

    return guarded(rec, body)


def has_bench(bench, name):
    """Whether this ysync-bench has `NAME`. ArgumentParser answers an unknown subcommand's --help with
    the parent's help and exit 0: the usage line tells whether `NAME` itself answered."""
    try:
        h = subprocess.run([bench, name, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return h.returncode == 0 and f"USAGE: ysync-bench {name}" in h.stdout


SERVER_UNAVAILABLE = "not available in this build (no `ysync-bench server`: a YSYNC_CORE_ONLY build leaves the server out)"


def server_unavailable():
    return {"group": "server", "id": "server", "title": "Server over WebSockets", "peers": {},
            "status": "unavailable", "note": SERVER_UNAVAILABLE}


def server_fanout_scenario(ctx):
    """`ysync-bench server`: fan-out latency, updates/s and memory of `ycli serve` and of
    pycrdt-websocket's server under the same load (the command runs both)."""
    a = ctx.args
    cmd = [ctx.bench, "server", "--json", "--python", sys.executable,
           "--pyws-server", os.path.join(REPO, "Tests", "ReplicaServerTests", "peers", "pyws_server.py")]
    if a.quick:
        cmd += ["--clients", "4", "--updates", "20", "--rate", "100", "--senders", "2", "--burst", "20",
                "--memory-rooms", "5", "--timeout", "30"]
    rec = {"group": "server", "id": "fan-out", "title": "Fan-out over WebSockets", "peers": {}}

    def body(rec):
        out = run_json(cmd, a.timeout)
        rec["options"] = {k: v for k, v in out.items() if k != "results"}
        rows = out.get("results") or []
        rec["peers"]["ysync"] = [r for r in rows if r.get("server") == "ysync"]
        rec["peers"]["pycrdt-websocket"] = [r for r in rows if r.get("server") == "pycrdt-websocket"]
        errors = [f"{r.get('server')} with {r.get('clients')} clients: {r['error']}" for r in rows if "error" in r]
        errors += [f"{r.get('server')} with {r.get('clients')} clients lost {r['lostDeliveries']} deliveries"
                   for r in rows if r.get("lostDeliveries")]
        if errors:
            raise Failure("\n".join(errors))

    return guarded(rec, body)


def converge_server_scenario(replicas, profile, ctx):
    """`ysync-bench converge-server`: replicas reconnect through `ycli serve` over WebSockets."""
    a = ctx.args
    cmd = [ctx.bench, "converge-server", "--json", "--replicas", str(replicas), "--profile", profile,
           "--edits", str(a.edits), "--seed", str(a.seed)]
    rec = {"group": "server", "id": f"converge/{replicas}/{profile}", "workload": "random", "profile": profile,
           "peers": {}, "peerNote": "pycrdt-websocket has no replica with a journal to reconnect"}

    def body(rec):
        r = run_json(cmd, a.timeout)
        rec["peers"]["ysync"] = r
        if not r.get("converged"):
            raise Failure("replicas did not converge")

    return guarded(rec, body)


# ---------------------------------------------------------------------------------------------
# Options and plan

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI smoke run: small sizes, under 2 minutes, "
                    "exit 1 unless every scenario produced results and every replica converged")
    ap.add_argument("--only", nargs="+", metavar="SCENARIO", help=f"groups ({', '.join(GROUPS)}) or crdt ids "
                    "(B1.4) or crdt groups (B2)")
    ap.add_argument("--bench", help="use this ysync-bench, with its ycli beside it (debug is fine for --quick), "
                    "instead of a release build")
    ap.add_argument("--scratch-path", help="swift build --scratch-path for the release build")
    ap.add_argument("--traces", help="traces directory with sequential/ and concurrent/ "
                    "(default $YSYNC_TRACES or <repo>/Benchmarks/traces)")
    ap.add_argument("--out", help="output directory (default Benchmarks/, with --quick Benchmarks/results/quick/)")
    ap.add_argument("--no-write", action="store_true", help="print the report only")
    ap.add_argument("--n", type=int, help="N of B1-B3 (default 6000; quick 1000)")
    ap.add_argument("--seed", type=int, default=42, help="base seed of all generated inputs (default 42)")
    ap.add_argument("--repeat", type=int, help="runs per B1-B3 scenario, times are medians (default 3; quick 1)")
    ap.add_argument("--trace-repeat", type=int, help="B4 replays per trace (default 3; quick 1)")
    ap.add_argument("--load-repeat", type=int, help="B4 loads/encodes (default 10; quick 2)")
    ap.add_argument("--b4x-trace", help="trace of B4xK (default automerge-paper; quick sveltecomponent)")
    ap.add_argument("--b4x-times", type=int, help="K of B4xK (default 100; quick 3)")
    ap.add_argument("--replicas", type=int, nargs="+", help="converge: replica counts (default 2 4 8 16 32 64; quick 2 8)")
    ap.add_argument("--profiles", nargs="+", default=["none", "partition", "lossy"],
                    choices=["none", "partition", "lossy"], help="converge: fault profiles (default all)")
    ap.add_argument("--edits", type=int, help="converge: random edits per replica (default 200; quick 20)")
    ap.add_argument("--journal-trace", help="journal: trace (default automerge-paper; quick sveltecomponent)")
    ap.add_argument("--per-commit", type=int, help="journal: one-commit-per-update appends (default 5000; quick 200)")
    ap.add_argument("--open-repeat", type=int, help="journal: cold opens (default 5; quick 1)")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per subprocess (default 3600)")
    a = ap.parse_args(argv)
    q = a.quick
    defaults = dict(n=1000 if q else 6000, repeat=1 if q else 3, trace_repeat=1 if q else 3,
                    load_repeat=2 if q else 10, b4x_trace="sveltecomponent" if q else "automerge-paper",
                    b4x_times=3 if q else 100, replicas=[2, 8] if q else [2, 4, 8, 16, 32, 64],
                    edits=20 if q else 200, journal_trace="sveltecomponent" if q else "automerge-paper",
                    per_commit=200 if q else 5000, open_repeat=1 if q else 5)
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.n < 10 or a.repeat < 1 or a.b4x_times < 1 or a.edits < 0 or any(not 2 <= r <= 64 for r in a.replicas):
        ap.error("--n >= 10, --repeat >= 1, --b4x-times >= 1, --edits >= 0, --replicas within 2..64")
    a.plan = plan(ap, a.only)
    return a


def plan(ap, only):
    """Selected groups and crdt ids."""
    if not only:
        return {"groups": list(GROUPS), "crdt": list(crdt_workload.IDS)}
    groups, ids = [], []
    for name in only:
        low = name.lower()
        if low in GROUPS:
            groups.append(low)
            if low == "crdt":
                ids += crdt_workload.IDS
            continue
        match = [i for i in crdt_workload.IDS if i.lower() == low or i.lower().startswith(low + ".")]
        if not match:
            ap.error(f"unknown scenario {name!r}: use {', '.join(GROUPS)}, a crdt id (B1.1 … B3.4) or B1/B2/B3")
        ids += match
        groups.append("crdt")
    seen = set()
    return {"groups": [g for g in GROUPS if g in groups],
            "crdt": [i for i in ids if not (i in seen or seen.add(i))]}


class Context:
    pass


def main(argv):
    a = parse_args(argv)
    ctx = Context()
    ctx.args = a
    base = a.traces or os.environ.get("YSYNC_TRACES") or os.path.join(REPO, "Benchmarks", "traces")
    ctx.seq_dir, ctx.conc_dir = os.path.join(base, "sequential"), os.path.join(base, "concurrent")
    vers = trace_bench.versions()  # exits early when pycrdt / loro are missing
    ctx.bench = os.path.abspath(a.bench) if a.bench else trace_bench.build_bench(a.scratch_path)
    if not os.access(ctx.bench, os.X_OK):
        trace_bench.die(f"no executable ysync-bench at {ctx.bench}")
    vers["ysyncBench"] = ctx.bench
    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.perf_counter()

    seq = sorted(f.removesuffix(".json.gz") for f in os.listdir(ctx.seq_dir)) if os.path.isdir(ctx.seq_dir) else []
    conc = sorted(f.removesuffix(".json.gz") for f in os.listdir(ctx.conc_dir)) if os.path.isdir(ctx.conc_dir) else []
    if a.quick:
        seq_b4 = [n for n in trace_bench.QUICK_TRACES[:1] if n in seq]
        conc = conc[-1:]  # one concurrent trace, profile none (a debug build replays one in ~25 s)
    else:
        seq_b4 = seq
    jobs = []
    g = a.plan["groups"]
    if "crdt" in g:
        jobs += [(f"crdt {sid}", lambda sid=sid: crdt_scenario(sid, ctx)) for sid in a.plan["crdt"]]
    if "b4" in g:
        jobs += [(f"b4 {n}", lambda n=n: b4_scenario(n, ctx)) for n in seq_b4] or \
                [("b4", lambda: {"group": "b4", "id": "b4", "status": "failed", "peers": {},
                                 "errors": [f"no sequential traces in {ctx.seq_dir}"]})]
    if "b4x100" in g:
        jobs.append((f"b4x100 {a.b4x_trace} x{a.b4x_times}", lambda: b4x_scenario(ctx)))
    if "converge" in g:
        for profile in a.profiles:
            for r in a.replicas:
                jobs.append((f"converge random {r} replicas {profile}",
                             lambda r=r, p=profile: converge_scenario("random", r, p, ctx)))
        for t in conc:
            for profile in (["none"] if a.quick else a.profiles):
                jobs.append((f"converge {t} {profile}", lambda t=t, p=profile: converge_scenario(t, 0, p, ctx)))
    if "journal" in g:
        jobs.append((f"journal {a.journal_trace}", lambda: journal_scenario(ctx)))
    if "server" in g:
        if has_bench(ctx.bench, "server"):
            jobs.append(("server fan-out (ycli serve and pycrdt-websocket)", lambda: server_fanout_scenario(ctx)))
        if has_bench(ctx.bench, "converge-server"):
            for profile in ("none", "partition"):
                for r in a.replicas:
                    jobs.append((f"server converge {r} replicas {profile}",
                                 lambda r=r, p=profile: converge_server_scenario(r, p, ctx)))
        if not any(label.startswith("server") for label, _ in jobs):
            jobs.append(("server", server_unavailable))

    records = []
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        ctx.tmp = tmp
        for i, (label, job) in enumerate(jobs, 1):
            progress(f"[{i}/{len(jobs)}] {label} ...")
            rec = job()
            records.append(rec)
            mark = {"ok": "ok", "unavailable": "not available in this build"}.get(rec["status"], "FAILED")
            progress(f"[{i}/{len(jobs)}] {label}: {mark} ({rec.get('seconds', 0):.1f} s)"
                     + "".join(f"\n    {line}" for e in rec.get("errors", []) for line in e.splitlines()[:6]))

    problems = smoke_problems(records, a.plan)
    if os.environ.get("YSYNC_BENCH_COMMAND"):  # set by scripts/bench-all.sh and bench-smoke.sh
        command = shlex.join([os.environ["YSYNC_BENCH_COMMAND"], *argv])
    else:
        command = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(REPO) else sys.executable,
                              os.path.relpath(os.path.abspath(__file__), REPO), *argv])
    doc = {"command": command, "date": started.isoformat(), "seconds": round(time.perf_counter() - t_start, 1),
           "quick": a.quick, "machine": trace_bench.machine_info(), "versions": vers,
           "options": {k: v for k, v in vars(a).items() if k not in ("plan",)}, "plan": a.plan,
           "traces": {"sequential": ctx.seq_dir, "concurrent": ctx.conc_dir},
           "problems": problems, "scenarios": records}
    if a.no_write:
        print(bench_report.markdown(doc))
    else:
        out = a.out or (os.path.join(HERE, "results", "quick") if a.quick else HERE)
        paths = bench_report.write_all(doc, out)  # the JSON first, so a report bug loses no figures
        progress("wrote " + ", ".join(os.path.relpath(p, REPO) for p in paths))
    progress(f"done in {doc['seconds']:.0f} s: {len(records)} scenario(s), "
             + (f"{len(problems)} problem(s):\n  " + "\n  ".join(problems) if problems else "no problems"))
    return 1 if problems else 0


def smoke_problems(records, plan_):
    """What makes the run fail: failed scenarios, empty results, replicas that did not converge,
    selected groups with no record at all."""
    out = []
    for r in records:
        if r["status"] == "unavailable":
            continue
        name = f"{r['group']} {r['id']}"
        if r["status"] != "ok":
            out.append(f"{name}: failed")
        elif not r["peers"] or any(not v for v in r["peers"].values()):
            out.append(f"{name}: no results")
        if r["id"].startswith("converge") or r["group"] == "converge":
            if not all(v.get("converged") for v in r["peers"].values()):
                out.append(f"{name}: replicas did not converge")
    for grp in plan_["groups"]:
        if not any(r["group"] == grp for r in records):
            out.append(f"{grp}: no scenario ran (missing traces?)")
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
