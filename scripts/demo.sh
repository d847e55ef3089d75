#!/usr/bin/env bash
# make demo: the main job on an embedded default. Builds cairn, creates a
# local repository in a temp dir, backs up a sample tree twice, lists,
# restores, compares byte for byte, and checks the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin/cairn}
work=$(mktemp -d /tmp/cairn-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=${1:-$(go env GOROOT)/src/net}
export CAIRN_REPOSITORY=$work/repo
export CAIRN_CACHE_DIR=$work/cache
export CAIRN_PASSWORD_FILE=$work/password
umask 077
head -c 24 /dev/urandom | base64 > "$CAIRN_PASSWORD_FILE"

step() { printf '\n== %s\n' "$*"; }
step "init a repository in $CAIRN_REPOSITORY"
"$BIN" init
step "back up $src"
"$BIN" backup --tag demo "$src"
step "back up again (unchanged: nothing is read)"
"$BIN" backup --tag demo "$src"
step "snapshots"
"$BIN" snapshots
step "ls latest (first lines)"
"$BIN" ls latest > "$work/ls.txt"; head -n 8 "$work/ls.txt"
step "stats"
"$BIN" stats
step "restore latest to $work/restore"
"$BIN" restore latest --target "$work/restore" --verify
diff -r "$src" "$work/restore$src" && echo "restored tree is identical to the source"
step "check --read-data"
"$BIN" check --read-data
step "done"
