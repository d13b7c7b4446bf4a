#!/usr/bin/env bash
# The main job: set the machine up, build ycli (release) and run the server on its embedded SQLite
# storage: rooms at ws://HOST:PORT/parties/main/ROOM, journals in $YSYNC_DATA (./ysync-data).
# Every `ycli serve` option can be passed as an argument or set by its environment variable
# (YSYNC_HOST, YSYNC_PORT, YSYNC_DATA, YSYNC_JWT_SECRET, YSYNC_CONTENT_DB, ...; see docs/SERVER.md).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build -c release --product ycli
exec .build/release/ycli serve "$@"
