#!/usr/bin/env python3
"""Load / fan-out latency client for y-websocket servers (ours and pycrdt-websocket's).

Usage:
    .venv/bin/python pyws_load.py --url ws://127.0.0.1:P/parties/main --rooms R
        --clients-per-room C --updates U --rate HZ [--seed S] [--timeout 120]
        [--settle-timeout 30] [--connect-timeout 10] [--connect-concurrency 32]
        [--room-prefix PREFIX] [--warmup 0] [--awareness] [--text-name t]

Each of the R*C clients opens its own WebSocket (the `websockets` library, no compression, no
pings) to URL + "/" + ROOM, ROOM = f"{prefix}-{seed}-{r}" (default prefix
load-<unix time>-<pid>, so every run uses fresh rooms), and speaks y-websocket with a pycrdt
Doc: sends SyncStep1 on open, answers every SyncStep1 with SyncStep2, applies SyncStep2/Update,
ignores awareness and text frames. It counts as connected on its first SyncStep2.

Once every client is synced, each room runs U updates at HZ per second (all rooms in parallel):
update k is made by one client of the room chosen by the seeded RNG (one sender at a time per
room), as an insert at a random id boundary of root Text `t` of the string "<k:T>" where T is
time.monotonic_ns()//1000 at the insert (CLOCK_MONOTONIC is system-wide on Linux, so a receiver in
another process could use it too). Every other client of the room records, on the first message
that carries "<k:...>", latency = receive time - T. Updates received by the sender itself (server
echo) are not counted. When all are sent, it waits until every client has every id of its room
(or --settle-timeout), then checks convergence: per room, every client has the same text and the
same state vector, and the text holds every id exactly once.

Output: one JSON object on stdout (see README.md for the fields): latency_ms {p50, p90, p99, max,
mean, count}, updates_per_s (sent, all rooms, over the send phase), deliveries, lost, messages
and bytes in/out, converged, client CPU use (if it is near 1.0 the generator itself, a single
Python process, is the bottleneck and inflates the latencies).
Exit: 0 when every client converged and nothing was lost; 1 otherwise or on a connection / timeout
error (the JSON still says what happened); 2 on bad arguments. Everything is bounded by --timeout.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import resource
import sys
import time
from typing import Any

try:
    from pycrdt import (
        Doc,
        Encoder,
        Text,
        create_sync_message,
        create_update_message,
        handle_sync_message,
        read_message,
    )
    from websockets.asyncio.client import connect
except ImportError as e:  # pragma: no cover
    print(f"pyws_load: missing Python package ({e}); run scripts/setup.sh", file=sys.stderr)
    sys.exit(2)

ID_RE = re.compile(rb"<(\d+):(\d+)>")


def now_us() -> int:
    return time.monotonic_ns() // 1000


class Stats:
    def __init__(self) -> None:
        self.latencies_us: list[int] = []
        self.msgs_in = 0
        self.msgs_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.text_frames = 0
        self.apply_errors = 0
        self.deliveries = 0


class Client:
    def __init__(self, room: "Room", idx: int, stats: Stats, text_name: str) -> None:
        self.room = room
        self.idx = idx
        self.stats = stats
        self.doc = Doc()
        self.text = self.doc.get(text_name, type=Text)
        self.seen: set[int] = set()
        self.sent: set[int] = set()
        self.synced = asyncio.Event()
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.closed_reason: str | None = None

    async def open(self, url: str, timeout: float, awareness: bool) -> None:
        self.ws = await connect(
            url,
            compression=None,
            max_size=None,
            ping_interval=None,
            open_timeout=timeout,
            close_timeout=2,
        )
        self.reader = asyncio.create_task(self.read_loop())
        await self.send(create_sync_message(self.doc))
        if awareness:
            enc = Encoder()
            enc.write_var_uint(1)
            enc.write_var_uint(self.doc.client_id)
            enc.write_var_uint(1)
            enc.write_var_string(json.dumps({"user": {"name": f"load-{self.room.idx}-{self.idx}"}}))
            body = enc.to_bytes()
            await self.send(b"\x01" + _vu(len(body)) + body)
        await asyncio.wait_for(self.synced.wait(), timeout)

    async def send(self, message: bytes) -> None:
        await self.ws.send(message)
        self.stats.msgs_out += 1
        self.stats.bytes_out += len(message)

    async def read_loop(self) -> None:
        try:
            async for msg in self.ws:
                t_recv = now_us()
                st = self.stats
                st.msgs_in += 1
                if isinstance(msg, str):
                    st.text_frames += 1
                    continue
                st.bytes_in += len(msg)
                if len(msg) < 2 or msg[0] != 0:
                    continue  # awareness / auth / query-awareness: ignored
                if msg[1] in (1, 2):
                    for m in ID_RE.finditer(msg):
                        k = int(m.group(1))
                        if k not in self.seen:
                            self.seen.add(k)
                            if k not in self.sent:
                                st.deliveries += 1
                                if k >= self.room.warmup:
                                    st.latencies_us.append(t_recv - int(m.group(2)))
                try:
                    reply = handle_sync_message(msg[1:], self.doc)
                except Exception as e:
                    st.apply_errors += 1
                    print(f"pyws_load: client {self.room.idx}/{self.idx}: bad sync message: {e}",
                          file=sys.stderr)
                    continue
                if msg[1] == 1:
                    self.synced.set()
                if reply is not None:
                    await self.send(reply)
        except Exception as e:
            self.closed_reason = f"{type(e).__name__}: {e}"
        else:
            self.closed_reason = "closed by server"

    def make_update(self, k: int, rng: random.Random) -> bytes:
        before = self.doc.get_state()
        # A random position, moved forward to the next id boundary (never inside an id).
        current = str(self.text)
        pos = current.find("<", rng.randint(0, len(current)))
        pos = len(current) if pos < 0 else pos
        self.sent.add(k)
        self.seen.add(k)
        self.text.insert(pos, f"<{k}:{now_us()}>")
        return self.doc.get_update(before)

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 3)
            except Exception:
                pass
        if self.reader is not None:
            self.reader.cancel()


class Room:
    def __init__(self, idx: int, name: str, warmup: int) -> None:
        self.idx = idx
        self.name = name
        self.warmup = warmup
        self.clients: list[Client] = []
        self.sent = 0
        self.first_send: float | None = None
        self.last_send: float | None = None
        self.max_lag_ms = 0.0


def _vu(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def percentile_ms(sorted_vals: list[int], p: float) -> float | None:
    """Nearest-rank percentile of microsecond values, in ms (None when empty: strict JSON)."""
    if not sorted_vals:
        return None
    k = max(0, math.ceil(p * len(sorted_vals)) - 1)
    return sorted_vals[k] / 1000


async def run_room(room: Room, updates: int, rate: float, rng: random.Random) -> None:
    start = time.monotonic()
    for k in range(updates):
        target = start + k / rate
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            room.max_lag_ms = max(room.max_lag_ms, -delay * 1000)
        sender = room.clients[rng.randrange(len(room.clients))]
        if sender.closed_reason is not None:
            raise RuntimeError(f"room {room.name}: sender {sender.idx} lost its connection: "
                               f"{sender.closed_reason}")
        update = sender.make_update(k, rng)
        t = time.monotonic()
        if room.first_send is None:
            room.first_send = t
        await sender.send(create_update_message(update))
        room.last_send = time.monotonic()
        room.sent += 1


async def run(args: argparse.Namespace, result: dict[str, Any]) -> bool:
    rng = random.Random(args.seed)
    stats = Stats()
    base = args.url.rstrip("/")
    rooms = [Room(r, f"{args.room_prefix}-{args.seed}-{r}", args.warmup) for r in range(args.rooms)]
    for room in rooms:
        room.clients = [Client(room, c, stats, args.text_name) for c in range(args.clients_per_room)]
    all_clients = [c for room in rooms for c in room.clients]
    result["room_names"] = [r.name for r in rooms]

    def fill_result(phase: str) -> None:
        lat = sorted(stats.latencies_us)
        result["phase_reached"] = phase
        result["latency_ms"] = {
            "count": len(lat),
            "p50": percentile_ms(lat, 0.50),
            "p90": percentile_ms(lat, 0.90),
            "p99": percentile_ms(lat, 0.99),
            "max": (lat[-1] / 1000) if lat else None,
            "mean": round(sum(lat) / len(lat) / 1000, 3) if lat else None,
        }
        sent = sum(r.sent for r in rooms)
        firsts = [r.first_send for r in rooms if r.first_send is not None]
        lasts = [r.last_send for r in rooms if r.last_send is not None]
        span = (max(lasts) - min(firsts)) if firsts and lasts else 0.0
        result["updates_sent"] = sent
        result["send_duration_s"] = round(span, 4)
        result["updates_per_s"] = round(sent / span, 2) if span > 0 else None
        result["max_send_lag_ms"] = round(max((r.max_lag_ms for r in rooms), default=0.0), 3)
        expected = sent * (args.clients_per_room - 1)
        result["deliveries_expected"] = expected
        result["deliveries"] = stats.deliveries
        result["lost"] = expected - stats.deliveries
        result["deliveries_per_s"] = round(stats.deliveries / span, 2) if span > 0 else None
        result["messages_in"] = stats.msgs_in
        result["messages_out"] = stats.msgs_out
        result["bytes_in"] = stats.bytes_in
        result["bytes_out"] = stats.bytes_out
        result["text_frames"] = stats.text_frames
        result["apply_errors"] = stats.apply_errors
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu = ru.ru_utime + ru.ru_stime
        result["client_cpu_s"] = round(cpu, 3)
        wall = time.monotonic() - t_start
        result["client_cpu_util"] = round(cpu / wall, 3) if wall > 0 else None

    t_start = time.monotonic()
    try:
        # ---- connect + handshake (bounded concurrency) ----
        sem = asyncio.Semaphore(args.connect_concurrency)

        async def open_one(c: Client) -> None:
            async with sem:
                await c.open(f"{base}/{c.room.name}", args.connect_timeout, args.awareness)

        t0 = time.monotonic()
        opened = await asyncio.gather(*(open_one(c) for c in all_clients), return_exceptions=True)
        failed = [(c, e) for c, e in zip(all_clients, opened) if isinstance(e, BaseException)]
        result["connect_s"] = round(time.monotonic() - t0, 3)
        if failed:
            c, e = failed[0]
            raise RuntimeError(f"{len(failed)} of {len(all_clients)} clients failed to connect/sync; "
                               f"first: room {c.room.name} client {c.idx}: {type(e).__name__}: {e}")
        # ---- send phase ----
        room_rngs = [random.Random(rng.getrandbits(64)) for _ in rooms]
        await asyncio.gather(*(run_room(r, args.updates, args.rate, g) for r, g in zip(rooms, room_rngs)))
        # ---- settle: every client has every id of its room ----
        deadline = time.monotonic() + args.settle_timeout
        while time.monotonic() < deadline:
            if all(len(c.seen) >= r.sent for r in rooms for c in r.clients):
                break
            dead = [c for c in all_clients if c.closed_reason is not None]
            if dead:
                raise RuntimeError(f"{len(dead)} clients lost their connection; first: "
                                   f"{dead[0].room.name}/{dead[0].idx}: {dead[0].closed_reason}")
            await asyncio.sleep(0.01)
        result["settle_s"] = round(time.monotonic() - (max(
            (r.last_send for r in rooms if r.last_send is not None), default=time.monotonic())), 3)
        # ---- convergence ----
        rooms_ok = 0
        problems: list[str] = []
        for r in rooms:
            texts = {str(c.text) for c in r.clients}
            svs = {bytes(c.doc.get_state()) for c in r.clients}
            missing = [c.idx for c in r.clients if len(c.seen) < r.sent]
            text = next(iter(texts))
            ids = [int(m.group(1)) for m in ID_RE.finditer(text.encode())]
            ids_ok = sorted(ids) == list(range(r.sent))
            if len(texts) == 1 and len(svs) == 1 and not missing and ids_ok:
                rooms_ok += 1
            else:
                problems.append(f"room {r.name}: {len(texts)} distinct texts, {len(svs)} distinct "
                                f"state vectors, {len(missing)} clients missing updates, "
                                f"ids in text ok={ids_ok}")
        result["rooms_converged"] = rooms_ok
        result["converged"] = rooms_ok == len(rooms)
        if problems:
            result["problems"] = problems[:10]
        fill_result("done")
        return bool(result["converged"] and result["lost"] == 0 and stats.apply_errors == 0)
    except Exception as e:
        result["error"] = f"{type(e).__name__}: {e}"
        result["converged"] = False
        fill_result("error")
        return False
    finally:
        await asyncio.gather(*(c.close() for c in all_clients), return_exceptions=True)


async def main_async(args: argparse.Namespace) -> int:
    result: dict[str, Any] = {
        "url": args.url, "rooms": args.rooms, "clients_per_room": args.clients_per_room,
        "updates_per_room": args.updates, "rate_hz": args.rate, "seed": args.seed,
        "warmup": args.warmup,
    }
    ok = False
    try:
        ok = await asyncio.wait_for(run(args, result), args.timeout)
    except asyncio.TimeoutError:
        result["error"] = f"total timeout of {args.timeout} s reached"
        result["converged"] = False
    print(json.dumps(result, allow_nan=False), flush=True)
    if not ok:
        print(f"pyws_load: FAILED: {result.get('error') or result.get('problems') or 'lost updates'}",
              file=sys.stderr)
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="e.g. ws://127.0.0.1:1999/parties/main")
    ap.add_argument("--rooms", type=int, default=1)
    ap.add_argument("--clients-per-room", type=int, default=10)
    ap.add_argument("--updates", type=int, default=100, help="updates per room")
    ap.add_argument("--rate", type=float, default=20.0, help="updates per second per room")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=0, help="first N updates of a room not timed")
    ap.add_argument("--timeout", type=float, default=120.0, help="bound on the whole run")
    ap.add_argument("--settle-timeout", type=float, default=30.0)
    ap.add_argument("--connect-timeout", type=float, default=10.0)
    ap.add_argument("--connect-concurrency", type=int, default=32)
    ap.add_argument("--room-prefix", default=None,
                    help="rooms are PREFIX-SEED-r; default load-<unix time>-<pid> (fresh rooms)")
    ap.add_argument("--text-name", default="t")
    ap.add_argument("--awareness", action="store_true", help="each client sends a user state")
    args = ap.parse_args()
    if args.room_prefix is None:
        args.room_prefix = f"load-{int(time.time())}-{os.getpid()}"
    if args.rooms < 1 or args.clients_per_room < 2 or args.updates < 1 or args.rate <= 0:
        print("pyws_load: need --rooms >= 1, --clients-per-room >= 2, --updates >= 1, --rate > 0",
              file=sys.stderr)
        return 2
    if not (args.url.startswith("ws://127.0.0.1") or args.url.startswith("ws://localhost")
            or args.url.startswith("ws://[::1]")):
        print(f"pyws_load: refusing non-loopback URL {args.url}", file=sys.stderr)
        return 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
