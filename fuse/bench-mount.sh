#!/usr/bin/env bash
# Measures `cairn mount` (docs/mount.md, "Measurements"): sequential read
# of a 1 GiB file with a cold blob cache (and `restic mount` on the same
# data when restic is installed), `ls -lR` of a snapshot of
# $(go env GOROOT)/src, and the mount process's peak RSS.
# Usage: fuse/bench-mount.sh [cairn binary]   (as root; needs /dev/fuse)
set -euo pipefail
BIN=${1:-bin/cairn}
BIN=$(readlink -f "$BIN")
W=$(mktemp -d /var/tmp/cairn-mount-bench.XXXXXX)
MP=$W/mnt
mkdir -p "$MP" "$W/data"
cleanup() {
  for p in ${PIDS:-}; do kill "$p" 2>/dev/null || true; done
  sleep 1
  umount -l "$MP" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
export CAIRN_REPOSITORY=$W/repo CAIRN_PASSWORD=bench CAIRN_CACHE_DIR=$W/cache
export RESTIC_REPOSITORY=$W/restic RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$W/restic-cache
GOSRC=$(go env GOROOT)/src

head -c 1G /dev/urandom >"$W/data/big"
"$BIN" init -q
# The big file goes in as a stream: a stream snapshot is one file node,
# read exactly like a file of a file system snapshot.
"$BIN" backup -q --tag big --stdin --stdin-filename big <"$W/data/big"
"$BIN" backup -q --tag src "$GOSRC"
BIG=tags/big/latest/big
SRC=tags/src/latest$GOSRC

drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

wait_mount() { for _ in $(seq 200); do [ -e "$1/snapshots" ] && return 0; sleep 0.05; done; return 1; }

mbps() { # file -> MB/s of one sequential read
  local s e
  s=$(date +%s.%N); cat "$1" >/dev/null; e=$(date +%s.%N)
  echo "scale=0; 1024 / ($e - $s)" | bc
}

for ra in 8MiB 0; do
  drop
  "$BIN" mount --read-ahead $ra "$MP" >/dev/null 2>&1 &
  PID=$!; PIDS="$PID"
  wait_mount "$MP"
  echo "cairn mount, read-ahead $ra: sequential read of 1 GiB, cold: $(mbps "$MP/$BIG") MB/s"
  echo "  second read (kernel page cache): $(mbps "$MP/$BIG") MB/s"
  kill -INT $PID; wait $PID || true
done

drop
"$BIN" mount "$MP" >/dev/null 2>&1 &
PID=$!; PIDS="$PID"
wait_mount "$MP"
s=$(date +%s.%N); n=$(ls -lR "$MP/$SRC" | wc -l); e=$(date +%s.%N)
echo "ls -lR of GOROOT/src ($n lines), cold: $(echo "$e - $s" | bc) s"
s=$(date +%s.%N); ls -lR "$MP/$SRC" >/dev/null; e=$(date +%s.%N)
echo "ls -lR of GOROOT/src again: $(echo "$e - $s" | bc) s"
s=$(date +%s.%N); find "$MP/$SRC" -type f -exec cat {} + >/dev/null; e=$(date +%s.%N)
echo "cat of every file of GOROOT/src: $(echo "$e - $s" | bc) s"
cat "$MP/$BIG" >/dev/null
echo "cairn mount peak RSS after all of the above: $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status)"
kill -INT $PID; wait $PID || true

drop
"$BIN" mount --no-xattrs "$MP" >/dev/null 2>&1 &
PID=$!; PIDS="$PID"
wait_mount "$MP"
s=$(date +%s.%N); ls -lR "$MP/$SRC" >/dev/null; e=$(date +%s.%N)
echo "ls -lR of GOROOT/src with --no-xattrs, cold: $(echo "$e - $s" | bc) s"
kill -INT $PID; wait $PID || true

echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
if command -v restic >/dev/null; then
  restic init -q
  restic backup -q --tag big --stdin --stdin-filename big <"$W/data/big"
  restic backup -q --tag src "$GOSRC"
  drop
  restic mount "$MP" >/dev/null 2>&1 &
  PID=$!; PIDS="$PID"
  wait_mount "$MP"
  echo "restic $(restic version | awk '{print $2}') mount: sequential read of 1 GiB, cold: $(mbps "$MP/tags/big/latest/big") MB/s"
  s=$(date +%s.%N); ls -lR "$MP/tags/src/latest$GOSRC" >/dev/null; e=$(date +%s.%N)
  echo "restic mount: ls -lR of GOROOT/src, cold: $(echo "$e - $s" | bc) s"
  echo "restic mount peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$PID/status)"
  kill -INT $PID; wait $PID || true
fi
