#!/usr/bin/env bash
# bench-smallfiles.sh: initial backup of a tree of many small files, cairn
# and restic side by side (docs/performance.md, "Restore, check and small
# files (session 2)").
#
# The tree: FILES files (default 1,000,000) of 0-4 KiB in DIRS directories
# (default 1000), sizes and contents pseudo-random but the same on every
# run (seeded per directory). It is generated once and cached in
# $BENCH_DIR/data; delete the directory to regenerate.
#
# The tree is read once before timing (page cache warm for both). Each
# tool backs the tree up into a fresh repository; the script prints
# seconds, files/s, CPU % and peak RSS for each and the ratio of their times.
#
# Environment: BENCH_DIR (default /var/tmp/cairn-smallfiles), FILES, DIRS,
# CAIRN_BIN (default bin/cairn), TOOLS (default "cairn restic"),
# KEEP=1 keeps the repositories (in $BENCH_DIR/run.*) for profiling.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-smallfiles}
FILES=${FILES:-1000000}
DIRS=${DIRS:-1000}
CAIRN_BIN=${CAIRN_BIN:-$ROOT/bin/cairn}
TOOLS=${TOOLS:-cairn restic}
DATA=$BENCH_DIR/data
PASSWORD=bench-password-not-secret # a throwaway repository's password

generate() {
	echo "generating $FILES files in $DIRS directories under $DATA (once)" >&2
	rm -rf "$DATA" && mkdir -p "$DATA"
	# Two processes, each taking every other directory: file creation is
	# mostly kernel time, and the machine has two cores.
	python3 - "$DATA" "$FILES" "$DIRS" <<'EOF'
import os, random, sys
from multiprocessing import Pool

data, files, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def make_dir(d):
    rng = random.Random(d)
    path = os.path.join(data, "d%04d" % d)
    os.mkdir(path)
    n = files // dirs + (1 if d < files % dirs else 0)
    for i in range(n):
        size = rng.randrange(4097)
        # Half the files are random bytes, half repeat a short random
        # pattern (compressible, like text).
        body = rng.randbytes(size) if i % 2 else (rng.randbytes(64) * 65)[:size]
        fd = os.open(os.path.join(path, "f%05d" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
    return n

with Pool(2) as p:
    total = sum(p.imap_unordered(make_dir, range(dirs), chunksize=8))
print(total, "files", file=sys.stderr)
EOF
	touch "$BENCH_DIR/.generated"
}

# timed TOOL CMD...: runs CMD, prints "TOOL seconds cpu% rssMiB".
timed() {
	local tool=$1 out
	shift
	out=$(mktemp)
	/usr/bin/time -o "$out" -f "%e %P %M" "$@" >/dev/null
	read -r secs cpu rss <"$out"
	rm -f "$out"
	printf '%s %s %s %s\n' "$tool" "$secs" "${cpu%\%}" "$((rss / 1024))"
}

[ -f "$BENCH_DIR/.generated" ] || generate
# Read the tree once first, so that neither tool pays for page-cache
# misses the other does not (whichever runs first would otherwise read
# from disk: 18.6 s against 4.4 s on 100k files here).
echo "warming the page cache" >&2
find "$DATA" -type f -print0 | xargs -0 cat >/dev/null
n=$(find "$DATA" -type f | wc -l)
run=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$run"' EXIT
echo "tree: $n files in $DATA; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

results=()
for tool in $TOOLS; do
	case $tool in
	cairn)
		export CAIRN_REPOSITORY=$run/cairn CAIRN_PASSWORD=$PASSWORD CAIRN_CACHE_DIR=$run/cairn-cache
		"$CAIRN_BIN" init >/dev/null
		results+=("$(timed cairn "$CAIRN_BIN" backup --quiet "$DATA")")
		;;
	restic)
		export RESTIC_REPOSITORY=$run/restic RESTIC_PASSWORD=$PASSWORD RESTIC_CACHE_DIR=$run/restic-cache
		restic init >/dev/null
		results+=("$(timed restic restic backup --quiet "$DATA")")
		;;
	*)
		echo "unknown tool $tool" >&2
		exit 2
		;;
	esac
done

printf '%-8s %10s %10s %6s %10s\n' tool seconds files/s CPU% "RSS MiB"
for r in "${results[@]}"; do
	read -r tool secs cpu rss <<<"$r"
	printf '%-8s %10.2f %10.0f %6s %10s\n' "$tool" "$secs" "$(echo "$n / $secs" | bc -l)" "$cpu" "$rss"
done
if [ ${#results[@]} -eq 2 ]; then
	read -r _ a _ <<<"${results[0]}"
	read -r _ b _ <<<"${results[1]}"
	printf 'speed-up of %s over %s: %.2fx\n' "${TOOLS%% *}" "${TOOLS##* }" "$(echo "$b / $a" | bc -l)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
