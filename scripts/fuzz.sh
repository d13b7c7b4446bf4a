#!/usr/bin/env bash
# Builds the CRDTFuzz libFuzzer target (update v1 codec, state vectors, lib0 any, JSON text,
# merge/diff) and runs it for the given number of seconds (default 240).
#   scripts/fuzz.sh [seconds] [extra libFuzzer flags...]
# The corpus lives in Fuzz/corpus (git-ignored), seeded from ../shared/spec/fixtures; crash
# files land in Fuzz/ as crash-* (git-ignored). Replay one without libFuzzer:
#   swift build --product CRDTFuzz && .build/debug/CRDTFuzz Fuzz/crash-<hash>
set -euo pipefail

seconds="${1:-240}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# Two --sanitize flags would keep only the last; this form instruments for coverage (SWIFT-NOTES).
swift build --product CRDTFuzz --scratch-path .build-fuzz \
    -Xswiftc -DFUZZING --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address

corpus="$root/Fuzz/corpus"
mkdir -p "$corpus"
fixtures="$root/../shared/spec/fixtures"
if [ -d "$fixtures" ]; then
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
SWIFT_BACKTRACE=enable=no .build-fuzz/debug/CRDTFuzz "$corpus" \
    -use_value_profile=1 -max_len=4096 -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$root/Fuzz/" "$@"
