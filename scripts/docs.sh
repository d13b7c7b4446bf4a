#!/usr/bin/env bash
# Builds the API documentation of the library products (CRDT, Journal, Sync, Replica,
# ReplicaServer) with the toolchain's docc: `swift build` of the libraries, their public symbol
# graphs (swift symbolgraph-extract), then `docc convert` of each module's catalog (Sources/<M>/<M>.docc) into
# .build/docs/<M> (static hosting layout: serve the folder, open /documentation/<m>/).
# Exits non-zero when a build step fails or when docc warns (e.g. a ``symbol`` link in a catalog
# page or doc comment that does not resolve): the warnings are printed, and kept in
# .build/docs/<M>.diagnostics.json.
# With YSYNC_CORE_ONLY=1 (no network stack) ReplicaServer is left out.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCC="${DOCC:-}"
if [[ -z "$DOCC" ]]; then
    DOCC="$(dirname "$(command -v swift)")/docc"
    [[ -x "$DOCC" ]] || DOCC=/opt/swift/usr/bin/docc
fi
[[ -x "$DOCC" ]] || { echo "docs.sh: docc not found (set DOCC=/path/to/docc)" >&2; exit 1; }

modules=(CRDT Journal Sync Replica)
[[ "${YSYNC_CORE_ONLY:-}" == "1" ]] || modules+=(ReplicaServer)

out=.build/docs
mkdir -p "$out"
# `swift package dump-symbol-graph` would build every target (executables and benchmarks too), so
# a broken ycli would stop the docs: build only the libraries and extract their graphs the way it
# does (swift-symbolgraph-extract on the built modules).
top=ReplicaServer
[[ "${YSYNC_CORE_ONLY:-}" == "1" ]] && top=Replica
log="$out/build.log"
if ! swift build --target "$top" >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "docs.sh: swift build --target $top failed (log: $log)" >&2
    exit 1
fi
bin="$(swift build --show-bin-path)"
triple="$(basename "$(dirname "$bin")")"
# C modules the Swift modules import: ours, the generated ones, and the dependencies' own.
clang_args=()
while IFS= read -r f; do clang_args+=(-Xcc "-fmodule-map-file=$(realpath "$f")"); done < <(
    ls "$bin"/*.build/module.modulemap Sources/*/module.modulemap 2>/dev/null
    find .build/checkouts -name module.modulemap 2>/dev/null)
while IFS= read -r d; do clang_args+=(-Xcc "-I$(realpath "$d")"); done < <(find .build/checkouts -path '*/include' -type d 2>/dev/null)
graphs="$out/symbol-graphs"
rm -rf "$graphs"
mkdir -p "$graphs/all"
for m in "${modules[@]}"; do
    if ! swift symbolgraph-extract -module-name "$m" -I "$bin/Modules" "${clang_args[@]}" -target "$triple" \
        -minimum-access-level public -output-dir "$graphs/all" >"$out/$m.symbolgraph.log" 2>&1; then
        cat "$out/$m.symbolgraph.log" >&2
        echo "docs.sh: swift symbolgraph-extract failed for $m" >&2
        exit 1
    fi
done
graphs="$graphs/all"

failed=0
for m in "${modules[@]}"; do
    dir="$out/symbol-graphs/$m"
    rm -rf "$dir" "$out/$m"
    mkdir -p "$dir"
    # The module's own graph plus its extensions of other modules' types (<M>@<Other>).
    cp "$graphs/$m.symbols.json" "$dir/"
    find "$graphs" -maxdepth 1 -name "$m@*.symbols.json" -exec cp {} "$dir/" \;
    diagnostics="$out/$m.diagnostics.json"
    if ! "$DOCC" convert "Sources/$m/$m.docc" \
        --additional-symbol-graph-dir "$dir" \
        --fallback-display-name "$m" \
        --fallback-bundle-identifier "ysync.$m" \
        --transform-for-static-hosting \
        --warnings-as-errors \
        --diagnostics-file "$diagnostics" \
        --output-path "$out/$m" >"$out/$m.log" 2>&1; then
        cat "$out/$m.log" >&2
        echo "docs.sh: docc reported problems for $m (see $diagnostics)" >&2
        failed=1
    else
        echo "docs: $out/$m"
    fi
done
exit "$failed"
