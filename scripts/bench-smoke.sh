#!/usr/bin/env bash
# CI smoke run of the benchmark suite (`scripts/bench-all.sh --quick`) with the debug ycli that
# scripts/test.sh already built (or YCLI=path). Checks that every scenario produced results and that
# every replica converged; asserts no timings. Exits non-zero otherwise. Under 2 minutes on 2 cores.
# Output: Benchmarks/results/quick/ (all.json, RESULTS.md, plots/).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
YCLI="${YCLI:-$(swift build --show-bin-path)/ycli}"
if [ ! -x "$YCLI" ]; then
    echo "bench-smoke: building ycli (debug)" >&2
    swift build --product ycli
fi
export YSYNC_BENCH_COMMAND="scripts/bench-all.sh"  # the equivalent command, written in the report
exec .venv/bin/python Benchmarks/bench_all.py --quick --ycli "$YCLI" "$@"
