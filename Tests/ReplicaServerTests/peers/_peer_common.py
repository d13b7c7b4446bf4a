"""Helpers shared by the Python peers: JSON-line output, command tokenizing, stdin reader."""
from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any


def out(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def split_tokens(line: str, max_tokens: int | None = None) -> list[str]:
    """Space-separated tokens; a token starting with '"' is a JSON string.

    With max_tokens, the last token is the rest of the line after one separating space (verbatim,
    unless it starts with '"': then it is one JSON string and nothing may follow it)."""
    tokens: list[str] = []
    i, n = 0, len(line)
    dec = json.JSONDecoder()
    while i < n:
        if max_tokens is not None and len(tokens) == max_tokens - 1:
            rest = line[i:]
            if rest.startswith('"'):
                val, end = dec.raw_decode(rest)
                if rest[end:].strip():
                    raise ValueError("trailing characters after quoted string")
                tokens.append(val)
            else:
                tokens.append(rest)
            return tokens
        if line[i] == " ":
            i += 1
            continue
        if line[i] == '"':
            val, i = dec.raw_decode(line, i)
            tokens.append(val)
        else:
            j = line.find(" ", i)
            j = n if j < 0 else j
            tokens.append(line[i:j])
            i = j
        if i < n and line[i] == " ":
            i += 1  # the separator
    return tokens


def start_stdin_reader(loop: asyncio.AbstractEventLoop) -> asyncio.Queue:
    """Lines of stdin (str, None at EOF) delivered on the loop by a daemon thread."""
    queue: asyncio.Queue = asyncio.Queue()

    def run() -> None:
        try:
            for raw in sys.stdin.buffer:
                loop.call_soon_threadsafe(queue.put_nowait, raw.decode("utf-8", "replace"))
        except Exception as e:  # pragma: no cover
            print(f"stdin reader: {e}", file=sys.stderr)
        finally:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except RuntimeError:
                pass  # loop already closed

    threading.Thread(target=run, name="stdin", daemon=True).start()
    return queue
