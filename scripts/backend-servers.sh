#!/bin/sh
# backend-servers.sh — install the servers the backend tests start on
# loopback: versitygw (S3, via scripts/s3-server.sh --install-only, ~70 s
# once), OpenSSH's sshd and ssh-keygen (sftp) and rclone (`rclone serve
# restic`, REST) from Debian packages. Idempotent; quick when all present.
set -eu
here="$(dirname "$0")"
"$here/s3-server.sh" --install-only
need=""
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need="$need openssh-server"
command -v ssh >/dev/null 2>&1 || need="$need openssh-client"
command -v rclone >/dev/null 2>&1 || need="$need rclone"
if [ -n "$need" ]; then
	if [ "$(id -u)" = 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		# shellcheck disable=SC2086
		apt-get install -y -qq $need >/dev/null
	else
		echo "backend-servers: missing$need and not root; sftp/rest tests will skip or fail" >&2
	fi
fi
