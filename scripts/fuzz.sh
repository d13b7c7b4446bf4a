#!/usr/bin/env bash
# Builds a libFuzzer target and runs it for the given number of seconds (default 240).
#   scripts/fuzz.sh [PRODUCT] [seconds] [extra libFuzzer flags...]
# PRODUCT: CRDTFuzz (default: update v1 codec, state vectors, lib0 any, JSON text, merge/diff),
#          SyncFuzz (y-protocols messages, awareness updates, a session fed hostile frames)
#          or RoomFuzz (the server boundary: scripts of WebSocket messages and HTTP bodies into a
#          real RoomHost room with its journal, beside a well-formed client).
# The corpus lives in Fuzz/corpus (CRDTFuzz), Fuzz/corpus-sync (SyncFuzz) or Fuzz/corpus-room
# (RoomFuzz), git-ignored, seeded from Tests/Fixtures and the spec's examples; crash files land in
# Fuzz/ as crash-*
# (git-ignored). Replay one without libFuzzer:
#   swift build --product CRDTFuzz && .build/debug/CRDTFuzz Fuzz/crash-<hash>
# FUZZ_CONFIGURATION=release builds optimized (about twice the executions per second; Swift's
# bounds and overflow checks stay, `assert`s go); debug by default. FUZZ_SCRATCH_PATH: the build
# directory (.build-fuzz).
set -euo pipefail

product=CRDTFuzz
case "${1:-}" in
    *Fuzz) product="$1"; shift ;;
esac
seconds="${1:-240}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# Two --sanitize flags would keep only the last; this form instruments for coverage (SWIFT-NOTES).
configuration="${FUZZ_CONFIGURATION:-debug}"
scratch="${FUZZ_SCRATCH_PATH:-.build-fuzz}"
swift build -c "$configuration" --product "$product" --scratch-path "$scratch" \
    -Xswiftc -DFUZZING --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address

corpus="$root/Fuzz/corpus"
[ "$product" = SyncFuzz ] && corpus="$root/Fuzz/corpus-sync"
[ "$product" = RoomFuzz ] && corpus="$root/Fuzz/corpus-room"
mkdir -p "$corpus"
fixtures="$root/Tests/Fixtures"
if [ "$product" = RoomFuzz ]; then
    python3 - "$fixtures" "$corpus" <<'PY'
import hashlib, json, os, sys
fixtures, corpus = sys.argv[1], sys.argv[2]
# A script: op byte (low 3 bits: 0 binary frame, 1 text frame, 2 HTTP update, 3 HTTP read,
# 4 good insert, 5 good delete, 6 rejoin, 7 batch; bits 3-4 the hostile connection), then a
# varint length and the payload (Fuzz/RoomFuzz/Harness.swift).
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
def op(code, payload=b"", conn=0):
    return bytes([code | (conn << 3)]) + varint(len(payload)) + payload
updates = [bytes.fromhex(h) for h in json.load(open(os.path.join(fixtures, "yjs_fixtures.json"))).values()][:6]
frames = [bytes.fromhex(h) for h in ["00 00 01 00", "00 01 10 01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00",
          "00 02 06 00 01 01 01 01 01", "01 08 01 01 02 04 6e 75 6c 6c", "03", "00 00 01 00 03"]]
seeds = [op(4, b"\x00hello"), op(4, b"\x00ab") + op(5, b"\x00\x01"), op(6, conn=1) + op(4, b"\x01x")]
for u in updates:
    seeds += [op(2, u), op(0, b"\x00\x02" + varint(len(u)) + u, conn=1) + op(4, b"\x00z"),
              op(7 | (1 << 5), b"\x00\x02" + varint(len(u)) + u), op(3, b"\x00") + op(2, u) + op(3, b"\x01\x01\x01")]
for f in frames:
    seeds += [op(0, f, conn=c) for c in range(3)]
seeds.append(op(1, b'y-pk-batch#{"id":"x","type":"start","size":4,"count":1}') + op(0, frames[0]) +
             op(1, b'y-pk-batch#{"id":"x","type":"end","size":4,"count":1}') + op(4, b"\x00q"))
for s in seeds:
    path = os.path.join(corpus, hashlib.sha1(s).hexdigest())
    if not os.path.exists(path):
        open(path, "wb").write(s)
PY
elif [ "$product" = SyncFuzz ]; then
    python3 - "$corpus" <<'PY'
import hashlib, os, sys
corpus = sys.argv[1]
# Spec §7 examples P1-P7, auth, query awareness, a batch of two, and bad frames.
seeds = ["00 00 03 01 01 03", "00 00 01 00", "00 01 10 01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00",
         "00 02 06 00 01 01 01 01 01",
         "01 19 01 01 01 15 7b 22 75 73 65 72 22 3a 7b 22 6e 61 6d 65 22 3a 22 41 22 7d 7d",
         "01 08 01 01 02 04 6e 75 6c 6c", "02 00 04 6e 6f 70 65", "02 01", "03", "00 00 01 00 03",
         "01 0a 02 05 01 01 30 07 02 02 5b 5d", "00 03", "04", "00 02 ff ff ff ff 0f"]
for h in seeds:
    s = bytes.fromhex(h)
    path = os.path.join(corpus, hashlib.sha1(s).hexdigest())
    if not os.path.exists(path):
        open(path, "wb").write(s)
PY
elif [ -d "$fixtures" ]; then
    python3 - "$fixtures" "$corpus" <<'PY'
import hashlib, json, os, sys
fixtures, corpus = sys.argv[1], sys.argv[2]
seeds = []
for name, hexs in json.load(open(os.path.join(fixtures, "yjs_fixtures.json"))).items():
    seeds.append(bytes.fromhex(hexs))
for e in json.load(open(os.path.join(fixtures, "fuzz_yjs.json"))):
    for key in ("v1", "v1_gc", "v2", "sv"):
        seeds.append(bytes.fromhex(e[key]))
# A few lib0 any values and JSON texts for the other checks.
seeds += [bytes.fromhex(h) for h in ["7d 40", "7c 3f c0 00 00", "76 01 01 61 75 02 7d 01 77 01 78",
                                     "74 02 01 02", "7b 7e 37 e4 3c 88 00 75 9c"]]
seeds += [b'{"image":"x.png","n":[1,2.5,null,true]}', b'"a\\ud83d\\ude00"']
for s in seeds:
    path = os.path.join(corpus, hashlib.sha1(s).hexdigest())
    if not os.path.exists(path):
        open(path, "wb").write(s)
PY
fi

# RoomFuzz keeps allocations from one input to the next (Swift's task runtime, SQLite's caches), so
# libFuzzer's leak check ran after most inputs and took two thirds of the time (17 against 50
# executions/s): off for it.
extra=()
[ "$product" = RoomFuzz ] && extra=(-detect_leaks=0)
# SWIFT_BACKTRACE=enable=no: the Swift crash handler otherwise hangs after a crash.
SWIFT_BACKTRACE=enable=no "$scratch/$configuration/$product" "$corpus" \
    -use_value_profile=1 -max_len=4096 -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$root/Fuzz/" ${extra[@]+"${extra[@]}"} "$@"
