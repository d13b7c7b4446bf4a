#!/usr/bin/env bash
# The benchmark suite: crdt-benchmarks B1-B4 (ysync vs pycrdt vs loro), convergence over the faulty
# in-memory transport, journal, and server over WebSockets (vs pycrdt-websocket), in one invocation.
# Sets the machine up (scripts/setup.sh), then runs Benchmarks/bench_all.py, which builds ysync-bench and ycli
# in release mode unless given --bench PATH, and writes Benchmarks/results/all.json, Benchmarks/RESULTS.md
# and Benchmarks/plots/*.svg (--quick: Benchmarks/results/quick/ instead).
#   scripts/bench-all.sh                      # everything (about 25 min, most of it pycrdt's B4x100)
#   scripts/bench-all.sh --quick              # smoke run, < 2 min
#   scripts/bench-all.sh --only crdt B4 ...   # see --help
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export YSYNC_BENCH_COMMAND="scripts/bench-all.sh"
exec .venv/bin/python Benchmarks/bench_all.py "$@"
