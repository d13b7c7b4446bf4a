#!/usr/bin/env bash
# Idempotent machine set-up for ysync: system libraries + the Python venv of the test oracles.
# Quiet when everything is in place; on failure prints the captured log and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
LOG="$(mktemp -t ysync-setup.XXXXXX)"
trap 'rm -f "$LOG"' EXIT

fail() {
    echo "setup.sh: FAILED: $*" >&2
    if [ -s "$LOG" ]; then echo "---- log ----" >&2; tail -n 60 "$LOG" >&2; fi
    exit 1
}
run() { "$@" >>"$LOG" 2>&1 || fail "$*"; }

# ---- system packages -------------------------------------------------------------------------
# zlib1g-dev: the CZlib system module (gzipped traces); on the Swift image already, checked anyway.
APT_PKGS=(liblz4-dev libsqlite3-dev zlib1g-dev)
# Real Yjs for the interop tests (Debian's packages; the npm registry is not reachable): Yjs 13.5,
# y-websocket's provider and its dependencies, run with NODE_PATH=/usr/share/nodejs.
APT_PKGS+=(node-yjs node-y-websocket node-y-protocols node-lib0 node-ws node-lodash-packages)
command -v node >/dev/null 2>&1 || APT_PKGS+=(nodejs)
PY="${YSYNC_SETUP_PYTHON:-python3}"
# `python3 -m venv` needs ensurepip (Debian ships it separately, in python3-venv).
if ! command -v "$PY" >/dev/null 2>&1; then
    APT_PKGS+=(python3 python3-venv)
elif ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    APT_PKGS+=(python3-venv)
fi

missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || fail "need root (or sudo) to install: ${missing[*]}"
        SUDO=(sudo -n)
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Update the package lists only if a plain install cannot find the packages.
    if ! "${SUDO[@]}" apt-get install -y -q "${missing[@]}" >>"$LOG" 2>&1; then
        run "${SUDO[@]}" apt-get update -q
        run "${SUDO[@]}" apt-get install -y -q "${missing[@]}"
    fi
fi
command -v "$PY" >/dev/null 2>&1 || PY=python3

# ---- Python venv with the oracles ------------------------------------------------------------
REQ="$ROOT/scripts/requirements-oracle.txt"
VENV="$ROOT/.venv"
STAMP="$VENV/.ysync-requirements"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV"
    run "$PY" -m venv "$VENV"
fi
if ! cmp -s "$REQ" "$STAMP" 2>/dev/null; then
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    run "$VENV/bin/python" -m pip install -q -r "$REQ"
    cp "$REQ" "$STAMP"
fi
"$VENV/bin/python" -c 'import pycrdt, loro, pycrdt.websocket, pycrdt.store' >>"$LOG" 2>&1 \
    || { rm -f "$STAMP"; fail "the venv at $VENV cannot import pycrdt/loro/pycrdt.websocket (re-run to reinstall)"; }
NODE_PATH=/usr/share/nodejs node -e "require('yjs'); require('y-websocket'); require('ws')" >>"$LOG" 2>&1 \
    || fail "node cannot load Debian's yjs/y-websocket/ws from /usr/share/nodejs (apt-get install node-yjs node-y-websocket node-ws)"
