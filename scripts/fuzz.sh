#!/usr/bin/env bash
# Runs every fuzz target (func FuzzXxx) in the module for a short time.
# usage: fuzz.sh DURATION   (e.g. 5s in make test, 5m in make soak)
set -euo pipefail
dur=${1:-5s}
cd "$(dirname "$0")/.."
fail=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz $dir $fn ($dur)"
    if ! go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$dur" "./$dir" >/tmp/cairn-fuzz.log 2>&1; then
      cat /tmp/cairn-fuzz.log; fail=1
    fi
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' . | sort)
exit $fail
