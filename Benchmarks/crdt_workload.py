"""The inputs of the crdt-benchmarks scenarios B1-B3 for the Python peers: the same generator as
Sources/ycli/Commands/CrdtWorkload.swift, draw for draw (SplitMix64; int(lo, hi) = lo + next() %
(hi - lo + 1); bool = next() % 2 == 1; word = letters "a" + next() % 26), one generator per scenario
seeded with seed + a fixed offset. bench_all.py checks that all peers end with the same content.

Ops are ("ins", pos, text) or ("del", pos, count); all text is ASCII, so positions are the same in
UTF-16 units (Yjs, ysync), UTF-8 bytes (pycrdt) and code points (loro).
"""

import math

_M = (1 << 64) - 1

SEED_OFFSETS = {"B1.1": 101, "B1.2": 102, "B1.3": 103, "B1.4": 104, "B1.5": 105, "B1.6": 106, "B1.7": 107,
                "B2.0": 200, "B2.1": 201, "B2.2": 202, "B2.3": 203, "B2.4": 204}

TITLES = {
    "B1.1": "Append N characters",
    "B1.2": "Insert string of length N",
    "B1.3": "Prepend N characters",
    "B1.4": "Insert N characters at random positions",
    "B1.5": "Insert N words at random positions",
    "B1.6": "Insert string, then delete it",
    "B1.7": "Insert/Delete strings at random positions",
    "B2.1": "Concurrently insert string of length N at index 0",
    "B2.2": "Concurrently insert N characters at random positions",
    "B2.3": "Concurrently insert N words at random positions",
    "B2.4": "Concurrently insert & delete",
    "B3.1": "20√N clients concurrently set number in Map",
    "B3.2": "20√N clients concurrently set Object in Map",
    "B3.3": "20√N clients concurrently set String in Map",
    "B3.4": "20√N clients concurrently insert text in Array",
}
IDS = list(TITLES)


class Random:
    def __init__(self, seed):
        self.state = seed & _M

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & _M
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
        return z ^ (z >> 31)

    def int(self, lo, hi):
        return lo + self.next() % (hi - lo + 1)

    def bool(self):
        return self.next() % 2 == 1

    def word(self, lo, hi):
        n = self.int(lo, hi)
        return "".join(chr(97 + self.next() % 26) for _ in range(n))


def _rng(seed, sid):
    return Random((seed + SEED_OFFSETS[sid]) & _M)


def _apply(text, op):
    if op[0] == "ins":
        return text[:op[1]] + op[2] + text[op[1]:]
    return text[:op[1]] + text[op[1] + op[2]:]


def b1(sid, n, seed):
    """The ops of one client (each its own transaction) and the expected final text."""
    r = _rng(seed, sid)
    ops, text = [], ""

    def emit(op):
        nonlocal text
        ops.append(op)
        text = _apply(text, op)

    if sid == "B1.1":
        for i, c in enumerate(r.word(n, n)):
            emit(("ins", i, c))
    elif sid == "B1.2":
        emit(("ins", 0, r.word(n, n)))
    elif sid == "B1.3":
        for c in reversed(r.word(n, n)):
            emit(("ins", 0, c))
    elif sid in ("B1.4", "B1.5"):
        lo, hi = (1, 1) if sid == "B1.4" else (2, 10)
        for _ in range(n):
            at = r.int(0, len(text))
            emit(("ins", at, r.word(lo, hi)))
    elif sid == "B1.6":
        s = r.word(n, n)
        emit(("ins", 0, s))
        emit(("del", 0, n))
    elif sid == "B1.7":
        for _ in range(n):
            at = r.int(0, len(text))
            if at == len(text) or r.bool():
                emit(("ins", at, r.word(2, 10)))
            else:
                emit(("del", at, r.int(1, min(9, len(text) - at))))
    else:
        raise ValueError(f"not a B1 scenario: {sid}")
    return ops, text


def b2_initial_text(seed):
    return _rng(seed, "B2.0").word(100, 100)


def b2(sid, n, seed):
    """The ops of client 1 and of client 2, each run in one transaction."""
    r = _rng(seed, sid)
    initial = b2_initial_text(seed)
    if sid == "B2.1":
        a, b = r.word(n, n), r.word(n, n)
        return [("ins", 0, a)], [("ins", 0, b)]

    def generate():
        text, ops = initial, []

        def emit(op):
            nonlocal text
            ops.append(op)
            text = _apply(text, op)

        for _ in range(n):
            at = r.int(0, len(text))
            if sid == "B2.2":
                emit(("ins", at, r.word(1, 1)))
            elif sid == "B2.3":
                emit(("ins", at, r.word(3, 9)))
            elif sid == "B2.4":
                emit(("ins", at, r.word(3, 9)))
                if at == len(text) or r.bool():
                    emit(("ins", at, r.word(2, 10)))
                else:
                    emit(("del", at, r.int(1, min(9, len(text) - at))))
            else:
                raise ValueError(f"not a B2 scenario: {sid}")
        return ops

    a = generate()
    b = generate()
    return a, b


def b3_clients(n):
    return math.isqrt(n) * 20
