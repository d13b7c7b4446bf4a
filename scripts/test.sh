#!/usr/bin/env bash
# Builds and runs the whole test suite (Swift Testing). Extra arguments go to `swift test`
# (e.g. `scripts/test.sh --filter PycrdtOracleTests`). Exits with swift test's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export YSYNC_PYTHON="$PWD/.venv/bin/python"

swift build --build-tests
set +e
swift test --disable-xctest "$@"
status=$?
set -e
exit "$status"
