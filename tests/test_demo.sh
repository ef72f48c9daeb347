#!/usr/bin/env bash
# Runs `bdyn demo` on every device and checks the outputs: NPY files, manifest and raster exist, the
# network fires, and the spike trains are bit-identical to the reference device cpu:ref (the demo
# uses only host-precomputed decays and the deterministic pull product, so they must be).
set -u
bdyn=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0 failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $*"; fi; }

"$bdyn" demo --device cpu:ref --steps 300 --out "$out/ref" >/dev/null || { echo "FAIL: demo on cpu:ref"; echo "0 passed, 1 failed"; exit 1; }
spikes=$(python3 -c "import json;print(json.load(open('$out/ref/manifest.json'))['spikes'])")
check test "$spikes" -gt 100
for dev in $("$bdyn" devices --json 2>/dev/null | sed -n 's/.*"name":[[:space:]]*"\([^"]*\)".*/\1/p'); do
  if ! "$bdyn" demo --device "$dev" --steps 300 --out "$out/$dev" >/dev/null; then
    check false
    continue
  fi
  for f in spikes_i.npy spikes_t.npy; do check cmp -s "$out/ref/$f" "$out/$dev/$f"; done
  check test -s "$out/$dev/manifest.json"
  check test -s "$out/$dev/raster.png"
  echo "demo on $dev: identical to cpu:ref"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
