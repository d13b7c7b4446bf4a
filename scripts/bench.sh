#!/usr/bin/env bash
# Trace benchmark: ysync vs pycrdt vs loro on every sequential trace in Benchmarks/traces/sequential.
# Sets the machine up (scripts/setup.sh: apt packages + .venv with pycrdt and loro), then runs
# Benchmarks/trace_bench.py, which builds `ysync-bench` in release mode, prints a Markdown table and writes
# Benchmarks/results/trace-bench.json and Benchmarks/RESULTS-trace.md.
# Arguments go to trace_bench.py, e.g. `scripts/bench.sh --quick` (2 small traces).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export YSYNC_BENCH_VIA_SCRIPT=1
exec .venv/bin/python Benchmarks/trace_bench.py "$@"
