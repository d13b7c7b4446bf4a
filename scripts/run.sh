#!/usr/bin/env bash
# The main job: set up the machine, then benchmark the CRDT core on the automerge-paper trace.
# The traces live next to the repository, in ../shared/traces (override with YSYNC_TRACES).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
TRACES="${YSYNC_TRACES:-../shared/traces}"
exec swift run -c release ycli bench trace "$TRACES/sequential/automerge-paper.json.gz" "$@"
