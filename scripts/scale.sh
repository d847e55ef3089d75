#!/usr/bin/env bash
# Scale measurements (not part of make test): builds synthetic repositories
# with N indexed blobs (sparse placeholder packs, a real index, one snapshot
# referencing 1% of the blobs), then reports wall time and peak RSS of
# prune --dry-run, a structural check, and an unchanged backup of a small
# tree against that index.   usage: scripts/scale.sh [N...] (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build
BIN=$PWD/bin/cairn
base=${SCALE_DIR:-/var/tmp/cairn-scale}
for n in "${@:-1000000}"; do
  dir=$base/$n
  if [ ! -e "$dir/.done" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    echo "generating $n blobs in $dir/repo"
    /usr/bin/time -f "  generate: %e s, %M KB" env CAIRN_SCALE_BLOBS=$n CAIRN_SCALE_DIR=$dir/repo \
      go test -count=1 -timeout 2h -run TestGenerate ./internal/scalegen/ >/dev/null
    touch "$dir/.done"
  fi
  export CAIRN_REPOSITORY=$dir/repo CAIRN_PASSWORD=scale CAIRN_CACHE_DIR=$dir/repo-cache
  echo "== $n indexed blobs"
  /usr/bin/time -f "  prune --dry-run: %e s, peak RSS %M KB" "$BIN" prune --dry-run -q
  /usr/bin/time -f "  check (structure): %e s, peak RSS %M KB" "$BIN" check -q || true
  src=$(go env GOROOT)/src/net
  "$BIN" backup -q "$src" >/dev/null 2>&1 || true
  /usr/bin/time -f "  unchanged backup of src/net: %e s, peak RSS %M KB" "$BIN" backup -q "$src"
  "$BIN" forget -q --tag never-matches --keep-last 1 >/dev/null 2>&1 || true
done
