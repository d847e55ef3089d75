#!/bin/sh
# s3-server.sh — install (once) and start a throwaway S3 server for tests.
#
# Installs versitygw v1.8.0 into $(go env GOPATH)/bin if it is not found
# (takes about 70 s, then cached), starts it on 127.0.0.1:<free port>
# serving DIR (default: a new temp dir) with one bucket, and prints the
# settings to use. The S3 backend's Go tests do not need this script to be
# running: they start their own versitygw; they only need it installed.
#
# Usage: scripts/s3-server.sh [--install-only] [DIR]
# Env:   CAIRN_VERSITYGW  path to an existing versitygw binary
#        S3_BUCKET        bucket to create (default: cairn)
#        S3_ACCESS_KEY, S3_SECRET_KEY  root credentials (default: test values)
set -eu

VERSION=v1.8.0
install_only=0
if [ "${1:-}" = "--install-only" ]; then install_only=1; shift; fi

find_bin() {
	if [ -n "${CAIRN_VERSITYGW:-}" ]; then echo "$CAIRN_VERSITYGW"; return; fi
	if command -v versitygw >/dev/null 2>&1; then command -v versitygw; return; fi
	gobin="$(go env GOPATH | cut -d: -f1)/bin/versitygw"
	if [ -x "$gobin" ]; then echo "$gobin"; return; fi
}

bin="$(find_bin)"
if [ -z "$bin" ]; then
	echo "installing versitygw $VERSION (about 70 s)..." >&2
	GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$VERSION"
	bin="$(go env GOPATH | cut -d: -f1)/bin/versitygw"
fi
echo "versitygw: $bin" >&2
[ "$install_only" = 1 ] && exit 0

dir="${1:-$(mktemp -d /tmp/cairn-s3.XXXXXX)}"
bucket="${S3_BUCKET:-cairn}"
access="${S3_ACCESS_KEY:-cairntestkey}"
secret="${S3_SECRET_KEY:-cairntestsecret0123456789}"
mkdir -p "$dir/$bucket"

# A free port: bind port 0 and read back what the kernel chose.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

ROOT_ACCESS_KEY="$access" ROOT_SECRET_KEY="$secret" \
	"$bin" --port "127.0.0.1:$port" posix "$dir" >"$dir.log" 2>&1 &
pid=$!

i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; do
	i=$((i + 1))
	if ! kill -0 "$pid" 2>/dev/null || [ "$i" -gt 200 ]; then
		echo "versitygw did not start; log: $dir.log" >&2
		cat "$dir.log" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<OUT
# versitygw pid $pid serving $dir (log $dir.log); stop with: kill $pid
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_DEFAULT_REGION=us-east-1
export CAIRN_S3_PATH_STYLE=1
export CAIRN_REPOSITORY=s3:http://127.0.0.1:$port/$bucket/repo
OUT
