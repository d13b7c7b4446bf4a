#!/usr/bin/env bash
# Builds a libFuzzer target and runs it for the given number of seconds (default 240).
#   scripts/fuzz.sh [PRODUCT] [seconds] [extra libFuzzer flags...]
# PRODUCT: CRDTFuzz (default: update v1 codec, state vectors, lib0 any, JSON text, merge/diff)
#          or SyncFuzz (y-protocols messages, awareness updates, a session fed hostile frames).
# The corpus lives in Fuzz/corpus (CRDTFuzz) or Fuzz/corpus-sync (SyncFuzz), git-ignored, seeded
# from Tests/Fixtures and the spec's examples; crash files land in Fuzz/ as crash-*
# (git-ignored). Replay one without libFuzzer:
#   swift build --product CRDTFuzz && .build/debug/CRDTFuzz Fuzz/crash-<hash>
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
swift build --product "$product" --scratch-path .build-fuzz \
    -Xswiftc -DFUZZING --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address

corpus="$root/Fuzz/corpus"
[ "$product" = SyncFuzz ] && corpus="$root/Fuzz/corpus-sync"
mkdir -p "$corpus"
fixtures="$root/Tests/Fixtures"
if [ "$product" = SyncFuzz ]; then
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
    for key in ("v1", "v1_gc", "sv"):
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

# SWIFT_BACKTRACE=enable=no: the Swift crash handler otherwise hangs after a crash.
SWIFT_BACKTRACE=enable=no ".build-fuzz/debug/$product" "$corpus" \
    -use_value_profile=1 -max_len=4096 -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$root/Fuzz/" "$@"
