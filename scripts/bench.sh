#!/usr/bin/env bash
# make bench: Go benchmarks per stage, then the side-by-side tool comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchtime 2x ./chunker/ ./pack/ 2>&1 | grep -E '^(Benchmark|ok|PASS)' || true
python3 scripts/bench.py
