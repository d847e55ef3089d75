#!/usr/bin/env bash
# Installs what the database, stdin and Docker source tests need: MariaDB
# and Redis servers, the sqlite3 shell, and podman with runc and debootstrap
# (the Docker Engine API and image build without a registry), and
# busybox-static (the Docker test's image). Idempotent
# and quick when everything is present. PostgreSQL 15 is expected from the
# machine image (/usr/lib/postgresql/15/bin). MongoDB has no Debian 12
# package and is not installed. The packages' own services are not started:
# the tests start private servers on loopback or unix sockets themselves.
set -euo pipefail
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
