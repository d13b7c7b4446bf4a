#!/usr/bin/env bash
# Installs ycli on PATH: the binary, shell completions (bash, zsh, fish) and a man page, all
# generated from the binary itself by swift-argument-parser. Safe to re-run.
#   scripts/install.sh                      # release build into ~/.local (or /usr/local as root)
#   scripts/install.sh --prefix /opt/ysync  # another prefix
#   scripts/install.sh --binary PATH        # install an already built ycli (no build)
# Prints where each file went, and a hint when PREFIX/bin is not on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then PREFIX=/usr/local; else PREFIX="$HOME/.local"; fi
BINARY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
        --binary) BINARY="${2:?--binary needs the path of a built ycli}"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "$BINARY" ]; then
    scripts/setup.sh
    echo "install.sh: building ycli (release; reuses what scripts/run.sh built)" >&2
    swift build -c release --product ycli
    BINARY="$(swift build -c release --show-bin-path)/ycli"
fi
[ -x "$BINARY" ] || { echo "install.sh: no executable ycli at $BINARY" >&2; exit 1; }

# swift-argument-parser's manual generator, built once in debug (seconds; scripts/test.sh builds it).
MANGEN="${YSYNC_MANGEN:-.build/debug/generate-manual}"
if [ ! -x "$MANGEN" ]; then
    swift build --product generate-manual >/dev/null
fi

BIN_DIR="$PREFIX/bin"
MAN_DIR="$PREFIX/share/man/man1"
BASH_DIR="$PREFIX/share/bash-completion/completions"
ZSH_DIR="$PREFIX/share/zsh/site-functions"
FISH_DIR="$PREFIX/share/fish/vendor_completions.d"
mkdir -p "$BIN_DIR" "$MAN_DIR" "$BASH_DIR" "$ZSH_DIR" "$FISH_DIR"

install -m 0755 "$BINARY" "$BIN_DIR/ycli.new"
mv -f "$BIN_DIR/ycli.new" "$BIN_DIR/ycli"
"$BIN_DIR/ycli" --generate-completion-script bash > "$BASH_DIR/ycli"
"$BIN_DIR/ycli" --generate-completion-script zsh > "$ZSH_DIR/_ycli"
"$BIN_DIR/ycli" --generate-completion-script fish > "$FISH_DIR/ycli.fish"
"$MANGEN" "$BIN_DIR/ycli" --output-directory "$MAN_DIR" >/dev/null

echo "installed ycli:"
echo "  binary       $BIN_DIR/ycli"
echo "  man page     $MAN_DIR/ycli.1"
echo "  completions  $BASH_DIR/ycli, $ZSH_DIR/_ycli, $FISH_DIR/ycli.fish"
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) echo "note: $BIN_DIR is not on PATH; add it: export PATH=\"$BIN_DIR:\$PATH\"" ;;
esac
