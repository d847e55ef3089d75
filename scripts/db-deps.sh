#!/usr/bin/env bash
# Installs what the database, stdin and Docker source tests need: MariaDB
# and Redis servers, the sqlite3 shell, and podman with runc and debootstrap
# (the Docker Engine API and image build without a registry), and
# busybox-static (the Docker test's image). Idempotent
# and quick when everything is present. PostgreSQL 15 is expected from the
# machine image (/usr/lib/postgresql/15/bin). MongoDB has no Debian 12
# package: the MongoDB tests use FerretDB v1 (MongoDB wire protocol over
# SQLite) and the real mongodump/mongorestore/mongoimport/mongoexport, both
# built from the Go module proxy into $(go env GOPATH)/bin (mongo_deps,
# below). The packages' own services are not started: the tests start
# private servers on loopback or unix sockets themselves.
set -euo pipefail

# mongo-tools has no semver tags; this pseudo-version is commit 6d4f001be3fc
# (2024-07-24). Newer ones send insert option bypassEmptyTsReplacement,
# which FerretDB v1 rejects. The checksum database does not answer for this
# module here, so the module's hash is pinned and checked below instead.
MONGO_TOOLS=github.com/mongodb/mongo-tools
MONGO_TOOLS_VERSION=v0.0.0-20240724183527-6d4f001be3fc
MONGO_TOOLS_SUM=h1:BOTtfrCNuPnXgnEDvmXYiP0K8WF5JzDh3dQwZ9QThF0=
FERRETDB=github.com/FerretDB/FerretDB
FERRETDB_VERSION=v1.24.0

# mongo_deps builds what is missing into GOPATH/bin, outside any module
# (a temp dir), so no go.mod is touched. Cached by the module cache.
mongo_deps() {
  command -v go >/dev/null 2>&1 || { echo "db-deps: no go; MongoDB tests will skip" >&2; return 0; }
  local bin tmp dir
  bin="$(go env GOPATH)/bin"
  mkdir -p "$bin"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  field() { sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\$/\\1/p" "$2"; }
  if ! [ -x "$bin/mongodump" ] || ! [ -x "$bin/mongorestore" ] || ! [ -x "$bin/mongoimport" ] || ! [ -x "$bin/mongoexport" ]; then
    (cd "$tmp" && GOFLAGS=-mod=mod GONOSUMDB=$MONGO_TOOLS go mod download -json "$MONGO_TOOLS@$MONGO_TOOLS_VERSION") >"$tmp/tools.json"
    if [ "$(field Sum "$tmp/tools.json")" != "$MONGO_TOOLS_SUM" ]; then
      echo "db-deps: $MONGO_TOOLS@$MONGO_TOOLS_VERSION: hash $(field Sum "$tmp/tools.json"), want $MONGO_TOOLS_SUM" >&2
      return 1
    fi
    dir=$(field Dir "$tmp/tools.json")
    for t in mongodump mongorestore mongoimport mongoexport; do
      (cd "$dir" && GOFLAGS=-mod=mod GONOSUMDB=$MONGO_TOOLS go build -o "$bin/$t" "./$t/main")
    done
  fi
  if ! [ -x "$bin/ferretdb" ]; then
    (cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$FERRETDB@$FERRETDB_VERSION") >"$tmp/ferretdb.json"
    # FerretDB embeds build/version/version.txt, which module zips lack.
    cp -r "$(field Dir "$tmp/ferretdb.json")" "$tmp/ferretdb"
    chmod -R u+w "$tmp/ferretdb"
    echo "$FERRETDB_VERSION" >"$tmp/ferretdb/build/version/version.txt"
    (cd "$tmp/ferretdb" && GOFLAGS=-mod=mod go build -o "$bin/ferretdb" ./cmd/ferretdb)
  fi
}
mongo_deps
need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb-dump >/dev/null 2>&1 || need+=(mariadb-client)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "db-deps: missing ${need[*]} and not root; tests needing them will skip (or fail with CAIRN_REQUIRE_DB=1)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101 keeps the packages' services from starting on install:
# the tests run their own private servers.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
