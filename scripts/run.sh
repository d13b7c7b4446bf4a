#!/usr/bin/env bash
# The main job: set the machine up, build ycli (release) and run the server on its embedded SQLite
# storage: rooms at ws://HOST:PORT/parties/main/ROOM, journals in $YSYNC_DATA (./ysync-data).
# Every `ycli serve` option can be passed as an argument or set by its environment variable
# (YSYNC_HOST, YSYNC_PORT, YSYNC_DATA, YSYNC_JWT_SECRET, YSYNC_CONTENT_DB, ...; see docs/SERVER.md).
#
# YSYNC_BUILD=debug serves the debug build that scripts/test.sh left in .build/debug (no second
# cold build; SwiftPM cannot share object files between debug and release, only the package
# checkouts). Debug code is several times slower: fine to try the server, not to measure it.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration="${YSYNC_BUILD:-release}"
case "$configuration" in
    release|debug) ;;
    *) echo "run.sh: YSYNC_BUILD must be release or debug, not '$configuration'" >&2; exit 64 ;;
esac

scripts/setup.sh
if [ "$configuration" = debug ] && [ -x .build/debug/ycli ]; then
    echo "run.sh: serving the debug build in .build/debug (YSYNC_BUILD=debug)" >&2
fi
# After scripts/test.sh this is an up-to-date check of a few seconds for the debug build.
swift build -c "$configuration" --product ycli
exec ".build/$configuration/ycli" serve "$@"
