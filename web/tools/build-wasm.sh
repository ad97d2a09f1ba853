#!/usr/bin/env bash
# Builds sdp-map for wasm32 and generates the ES module glue (wasm-bindgen --target web) into
# web/pkg/ (git-ignored). web/sdp-map.js wraps it for browsers and node alike.
#
#   bash web/tools/build-wasm.sh          # idempotent; a no-op apart from cargo's check when
#                                         # nothing changed
#
# Installs the wasm32 target and wasm-bindgen-cli (pinned to the exact wasm-bindgen version in
# Cargo.lock, as the glue and the CLI must match) only when missing. Prints the .wasm size.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [[ -z "$want" ]]; then
  echo "build-wasm: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
  echo "build-wasm: installing wasm-bindgen-cli $want (found '${have:-none}')" >&2
  # --locked first; its lock file may name a dependency version the registry no longer serves,
  # then resolve afresh (the CLI version itself stays pinned).
  cargo install wasm-bindgen-cli --version "=$want" --locked \
    || cargo install wasm-bindgen-cli --version "=$want"
fi

# The size-tuned profile `wasm` is defined in the workspace Cargo.toml.
cargo build -p sdp-map --target wasm32-unknown-unknown --profile wasm --lib

wasm="$root/target/wasm32-unknown-unknown/wasm/sdp_map.wasm"
out="$root/web/pkg"
if [[ ! -f "$out/sdp_map_bg.wasm" || "$wasm" -nt "$out/sdp_map_bg.wasm" ]]; then
  wasm-bindgen --target web --remove-name-section --remove-producers-section \
    --out-dir "$out" "$wasm"
  # Optional size pass when binaryen's wasm-opt is on PATH (this script does not install it).
  if command -v wasm-opt >/dev/null 2>&1; then
    wasm-opt -Os --all-features "$out/sdp_map_bg.wasm" -o "$out/sdp_map_bg.wasm"
  fi
fi

size=$(stat -c %s web/pkg/sdp_map_bg.wasm)
echo "build-wasm: web/pkg/sdp_map_bg.wasm is $size bytes ($((size / 1024)) KiB)"
