#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine. Idempotent and quick
# when everything is present. Servers are started by the tests themselves, on
# loopback or unix sockets only.
set -euo pipefail
need=()
command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
command -v getfattr >/dev/null 2>&1 || need+=(attr)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test-deps: missing ${need[*]} and not root; tests needing them will fail" >&2
  fi
fi
bash "$(dirname "$0")/db-deps.sh"  # MariaDB, Redis, sqlite3, podman for sources/db and sources/docker
sh "$(dirname "$0")/backend-servers.sh"  # versitygw (S3), sshd (sftp), rclone (REST) for the backend tests
