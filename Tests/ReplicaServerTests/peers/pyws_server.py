#!/usr/bin/env python3
"""pycrdt-websocket's own server (WebsocketServer + ASGIServer on hypercorn), as a test peer.

Usage:
    .venv/bin/python pyws_server.py [--host 127.0.0.1] [--port 0] [--auto-clean] [--no-stdin]
                                    [--max-seconds 3600] [--log-level WARNING]

Rooms: a y-websocket client connecting to ws://HOST:PORT/<path> syncs with the room named <path>
without the leading slash and without the query string, like y-websocket's server. So a client
given ws://HOST:PORT/parties/main and room R (URL + "/" + R) is in room "parties/main/R".
Rooms are kept when their last client leaves (so a test can read them afterwards) unless
--auto-clean is given (pycrdt-websocket's default behaviour: delete the room).

Start-up: prints exactly one JSON line on stdout once the socket accepts connections:
    {"ready": true, "port": P, "host": "127.0.0.1", "pid": N}
--port 0 (the default) binds a free port and reports it.

Side channel 1, stdin (one command per line, one JSON line answered on stdout per command):
    text ROOM NAME                 -> {"ok": true, "text": "..."}      root Text NAME of ROOM
    state ROOM                     -> {"ok": true, "state": "<base64 update v1 of the whole doc>"}
    sv ROOM                        -> {"ok": true, "sv": "<base64 state vector>"}
    awareness ROOM                 -> {"ok": true, "states": {"<clientID>": state, ...},
                                       "server_client_id": N}
                                      (the room's own Awareness: pycrdt gives it the state {}, so
                                      states always holds server_client_id: {} besides clients)
    rooms                          -> {"ok": true, "rooms": {"<room>": <connected clients>, ...}}
    insert ROOM NAME POS STRING    -> {"ok": true}   server-side edit, broadcast to the room
    apply ROOM BASE64              -> {"ok": true}   apply an update v1 to the room's doc
    ping                           -> {"ok": true, "pong": true}
    quit                           -> {"ok": true, "bye": true}, then a clean shutdown, exit 0
  Errors answer {"ok": false, "error": "..."} and the server keeps running.
  Tokens are separated by single spaces; a token starting with '"' is a JSON string (so it may hold
  spaces, newlines, or be empty). For insert, an unquoted STRING is the rest of the line verbatim.
  A ROOM that does not exist yet is created empty (as a client connecting would).
  End of stdin shuts the server down (so a crashed test does not leave it running) unless
  --no-stdin is given (for shell use: `pyws_server.py --no-stdin &`).

Side channel 2, HTTP on the same port (GET, JSON answers as above, 404 for unknown paths):
    /_pyws/health
    /_pyws/rooms
    /_pyws/text?room=ROOM&name=NAME
    /_pyws/state?room=ROOM
    /_pyws/sv?room=ROOM
    /_pyws/awareness?room=ROOM
  (ROOM percent-encoded, e.g. room=parties%2Fmain%2Fr1.)

Exit: 0 after quit / end of stdin / SIGTERM / SIGINT / --max-seconds; 2 on bad arguments or when
the server cannot start (message on stderr).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import socket
import sys
import time
import urllib.parse
from typing import Any

from _peer_common import out, split_tokens, start_stdin_reader  # noqa: E402  (same folder)

try:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HypercornConfig
    from pycrdt import Text
    from pycrdt.websocket import ASGIServer, WebsocketServer, exception_logger
except ImportError as e:  # pragma: no cover
    print(f"pyws_server: missing Python package ({e}); run scripts/setup.sh", file=sys.stderr)
    sys.exit(2)

LOG = logging.getLogger("pyws_server")


class PeerServer:
    def __init__(self, auto_clean: bool) -> None:
        self.ws_server = WebsocketServer(
            auto_clean_rooms=auto_clean,
            exception_handler=exception_logger,
            log=logging.getLogger("pycrdt.websocket"),
        )
        self.asgi = ASGIServer(self.ws_server)
        self.shutdown = asyncio.Event()
        self.room_start_lock = asyncio.Lock()

    # ---- ASGI wrapper: websocket -> pycrdt-websocket, HTTP -> side channel ----
    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            # Room = path without the leading slash (y-websocket convention).
            scope = dict(scope)
            scope["path"] = scope["path"].lstrip("/")
            # Work around a pycrdt-websocket 0.16.5 race: two connections that both find a new
            # room not yet started both call task_group.start(room.start); the second waits for
            # the room's _start_lock, which the first holds for the room's whole life, so that
            # connection hangs forever without a SyncStep1. Starting the room here, one at a
            # time, makes WebsocketServer.serve find it started.
            async with self.room_start_lock:
                await self.ws_server.get_room(scope["path"])
            await self.asgi(scope, receive, send)
        elif scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.asgi(scope, receive, send)

    async def http(self, scope, receive, send) -> None:
        path = scope["path"]
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))

        def q(key: str) -> str:
            vals = query.get(key)
            if not vals:
                raise KeyError(f"missing query parameter {key!r}")
            return vals[0]

        status = 200
        try:
            if scope["method"] != "GET":
                status, body = 405, {"ok": False, "error": "GET only"}
            elif path == "/_pyws/health":
                body = {"ok": True}
            elif path == "/_pyws/rooms":
                body = self.cmd_rooms()
            elif path == "/_pyws/text":
                body = await self.cmd_text(q("room"), q("name"))
            elif path == "/_pyws/state":
                body = await self.cmd_state(q("room"))
            elif path == "/_pyws/sv":
                body = await self.cmd_sv(q("room"))
            elif path == "/_pyws/awareness":
                body = await self.cmd_awareness(q("room"))
            else:
                status, body = 404, {"ok": False, "error": f"no such path {path}"}
        except Exception as e:  # answer, never crash the server
            status, body = 400, {"ok": False, "error": f"{type(e).__name__}: {e}"}
        data = json.dumps(body, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    # ---- commands (run on the event loop: pycrdt docs are not thread-safe) ----
    async def room(self, name: str):
        async with self.room_start_lock:
            return await self.ws_server.get_room(name)

    def cmd_rooms(self) -> dict[str, Any]:
        return {"ok": True, "rooms": {k: len(r.clients) for k, r in self.ws_server.rooms.items()}}

    async def cmd_text(self, room: str, name: str) -> dict[str, Any]:
        r = await self.room(room)
        return {"ok": True, "text": str(r.ydoc.get(name, type=Text))}

    async def cmd_state(self, room: str) -> dict[str, Any]:
        r = await self.room(room)
        return {"ok": True, "state": base64.b64encode(r.ydoc.get_update()).decode()}

    async def cmd_sv(self, room: str) -> dict[str, Any]:
        r = await self.room(room)
        return {"ok": True, "sv": base64.b64encode(r.ydoc.get_state()).decode()}

    async def cmd_awareness(self, room: str) -> dict[str, Any]:
        r = await self.room(room)
        return {
            "ok": True,
            "states": {str(k): v for k, v in r.awareness.states.items()},
            "server_client_id": r.awareness.client_id,
        }

    async def cmd_insert(self, room: str, name: str, pos: int, s: str) -> dict[str, Any]:
        r = await self.room(room)
        text = r.ydoc.get(name, type=Text)
        if not 0 <= pos <= len(text):
            return {"ok": False, "error": f"position {pos} out of range 0...{len(text)}"}
        text.insert(pos, s)
        return {"ok": True}

    async def cmd_apply(self, room: str, b64: str) -> dict[str, Any]:
        r = await self.room(room)
        r.ydoc.apply_update(base64.b64decode(b64, validate=True))
        return {"ok": True}

    async def handle_line(self, line: str) -> dict[str, Any]:
        line = line.rstrip("\r\n")
        if not line.strip():
            return {"ok": False, "error": "empty command"}
        cmd, _, rest = line.partition(" ")
        if cmd == "insert":
            args = split_tokens(rest, max_tokens=4)
            if len(args) != 4:
                raise ValueError("usage: insert ROOM NAME POS STRING")
            return await self.cmd_insert(args[0], args[1], int(args[2]), args[3])
        args = split_tokens(rest)
        want = {
            "text": 2, "state": 1, "sv": 1, "awareness": 1, "rooms": 0, "apply": 2,
            "ping": 0, "quit": 0,
        }
        if cmd not in want:
            raise ValueError(f"unknown command {cmd!r}")
        if len(args) != want[cmd]:
            raise ValueError(f"{cmd} takes {want[cmd]} argument(s), got {len(args)}")
        if cmd == "text":
            return await self.cmd_text(args[0], args[1])
        if cmd == "state":
            return await self.cmd_state(args[0])
        if cmd == "sv":
            return await self.cmd_sv(args[0])
        if cmd == "awareness":
            return await self.cmd_awareness(args[0])
        if cmd == "rooms":
            return self.cmd_rooms()
        if cmd == "apply":
            return await self.cmd_apply(args[0], args[1])
        if cmd == "ping":
            return {"ok": True, "pong": True}
        self.shutdown.set()
        return {"ok": True, "bye": True}

    async def stdin_loop(self) -> None:
        lines = start_stdin_reader(asyncio.get_running_loop())
        while not self.shutdown.is_set():
            raw = await lines.get()
            if raw is None:
                LOG.info("end of stdin: shutting down")
                self.shutdown.set()
                return
            try:
                answer = await self.handle_line(raw)
            except Exception as e:
                answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            out(answer)


async def wait_http_ready(host: str, port: int, deadline: float) -> None:
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
            w.write(f"GET /_pyws/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            await w.drain()
            head = await asyncio.wait_for(r.read(64), 1.0)
            w.close()
            if head.startswith(b"HTTP/1.1 200"):
                return
            last = RuntimeError(f"unexpected health answer {head!r}")
        except Exception as e:
            last = e
        await asyncio.sleep(0.05)
    raise RuntimeError(f"server did not answer /_pyws/health within the start-up timeout: {last}")


async def main_async(args: argparse.Namespace) -> int:
    peer = PeerServer(auto_clean=args.auto_clean)
    # Bind ourselves so that --port 0 can report the port, then hand the socket to hypercorn.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as e:
        print(f"pyws_server: cannot bind {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    sock.listen(1024)
    port = sock.getsockname()[1]

    config = HypercornConfig()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.loglevel = args.log_level
    config.websocket_max_message_size = 64 * 1024 * 1024
    config.graceful_timeout = 2.0

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, peer.shutdown.set)

    async with peer.ws_server:
        server_task = asyncio.create_task(
            hypercorn_serve(peer, config, shutdown_trigger=peer.shutdown.wait, mode="asgi")
        )
        try:
            await wait_http_ready(args.host, port, time.monotonic() + args.startup_timeout)
        except Exception as e:
            print(f"pyws_server: {e}", file=sys.stderr)
            peer.shutdown.set()
            server_task.cancel()
            return 2
        out({"ready": True, "port": port, "host": args.host, "pid": os.getpid()})
        stdin_task = None if args.no_stdin else asyncio.create_task(peer.stdin_loop())
        try:
            await asyncio.wait_for(peer.shutdown.wait(), args.max_seconds)
        except asyncio.TimeoutError:
            print(f"pyws_server: --max-seconds {args.max_seconds} reached, stopping", file=sys.stderr)
            peer.shutdown.set()
        try:
            await asyncio.wait_for(server_task, 10)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            print("pyws_server: hypercorn did not stop within 10 s", file=sys.stderr)
        except Exception as e:
            print(f"pyws_server: hypercorn stopped with {type(e).__name__}: {e}", file=sys.stderr)
        if stdin_task is not None:
            stdin_task.cancel()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--auto-clean", action="store_true", help="delete rooms when empty")
    ap.add_argument("--no-stdin", action="store_true", help="ignore stdin (no EOF shutdown)")
    ap.add_argument("--max-seconds", type=float, default=3600.0, help="lifetime bound")
    ap.add_argument("--startup-timeout", type=float, default=10.0)
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"pyws_server: refusing non-loopback host {args.host}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.WARNING),
        stream=sys.stderr,
        format="pyws_server %(levelname)s %(name)s: %(message)s",
    )
    try:
        rc = asyncio.run(main_async(args))
    except KeyboardInterrupt:
        rc = 0
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: the daemon stdin thread may sit in a blocking read, and a normal interpreter
    # shutdown then aborts on the stdin buffer lock.
    os._exit(rc)


if __name__ == "__main__":
    main()
