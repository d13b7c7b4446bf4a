#!/usr/bin/env python3
"""A pycrdt-websocket client (pycrdt.Provider over pycrdt.websocket's HttpxWebsocket channel, on
httpx-ws), scripted through stdin, as a test peer.

Usage:
    .venv/bin/python pyws_client.py URL ROOM [--client-id N] [--connect-timeout 10]
                                    [--max-seconds 600] [--plain-channel] [--no-awareness]

Connects to URL + "/" + ROOM, as y-websocket does (URL is ws://HOST:PORT/parties/main for a
PartyKit-style server, ws://HOST:PORT for pyws_server.py; ws:// and http:// are both accepted).
The Provider sends SyncStep1, answers the server's SyncStep1 with SyncStep2 and is synced on the
first SyncStep2. Awareness (which pycrdt's Provider ignores) is handled here on the same socket,
as y-websocket's client does: on connect the local state ({} with clock 0, from pycrdt.Awareness)
is sent as `vu(1) vb(awarenessUpdate)`; every local change is sent; incoming awareness messages are
applied; a query-awareness message (type 3) is answered with all known states; text frames (which
y-partykit-style servers use for broadcasts) are recorded, not fatal.
--plain-channel uses pycrdt.websocket's HttpxWebsocket unchanged instead: no incoming awareness,
and the first text frame silently ends the provider's receive loop (pycrdt-websocket behaviour).

Start-up: prints one JSON line {"ready": true, "client_id": N, "url": "..."} once synced.
On failure to connect/sync: a message on stderr and exit 1.

Commands (one per line on stdin; exactly one JSON line answered on stdout per command):
    insert NAME POS STRING          -> {"ok": true}                  insert into root Text NAME
    delete NAME POS LEN             -> {"ok": true}
    text NAME                       -> {"ok": true, "text": "..."}
    wait-text NAME EXPECTED TIMEOUT_S
                                    -> {"ok": true, "text": "..."} once text == EXPECTED, else
                                       {"ok": false, "timeout": true, "text": "<current>",
                                        "connected": bool}
    wait-contains NAME SUBSTRING TIMEOUT_S   (same answers, waits until SUBSTRING is in the text)
    awareness JSON                  -> {"ok": true, "client_id": N, "clock": C}
                                       sets the local awareness state (rest of line is the JSON,
                                       e.g. awareness {"user":{"name":"py"}}) and sends it
    awareness-clear                 -> {"ok": true, ...}  local state null (what y-websocket
                                       sends when a client leaves)
    peers                           -> {"ok": true, "client_id": N, "states": {"<id>": state}}
                                       every awareness state known here, own included
    wait-peers N TIMEOUT_S          -> {"ok": true|false, "states": {...}} waits until at least N
                                       states of OTHER clients are known
    state                           -> {"ok": true, "state": "<base64 update v1 of the whole doc>"}
    sv                              -> {"ok": true, "sv": "<base64 state vector>"}
    apply BASE64                    -> {"ok": true}   apply an update v1 locally (then sent)
    frames                          -> {"ok": true, "frames": ["<text frame>", ...]}
    status                          -> {"ok": true, "connected": b, "synced": b, "client_id": N,
                                        "messages_in": n, "messages_out": n}
    ping                            -> {"ok": true, "pong": true}
    quit                            -> {"ok": true, "bye": true}; sends awareness null, flushes
                                       queued updates, closes the socket, exit 0
  Errors answer {"ok": false, "error": "..."} and the client keeps running.
  Tokens are separated by spaces; a token starting with '"' is a JSON string (spaces, escapes,
  empty string ""). For insert, an unquoted STRING is the rest of the line verbatim (after one
  space). Positions count Unicode code points (pycrdt Text semantics).
  End of stdin = quit. --max-seconds bounds the whole life of the process (exit 3).
  If the connection drops, commands that only read keep working, `status` says connected=false,
  and a later local edit makes the provider fail: stderr message, exit 1.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import sys
import threading
import time
from typing import Any

from _peer_common import out, split_tokens, start_stdin_reader  # noqa: E402  (same folder)

try:
    import anyio
    import httpx
    import wsproto.events
    from httpx_ws import aconnect_ws
    from pycrdt import (
        Awareness,
        Doc,
        Provider,
        Text,
        YMessageType,
        create_awareness_message,
        read_message,
    )
    from pycrdt.websocket.websocket import HttpxWebsocket
except ImportError as e:  # pragma: no cover
    print(f"pyws_client: missing Python package ({e}); run scripts/setup.sh", file=sys.stderr)
    sys.exit(2)

LOG = logging.getLogger("pyws_client")
QUERY_AWARENESS = 3


class Peer:
    def __init__(self, doc: Doc, awareness: Awareness) -> None:
        self.doc = doc
        self.awareness = awareness
        self.connected = False
        self.synced = False
        self.messages_in = 0
        self.messages_out = 0
        self.text_frames: list[str] = []
        self.channel: HttpxWebsocket | None = None
        self.tg: anyio.abc.TaskGroup | None = None

    def send_soon(self, message: bytes) -> None:
        if self.tg is not None and self.channel is not None and self.connected:
            self.tg.start_soon(self.channel.send, message)

    def on_awareness(self, topic: str, changes: tuple[dict[str, Any], Any]) -> None:
        info, origin = changes
        if topic != "update" or origin != "local":
            return
        ids = info["added"] + info["updated"] + info["removed"]
        if ids:
            self.send_soon(create_awareness_message(self.awareness.encode_awareness_update(ids)))


class PeerChannel(HttpxWebsocket):
    """HttpxWebsocket that also handles awareness and tolerates text frames."""

    def __init__(self, websocket, path: str, peer: Peer) -> None:
        super().__init__(websocket, path)
        self.peer = peer

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except Exception as e:
            if self.peer.connected:
                print(f"pyws_client: connection closed: {type(e).__name__}: {e}", file=sys.stderr)
            self.peer.connected = False
            raise StopAsyncIteration()

    async def send(self, message: bytes) -> None:
        await super().send(message)
        self.peer.messages_out += 1

    async def recv(self) -> bytes:
        while True:
            event = await self._websocket.receive()
            self.peer.messages_in += 1
            if isinstance(event, wsproto.events.TextMessage):
                self.peer.text_frames.append(event.data)
                continue
            if not isinstance(event, wsproto.events.BytesMessage):
                continue
            data = bytes(event.data)
            if data and data[0] == YMessageType.AWARENESS:
                try:
                    self.peer.awareness.apply_awareness_update(read_message(data[1:]), "remote")
                except Exception as e:
                    print(f"pyws_client: bad awareness message: {e}", file=sys.stderr)
            elif data and data[0] == QUERY_AWARENESS:
                ids = list(self.peer.awareness.states.keys())
                self.peer.send_soon(
                    create_awareness_message(self.peer.awareness.encode_awareness_update(ids))
                )
            self._note_sync(data)
            return data  # the Provider handles type 0 and ignores the others

    def _note_sync(self, data: bytes) -> None:
        if len(data) >= 2 and data[0] == YMessageType.SYNC and data[1] == 1:
            self.peer.synced = True


async def wait_until(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.005)


class Commands:
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.quit = False

    def text(self, name: str) -> Text:
        return self.peer.doc.get(name, type=Text)

    async def run(self, line: str) -> dict[str, Any]:
        p = self.peer
        line = line.rstrip("\r\n")
        cmd, _, rest = line.partition(" ")
        if cmd == "insert":
            a = split_tokens(rest, max_tokens=3)
            if len(a) != 3:
                raise ValueError("usage: insert NAME POS STRING")
            t, pos = self.text(a[0]), int(a[1])
            if not 0 <= pos <= len(t):
                return {"ok": False, "error": f"position {pos} out of range 0...{len(t)}"}
            t.insert(pos, a[2])
            return {"ok": True}
        if cmd == "awareness":
            state = json.loads(rest)
            p.awareness.set_local_state(state)
            return self._aw()
        a = split_tokens(rest)
        arity = {
            "delete": 3, "text": 1, "wait-text": 3, "wait-contains": 3, "awareness-clear": 0,
            "peers": 0, "wait-peers": 2, "state": 0, "sv": 0, "apply": 1, "frames": 0,
            "status": 0, "ping": 0, "quit": 0,
        }
        if cmd not in arity:
            raise ValueError(f"unknown command {cmd!r}")
        if len(a) != arity[cmd]:
            raise ValueError(f"{cmd} takes {arity[cmd]} argument(s), got {len(a)}")
        if cmd == "delete":
            t, pos, n = self.text(a[0]), int(a[1]), int(a[2])
            if pos < 0 or n < 0 or pos + n > len(t):
                return {"ok": False, "error": f"range {pos}+{n} out of 0...{len(t)}"}
            del t[pos : pos + n]
            return {"ok": True}
        if cmd == "text":
            return {"ok": True, "text": str(self.text(a[0]))}
        if cmd in ("wait-text", "wait-contains"):
            t, want, timeout = self.text(a[0]), a[1], float(a[2])
            pred = (lambda: str(t) == want) if cmd == "wait-text" else (lambda: want in str(t))
            ok = await wait_until(pred, timeout)
            ans: dict[str, Any] = {"ok": ok, "text": str(t)}
            if not ok:
                ans.update(timeout=True, connected=p.connected)
            return ans
        if cmd == "awareness-clear":
            p.awareness.set_local_state(None)
            return self._aw()
        if cmd == "peers":
            return {"ok": True, "client_id": p.doc.client_id, "states": self._states()}
        if cmd == "wait-peers":
            n, timeout = int(a[0]), float(a[1])
            me = p.doc.client_id
            ok = await wait_until(
                lambda: sum(1 for k in p.awareness.states if k != me) >= n, timeout
            )
            ans = {"ok": ok, "client_id": me, "states": self._states()}
            if not ok:
                ans.update(timeout=True, connected=p.connected)
            return ans
        if cmd == "state":
            return {"ok": True, "state": base64.b64encode(p.doc.get_update()).decode()}
        if cmd == "sv":
            return {"ok": True, "sv": base64.b64encode(p.doc.get_state()).decode()}
        if cmd == "apply":
            p.doc.apply_update(base64.b64decode(a[0], validate=True))
            return {"ok": True}
        if cmd == "frames":
            return {"ok": True, "frames": list(p.text_frames)}
        if cmd == "status":
            return {
                "ok": True, "connected": p.connected, "synced": p.synced,
                "client_id": p.doc.client_id, "messages_in": p.messages_in,
                "messages_out": p.messages_out,
            }
        if cmd == "ping":
            return {"ok": True, "pong": True}
        self.quit = True
        return {"ok": True, "bye": True}

    def _aw(self) -> dict[str, Any]:
        p = self.peer
        return {
            "ok": True,
            "client_id": p.doc.client_id,
            "clock": p.awareness.meta[p.doc.client_id]["clock"],
        }

    def _states(self) -> dict[str, Any]:
        return {str(k): v for k, v in self.peer.awareness.states.items()}


def http_url(url: str) -> str:
    if url.startswith("ws://"):
        return "http://" + url[5:]
    if url.startswith("wss://"):
        return "https://" + url[6:]
    return url


async def main_async(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/") + "/" + args.room
    doc = Doc(client_id=args.client_id) if args.client_id is not None else Doc()
    awareness = Awareness(doc)
    peer = Peer(doc, awareness)
    commands = Commands(peer)
    lines = start_stdin_reader(asyncio.get_running_loop())
    timeout = httpx.Timeout(args.connect_timeout)
    async with httpx.AsyncClient(timeout=timeout) as hc:
        try:
            # httpx's connect/read timeouts bound the TCP connect and the upgrade handshake.
            async with aconnect_ws(
                http_url(url), hc, max_message_size_bytes=64 * 1024 * 1024
            ) as ws:
                peer.connected = True
                if args.plain_channel:
                    channel = _plain_channel(ws, args.room, peer)
                else:
                    channel = PeerChannel(ws, args.room, peer)
                peer.channel = channel
                async with anyio.create_task_group() as tg:
                    peer.tg = tg
                    if not args.no_awareness:
                        await tg.start(awareness.start)
                        awareness.observe(peer.on_awareness)
                    async with Provider(doc, channel, log=LOG) as provider:
                        if not args.no_awareness:
                            # y-websocket's client sends its state on open (pycrdt: {} clock 0).
                            ids = [doc.client_id]
                            peer.send_soon(
                                create_awareness_message(awareness.encode_awareness_update(ids))
                            )
                        with anyio.move_on_after(args.connect_timeout):
                            await provider.synced.wait()
                        if not provider.synced.is_set():
                            print(
                                f"pyws_client: not synced with {url} within "
                                f"{args.connect_timeout} s (no SyncStep2 received)",
                                file=sys.stderr,
                            )
                            os._exit(1)
                        out({"ready": True, "client_id": doc.client_id, "url": url})
                        while not commands.quit:
                            line = await lines.get()
                            if line is None:
                                commands.quit = True
                                break
                            try:
                                answer = await commands.run(line)
                            except Exception as e:
                                answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                            out(answer)
                        _bound_exit(5.0)
                        # leave like y-websocket: awareness null, then flush (Provider.__aexit__)
                        if not args.no_awareness and awareness.get_local_state() is not None:
                            awareness.set_local_state(None)
                        await anyio.sleep(0.05)
                    if not args.no_awareness:
                        await awareness.stop()
                    tg.cancel_scope.cancel()
        except Exception as e:
            msg = _flatten(e)
            print(f"pyws_client: {url}: {msg}", file=sys.stderr)
            return 1
    return 0


def _plain_channel(ws, room: str, peer: Peer):
    class Plain(HttpxWebsocket):
        async def send(self, message: bytes) -> None:
            await super().send(message)
            peer.messages_out += 1

        async def recv(self) -> bytes:
            data = await super().recv()
            peer.messages_in += 1
            if len(data) >= 2 and data[0] == 0 and data[1] == 1:
                peer.synced = True
            return data

    return Plain(ws, room)


def _bound_exit(seconds: float) -> None:
    def expire() -> None:
        print(f"pyws_client: could not close cleanly within {seconds} s", file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def _flatten(e: BaseException) -> str:
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(_flatten(x) for x in e.exceptions)
    return f"{type(e).__name__}: {e}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("room")
    ap.add_argument("--client-id", type=int, default=None)
    ap.add_argument("--connect-timeout", type=float, default=10.0)
    ap.add_argument("--max-seconds", type=float, default=600.0, help="lifetime bound (exit 3)")
    ap.add_argument("--plain-channel", action="store_true")
    ap.add_argument("--no-awareness", action="store_true")
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args()
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.WARNING),
        stream=sys.stderr,
        format="pyws_client %(levelname)s %(name)s: %(message)s",
    )

    def watchdog() -> None:
        print(f"pyws_client: --max-seconds {args.max_seconds} reached, exiting", file=sys.stderr)
        sys.stderr.flush()
        os._exit(3)

    timer = threading.Timer(args.max_seconds, watchdog)
    timer.daemon = True
    timer.start()
    try:
        rc = asyncio.run(main_async(args))
    except KeyboardInterrupt:
        rc = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)  # do not wait for the stdin thread


if __name__ == "__main__":
    main()
