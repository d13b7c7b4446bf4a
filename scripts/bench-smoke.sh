#!/usr/bin/env bash
# CI smoke run of the benchmark suite (`scripts/bench-all.sh --quick`) with the debug ysync-bench
# and ycli that scripts/test.sh already built. Checks that every scenario produced results and that
# every replica converged; asserts no timings. Exits non-zero otherwise. Under 2 minutes on 2 cores.
# Output: Benchmarks/results/quick/ (all.json, RESULTS.md, plots/).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
BIN="$(swift build --show-bin-path)"
for product in ysync-bench ycli; do
    if [ ! -x "$BIN/$product" ]; then
        echo "bench-smoke: building $product (debug)" >&2
        swift build --product "$product"
    fi
done
export YSYNC_BENCH_COMMAND="scripts/bench-all.sh"  # the equivalent command, written in the report
exec .venv/bin/python Benchmarks/bench_all.py --quick --bench "$BIN/ysync-bench" "$@"
