#!/usr/bin/env python3
"""Self-test of the Python peers against each other (no Swift): pyws_server.py + two
pyws_client.py on one room (edits both ways, awareness, server-side reads and edits) + pyws_load.py.

Usage: .venv/bin/python Tests/ReplicaServerTests/peers/selftest.py [--load-rooms 2]
       [--load-clients 10] [--load-updates 50] [--load-rate 20] [--url ws://127.0.0.1:P/parties/main]
With --url, the server part is skipped and the clients/load run against that server (e.g. a
running `ycli serve`); the server-side reads then use GET /parties/main/ROOM (users) only.
Prints one line per check and a final "N passed, N failed"; exit 0 iff all passed. Bounded: each
answer is awaited at most 20 s, the whole run at most --timeout (default 180 s).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


class Proc:
    """A peer process driven by JSON lines; answers read by a thread, awaited with a timeout."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.p = subprocess.Popen(
            [PY, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1,
        )
        self.lines: list[str] = []
        self.cv = threading.Condition()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            with self.cv:
                self.lines.append(line)
                self.cv.notify_all()
        with self.cv:
            self.lines.append("")  # EOF marker
            self.cv.notify_all()

    def _read_err(self) -> None:
        for line in self.p.stderr:
            self.err.append(line.rstrip())

    def next(self, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        with self.cv:
            while not self.lines:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no answer within {timeout} s; "
                                       f"stderr: {self.err[-5:]}")
                self.cv.wait(left)
            line = self.lines.pop(0)
        if line == "":
            raise RuntimeError(f"{self.name}: exited (rc={self.p.poll()}); stderr: {self.err[-5:]}")
        return json.loads(line)

    def cmd(self, line: str, timeout: float = 20.0) -> dict:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.next(timeout)

    def stop(self) -> int | None:
        try:
            if self.p.poll() is None:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
        except Exception:
            pass
        try:
            return self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()  # only our own child, by its handle
            return self.p.wait(5)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=None)
    ap.add_argument("--load-rooms", type=int, default=2)
    ap.add_argument("--load-clients", type=int, default=10)
    ap.add_argument("--load-updates", type=int, default=50)
    ap.add_argument("--load-rate", type=float, default=20.0)
    ap.add_argument("--timeout", type=float, default=180.0)
    args = ap.parse_args()

    def watchdog() -> None:
        print(f"selftest: --timeout {args.timeout} s reached", file=sys.stderr, flush=True)
        os._exit(1)

    t = threading.Timer(args.timeout, watchdog)
    t.daemon = True
    t.start()

    passed = failed = 0
    procs: list[Proc] = []

    def check(name: str, ok: bool, detail: object = "") -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"PASS {name}", flush=True)
        else:
            failed += 1
            print(f"FAIL {name}: {detail}", flush=True)

    try:
        server = None
        if args.url is None:
            server = Proc("server", [str(HERE / "pyws_server.py"), "--port", "0"])
            procs.append(server)
            ready = server.next()
            check("server ready", ready.get("ready") is True and ready.get("port", 0) > 0, ready)
            url = f"ws://127.0.0.1:{ready['port']}/parties/main"
        else:
            url = args.url.rstrip("/")
        room = f"self-{os.getpid()}"
        a = Proc("clientA", [str(HERE / "pyws_client.py"), url, room])
        procs.append(a)
        b = Proc("clientB", [str(HERE / "pyws_client.py"), url, room])
        procs.append(b)
        ra, rb = a.next(), b.next()
        check("clients ready", ra.get("ready") and rb.get("ready"), (ra, rb))

        check("A insert", a.cmd("insert t 0 hello from A").get("ok"))
        r = b.cmd('wait-text t "hello from A" 10')
        check("B sees A's insert", r.get("ok"), r)
        check("B insert", b.cmd('insert t 0 "B says: "').get("ok"))
        r = a.cmd('wait-text t "B says: hello from A" 10')
        check("A sees B's insert", r.get("ok"), r)
        r = b.cmd("delete t 0 2")
        r = a.cmd('wait-text t "says: hello from A" 10')
        check("A sees B's delete", r.get("ok"), r)
        sa, sb = a.cmd("sv"), b.cmd("sv")
        check("state vectors equal", sa.get("sv") == sb.get("sv"), (sa, sb))

        r = a.cmd('awareness {"user":{"name":"A"}}')
        check("A sets awareness", r.get("ok") and r.get("clock") == 1, r)
        r = b.cmd("wait-peers 1 10")
        states = r.get("states", {})
        check("B sees A's awareness", r.get("ok") and {"user": {"name": "A"}} in states.values(), r)

        if server is not None:
            srv_room = f"parties/main/{room}"
            r = server.cmd(f"text {srv_room} t")
            check("server room text", r.get("text") == "says: hello from A", r)
            r = server.cmd(f"awareness {srv_room}")
            check("server room awareness", {"user": {"name": "A"}} in r.get("states", {}).values(), r)
            with urllib.request.urlopen(
                f"http://127.0.0.1:{ready['port']}/_pyws/text?room=parties%2Fmain%2F{room}&name=t",
                timeout=10,
            ) as resp:
                r = json.loads(resp.read())
            check("server HTTP side channel", r.get("text") == "says: hello from A", r)
            check("server insert", server.cmd(f'insert {srv_room} t 0 "S "').get("ok"))
            r1 = a.cmd('wait-text t "S says: hello from A" 10')
            r2 = b.cmd('wait-text t "S says: hello from A" 10')
            check("clients see server-side insert", r1.get("ok") and r2.get("ok"), (r1, r2))
        else:
            port_path = url.split("://", 1)[1]
            with urllib.request.urlopen(f"http://{port_path}/{room}", timeout=10) as resp:
                r = json.loads(resp.read())
            # The exact shape of a user entry is the server's business; A's state must be there.
            check("GET /parties/main/ROOM users has A's state",
                  isinstance(r.get("users"), list) and '{"name": "A"}' in json.dumps(r), r)

        r = a.cmd("quit")
        check("A quits", r.get("bye") and a.p.wait(10) == 0, (r, a.err[-3:]))
        r = b.cmd("quit")
        check("B quits", r.get("bye") and b.p.wait(10) == 0, (r, b.err[-3:]))

        load = subprocess.run(
            [PY, str(HERE / "pyws_load.py"), "--url", url, "--rooms", str(args.load_rooms),
             "--clients-per-room", str(args.load_clients), "--updates", str(args.load_updates),
             "--rate", str(args.load_rate), "--seed", "7", "--timeout", "100"],
            capture_output=True, text=True, timeout=120,
        )
        try:
            res = json.loads(load.stdout.strip().splitlines()[-1])
        except Exception:
            res = {"stdout": load.stdout[-500:], "stderr": load.stderr[-500:]}
        check(f"load {args.load_rooms}x{args.load_clients} converges, nothing lost",
              load.returncode == 0 and res.get("converged") and res.get("lost") == 0, res)
        if "latency_ms" in res:
            lat = res["latency_ms"]
            print(f"     load: p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms, "
                  f"{res.get('updates_per_s')} updates/s, {res.get('deliveries')} deliveries",
                  flush=True)

        if server is not None:
            r = server.cmd("quit")
            check("server quits", r.get("bye") and server.p.wait(15) == 0, (r, server.err[-3:]))
    except Exception as e:
        check("selftest ran to the end", False, f"{type(e).__name__}: {e}")
    finally:
        for p in procs:
            if p.p.poll() is None:
                p.stop()
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
