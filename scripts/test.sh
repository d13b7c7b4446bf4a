#!/usr/bin/env bash
# Builds and runs the whole test suite (Swift Testing). Extra arguments go to `swift test`
# (e.g. `scripts/test.sh --filter PycrdtOracleTests`). Exits with swift test's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export YSYNC_PYTHON="$PWD/.venv/bin/python"
# Every public declaration in Sources/ has a doc comment (a fraction of a second).
python3 scripts/check-docs.py

swift build --build-tests
# The man page generator that scripts/install.sh uses (its test runs the script).
swift build --product generate-manual
set +e
# One test at a time: many tests start processes or servers and wait on timers; run all at once
# on 2 cores, tests that block a thread (child processes) starve the others' timers (seen: a
# 30 s convergence wait missed under load). Serial takes about 2 minutes.
swift test --disable-xctest --no-parallel "$@"
status=$?
set -e
exit "$status"
